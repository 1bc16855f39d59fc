#!/usr/bin/env bash
# Builds husk, makes a throw-away busybox bundle and runs one container in it.
# Usage (as root): make demo    or    bash contrib/demo.sh
# Needs: Go (/usr/local/go), gcc, make, libseccomp-dev and busybox-static.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"

die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo make demo)"

busybox="$(command -v busybox || true)"
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"

# HUSK=/path/to/binary skips the build and uses that binary instead.
husk="${HUSK:-}"
if [ -z "$husk" ]; then
	echo "+ make husk"
	make -C "$repo" --no-print-directory husk
	husk="$repo/husk"
fi

tmp="$(mktemp -d /tmp/husk-demo.XXXXXX)"
id="demo-$$"
bundle="$tmp/bundle"
state="$tmp/state"

# shellcheck disable=SC2317 # called via trap
cleanup() {
	"$husk" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# rootfs: a static busybox plus one symlink per applet, and a minimal /etc.
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/etc" "$bundle/rootfs/root"
cp "$busybox" "$bundle/rootfs/bin/busybox"
# A dynamically linked busybox cannot run inside this otherwise empty rootfs.
chroot "$bundle/rootfs" /bin/busybox true 2>/dev/null ||
	die "$busybox does not run in an empty rootfs (is it static? apt-get install busybox-static)"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$bundle/rootfs/etc/passwd"
echo 'root:x:0:' >"$bundle/rootfs/etc/group"

echo "+ husk spec --bundle $bundle"
"$husk" spec --bundle "$bundle"
cfg="$bundle/config.json"

# Edit the generated config with sed only (no jq/python needed):
# no terminal, hostname "husk", and our own command line.
sed -i \
	-e 's/"terminal": *true/"terminal": false/' \
	-e 's/"hostname": *"[^"]*"/"hostname": "husk"/' \
	"$cfg"
# shellcheck disable=SC2016 # expanded by the container's shell, not here
cmd='"sh", "-c", "echo hello from $(hostname): pid $$; cat /proc/self/uid_map >/dev/null; ls /; id"'
if grep -q '"args": *\[[^]]*\]' "$cfg"; then
	# args on one line
	sed -i "s|\"args\": *\\[[^]]*\\]|\"args\": [$cmd]|" "$cfg"
else
	# args spread over several lines (indented JSON): drop the old elements,
	# keep the line with the closing bracket (and its comma, if any).
	sed -i "/\"args\": *\\[ *\$/,/^[[:space:]]*\\]/{
		/\"args\"/!{/^[[:space:]]*\\]/!d}
		s|\"args\": *\\[ *\$|\"args\": [$cmd|
	}" "$cfg"
fi
grep -q 'echo hello from' "$cfg" || die "could not set args in $cfg"
grep -q '"terminal": false' "$cfg" || die "could not set terminal=false in $cfg"
grep -q '"hostname": "husk"' "$cfg" || die "could not set hostname in $cfg"

echo "+ husk --root $state run --bundle $bundle $id"
echo "----------------------------------------------------------------"
rc=0
"$husk" --root "$state" run --bundle "$bundle" "$id" </dev/null || rc=$?
echo "----------------------------------------------------------------"
echo "container exited with status $rc; 'pid 1' and hostname 'husk' show it ran in its own PID and UTS namespaces"
exit "$rc"
