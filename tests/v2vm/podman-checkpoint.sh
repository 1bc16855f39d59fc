#!/bin/bash
# tests/v2vm/podman-checkpoint.sh - in the guest: podman's checkpoint and
# restore with husk as its runtime (podman runs `husk checkpoint`, conmon
# `husk restore --detach`). Needs the host's podman, conmon and criu (run.sh
# --criu installs criu; podman comes with the test packages). Usage (on the
# host):
#   tests/v2vm/run.sh --criu -- env RUNTIME=$PWD/husk tests/v2vm/podman-checkpoint.sh
#
# A busybox image (imported from a tarball: no registry) runs a counter:
# `podman container checkpoint` stops it, `podman container restore` brings
# it back counting on (not from 1), exec works; then `checkpoint --export`
# to a tarball, `rm`, and `restore --import --name c2`: a new container, on
# a fresh rootfs, counting on.
set -euo pipefail
husk=${RUNTIME:?set RUNTIME to the husk binary}
fail() {
	echo "podman-checkpoint: FAIL: $*" >&2
	find "$d/storage" -name '*.log' \( -name 'dump.log' -o -name 'restore.log' \) 2>/dev/null | while read -r f; do
		echo "----- $f (errors)" >&2
		grep -E 'Error' "$f" | head -n 10 >&2 || true
	done
	exit 1
}
for c in podman conmon criu; do
	command -v $c >/dev/null || { echo "podman-checkpoint: FAIL: no $c on the host" >&2; exit 1; }
done
d=$(mktemp -d /tmp/podman-ckpt.XXXXXX)
P=(podman --runtime "$husk" --cgroup-manager cgroupfs --events-backend file
	--root "$d/storage" --runroot "$d/run" --storage-driver overlay)
cleanup() {
	"${P[@]}" rm -f -t 0 c1 c2 >/dev/null 2>&1 || true
	"${P[@]}" rmi -f localhost/husk-ckpt-bb >/dev/null 2>&1 || true
	# A container's end makes conmon run podman's exit command (`podman
	# container cleanup`), which still writes under $d after `rm` returns:
	# wait for both before removing it.
	local i
	for i in $(seq 100); do
		pgrep -f -- "$d/" >/dev/null || break
		sleep 0.1
	done
	umount -R "$d/storage/overlay" 2>/dev/null || true
	rm -rf "$d" || echo "podman-checkpoint: could not remove $d; still there: $(pgrep -af -- "$d/" | cut -c1-200)" >&2
}
trap cleanup EXIT

echo "podman-checkpoint: $(podman --version), $(conmon --version | head -n 1), $(criu --version | head -n 1), $("$husk" --version | head -n 1)"
mkdir -p "$d/r/bin" "$d/r/tmp"
cp /bin/busybox "$d/r/bin/"
for a in sh cat echo sleep mv; do ln -s busybox "$d/r/bin/$a"; done
tar -C "$d/r" -cf "$d/bb.tar" .
"${P[@]}" import "$d/bb.tar" localhost/husk-ckpt-bb:latest >"$d/import.log" 2>&1 || fail "podman import: $(cat "$d/import.log")"

# The counter renames each count into place: an exec never reads a file
# half rewritten.
count() { "${P[@]}" exec "$1" cat /tmp/count; }
"${P[@]}" run -d --name c1 --network none localhost/husk-ckpt-bb:latest \
	sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/tmp/c.new; mv /tmp/c.new /tmp/count; sleep 0.2; done' >/dev/null ||
	fail "podman run"
sleep 2
before=$(count c1) || fail "exec c1"
echo "podman-checkpoint: c1 runs, count $before"

out=$("${P[@]}" container checkpoint c1 2>&1) || fail "podman container checkpoint: $out"
state=$("${P[@]}" inspect -f '{{.State.Status}} {{.State.Checkpointed}}' c1)
[ "$state" = "exited true" ] || fail "c1 after checkpoint: $state"
out=$("${P[@]}" container restore c1 2>&1) || fail "podman container restore: $out"
[ "$("${P[@]}" inspect -f '{{.State.Status}}' c1)" = running ] || fail "c1 not running after restore"
sleep 1
after=$(count c1) || fail "exec c1 after restore"
[ "$after" -gt "$before" ] || fail "c1 restarted its count: $before before checkpoint, $after after restore"
echo "podman-checkpoint: checkpoint, restore ok: c1 counts on, $before -> $after"

before=$(count c1)
out=$("${P[@]}" container checkpoint --export "$d/c1.tar.gz" c1 2>&1) || fail "podman container checkpoint --export: $out"
"${P[@]}" rm -f c1 >/dev/null
out=$("${P[@]}" container restore --import "$d/c1.tar.gz" --name c2 2>&1) || fail "podman container restore --import: $out"
sleep 1
after=$(count c2) || fail "exec c2"
[ "$after" -gt "$before" ] || fail "c2 restarted the count: $before at export, $after after import"
echo "podman-checkpoint: checkpoint --export, rm, restore --import --name c2 ok: $before -> $after"
echo "podman-checkpoint: PASS"
