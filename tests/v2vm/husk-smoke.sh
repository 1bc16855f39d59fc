#!/bin/bash
# tests/v2vm/husk-smoke.sh - in the guest: `husk run` of a busybox bundle in a
# cgroup v2 cgroup with memory and pids limits, checked from inside the
# container. Usage (on the host):
#   tests/v2vm/run.sh -- env RUNTIME=$PWD/husk tests/v2vm/husk-smoke.sh
set -euo pipefail
husk=${RUNTIME:?set RUNTIME to the husk binary}
fail() { echo "husk-smoke: FAIL: $*" >&2; exit 1; }

b=$(mktemp -d /tmp/husk-smoke.XXXXXX)
trap 'rm -rf "$b"' EXIT
mkdir -p "$b"/rootfs/{bin,dev,etc,proc,sys,tmp,root}
cp /bin/busybox "$b/rootfs/bin/busybox"
for a in sh cat echo ls id hostname mount grep; do ln -s busybox "$b/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$b/rootfs/etc/passwd"
cat >"$b/rootfs/smoke" <<'IN'
echo "hello from $(hostname), uid $(id -u)"
echo "cgroup: $(cat /proc/self/cgroup)"
echo "memory.max: $(cat /sys/fs/cgroup/memory.max)"
echo "pids.max: $(cat /sys/fs/cgroup/pids.max)"
echo "cgroup mount: $(grep ' /sys/fs/cgroup ' /proc/self/mounts)"
IN
(cd "$b" && "$husk" spec)
# Edit the generated config.json with sed (no jq on a fresh machine):
# no terminal, our command, a cgroup path and limits.
sed -i -e 's/"terminal": true/"terminal": false/' \
	-e 's|^\(\t*\)"sh"$|\1"sh", "/smoke"|' \
	-e 's|^\(\t*\)"linux": {$|&\n\1\t"cgroupsPath": "/husk-smoke/c1",|' \
	-e 's|^\(\t*\)"resources": {$|&\n\1\t"memory": {"limit": 67108864},\n\1\t"pids": {"limit": 32},|' \
	"$b/config.json"
grep -q '"/smoke"' "$b/config.json" && grep -q '"cgroupsPath"' "$b/config.json" &&
	grep -q '"pids": {"limit": 32}' "$b/config.json" || fail "could not edit config.json"

echo "husk-smoke: $("$husk" --version | head -n 1)"
out=$("$husk" --root /run/husk-smoke run --bundle "$b" smoke1) || fail "husk run exited $?: $out"
echo "$out"
grep -qx 'hello from .*, uid 0' <<<"$out" || fail "no hello"
grep -qx 'memory.max: 67108864' <<<"$out" || fail "memory limit not applied"
grep -qx 'pids.max: 32' <<<"$out" || fail "pids limit not applied"
grep -q '^cgroup mount: .* cgroup2 ' <<<"$out" || fail "container has no cgroup2 at /sys/fs/cgroup"
[ ! -e /sys/fs/cgroup/husk-smoke/c1 ] || fail "cgroup /husk-smoke/c1 left behind"
rmdir /sys/fs/cgroup/husk-smoke 2>/dev/null || true
[ -z "$("$husk" --root /run/husk-smoke list -q)" ] || fail "container left in husk list"
echo "husk-smoke: PASS"
