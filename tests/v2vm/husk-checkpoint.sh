#!/bin/bash
# tests/v2vm/husk-checkpoint.sh - in the guest: `husk checkpoint` of a busybox
# container (own PID, network, mount, IPC and UTS namespaces, a cgroup, a
# bind mount of a host directory) whose
# init counts into a file it keeps open, with stdio from outside the
# container (a host /dev/null and a host log file). Usage (on the host):
#   tests/v2vm/run.sh --criu -- env RUNTIME=$PWD/husk tests/v2vm/husk-checkpoint.sh
#
# 1. checkpoint --leave-running: images written, the container still runs,
#    counts on, and its loopback still carries traffic (no network lock
#    left behind).
# 2. checkpoint --pre-dump, then checkpoint --parent-path: the container is
#    gone (husk list, its processes, its cgroup).
# 3. husk restore -d brings it back (the same cgroup, mounts, the count going
#    on where it stopped through the same fd); exec into it works.
# 4. A checkpoint of the restored container, restored under another id;
#    kill and delete of that one.
# 5. husk restore in the foreground: waits, exits 137 when the container is
#    killed, deletes it.
# 6. What fails, fails clearly: a checkpoint of a gone container, restore
#    from no checkpoint, restore -d of a terminal without a console socket.
set -euo pipefail
husk=${RUNTIME:?set RUNTIME to the husk binary}
root=/run/husk-ckpt
d=$(mktemp -d /tmp/husk-ckpt.XXXXXX)
b=$d/bundle
rpid=
fail() {
	echo "husk-checkpoint: FAIL: $*" >&2
	for f in "$d"/*/*.log; do
		[ -f "$f" ] || continue
		echo "----- $f (errors, last lines)" >&2
		grep -E 'Error|Warn' "$f" | head -n 20 >&2 || true
		tail -n 15 "$f" >&2
	done
	exit 1
}
cleanup() {
	[ -z "$rpid" ] || kill -KILL "$rpid" 2>/dev/null || true
	"$husk" --root $root delete --force c1 >/dev/null 2>&1 || true
	"$husk" --root $root delete --force c2 >/dev/null 2>&1 || true
	"$husk" --root $root delete --force c3 >/dev/null 2>&1 || true
	umount -l "$b/rootfs/data" 2>/dev/null || true
	sleep 0.2
	rmdir /sys/fs/cgroup/husk-ckpt/c1 /sys/fs/cgroup/husk-ckpt 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
command -v criu >/dev/null || fail "no criu (run.sh --criu installs it on the host)"

mkdir -p "$b"/rootfs/{bin,dev,etc,proc,sys,tmp,root,data} "$d/data"
echo from-the-host >"$d/data/hello"
cp /bin/busybox "$b/rootfs/bin/busybox"
for a in sh cat echo sleep nc tail; do ln -s busybox "$b/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$b/rootfs/etc/passwd"
(cd "$b" && "$husk" spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"readonly": true/"readonly": false/' \
	-e 's|^\(\t*\)"sh"$|\1"sh", "-c", "exec 3>>/tmp/count; i=0; while :; do i=$((i + 1)); echo $i >\&3; sleep 0.2; done"|' \
	-e 's|^\(\t*\)"linux": {$|&\n\1\t"cgroupsPath": "/husk-ckpt/c1",|' \
	-e 's|^\(\t*\)"mounts": \[$|&\n\1\t{"destination": "/data", "type": "bind", "source": "'"$d/data"'", "options": ["rbind", "rw"]},|' \
	"$b/config.json"
grep -q 'exec 3>>/tmp/count' "$b/config.json" && grep -q '"cgroupsPath"' "$b/config.json" &&
	grep -q '"destination": "/data"' "$b/config.json" ||
	fail "could not edit config.json"

count() { tail -n 1 "$b/rootfs/tmp/count" 2>/dev/null || echo 0; }
wait_count() { # value secs: until the count passes value
	local i=0
	while [ "$(count)" -le "$1" ]; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || fail "count stuck at $(count) (want > $1)"
		sleep 0.1
	done
}
status() { "$husk" --root $root state c1 2>/dev/null | sed -n 's/.*"status": "\(.*\)".*/\1/p'; }
loopback() { # a round trip over the container's loopback
	"$husk" --root $root exec c1 sh -c \
		'nc -l -p 4242 >/tmp/got & sleep 0.5; echo ping | nc 127.0.0.1 4242; sleep 0.3; cat /tmp/got'
}

echo "husk-checkpoint: $("$husk" --version | head -n 1), $(criu --version | head -n 1)"
"$husk" --root $root run -d --bundle "$b" c1 </dev/null >>"$d/c1.log" 2>&1 || fail "husk run -d: $(cat "$d/c1.log")"
pid=$("$husk" --root $root state c1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
wait_count 3 30
nsenter -t "$pid" -n ip link set lo up || fail "cannot bring up the container's loopback"
[ "$(loopback)" = ping ] || fail "no loopback traffic before checkpoint"
echo "husk-checkpoint: c1 running, pid $pid, counting: $(count), loopback ok"

# 1. --leave-running
out=$("$husk" --root $root checkpoint --leave-running --image-path "$d/lr" c1 2>&1) ||
	fail "checkpoint --leave-running: $out"
[ -s "$d/lr/inventory.img" ] && [ -s "$d/lr/descriptors.json" ] || fail "no images in $d/lr"
[ "$(status)" = running ] || fail "c1 is $(status) after checkpoint --leave-running"
now=$(count)
wait_count "$now" 30
[ "$(loopback)" = ping ] || fail "no loopback traffic after checkpoint --leave-running (network lock left?)"
echo "husk-checkpoint: checkpoint --leave-running ok ($(du -sk "$d/lr" | cut -f1) KiB; descriptors $(cat "$d/lr/descriptors.json")), still counting: $(count), loopback ok"

# 2. --pre-dump, then the dump on top of it
out=$("$husk" --root $root checkpoint --pre-dump --image-path "$d/pre" c1 2>&1) ||
	fail "checkpoint --pre-dump: $out"
[ "$(status)" = running ] || fail "c1 is $(status) after checkpoint --pre-dump"
echo "husk-checkpoint: checkpoint --pre-dump ok ($(du -sk "$d/pre" | cut -f1) KiB), still running"
out=$("$husk" --root $root checkpoint --image-path "$d/img" --parent-path ../pre c1 2>&1) ||
	fail "checkpoint --parent-path: $out"
at=$(count)
[ -z "$("$husk" --root $root list -q)" ] || fail "c1 still in husk list after checkpoint"
! kill -0 "$pid" 2>/dev/null || fail "pid $pid still there after checkpoint"
[ ! -e /sys/fs/cgroup/husk-ckpt/c1 ] || fail "cgroup /husk-ckpt/c1 left after checkpoint"
sleep 0.5
[ "$(count)" = "$at" ] || fail "still counting after checkpoint: $at, then $(count)"
cat "$d/img/husk-stdio-keys.json" >/dev/null || fail "no husk-stdio-keys.json in the images"
echo "husk-checkpoint: checkpoint (parent: the pre-dump) ok ($(du -sk "$d/img" | cut -f1) KiB), c1 gone at count $at"

# 3. husk restore, in the foreground's place of the old container: the
#    same pid namespace contents, mounts, cgroup, and the count going on
#    through the same fd; exec, kill and delete work on it.
"$husk" --root $root restore -d --bundle "$b" --image-path "$d/img" --pid-file "$d/rpid" c1 \
	</dev/null >>"$d/c1.log" 2>&1 || fail "husk restore: $(tail -n 5 "$d/c1.log")"
rpid=$(cat "$d/rpid")
[ "$(status)" = running ] || fail "c1 is $(status) after restore"
[ "$("$husk" --root $root state c1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')" = "$rpid" ] ||
	fail "state's pid is not the pid file's $rpid"
wait_count $((at + 2)) 30
[ "$(grep -c '^1$' "$b/rootfs/tmp/count")" = 1 ] || fail "the count restarted from 1 (not restored)"
grep -qx "0::/husk-ckpt/c1" "/proc/$rpid/cgroup" || fail "restored init in cgroup $(cat "/proc/$rpid/cgroup")"
out=$("$husk" --root $root exec c1 cat /data/hello 2>&1) && [ "$out" = from-the-host ] ||
	fail "exec into the restored container (bind mount /data): $out"
[ "$(loopback)" = ping ] || fail "no loopback traffic in the restored container"
echo "husk-checkpoint: restore -d ok: pid $rpid counting on from $at: $(count); exec, bind mount, loopback ok"

# 4. Checkpoint the restored container, restore it under another id.
at=$(count)
out=$("$husk" --root $root checkpoint --image-path "$d/img2" c1 2>&1) || fail "checkpoint of the restored c1: $out"
[ -z "$("$husk" --root $root list -q)" ] || fail "c1 still in husk list after its second checkpoint"
"$husk" --root $root restore -d --bundle "$b" --image-path "$d/img2" c2 </dev/null >>"$d/c1.log" 2>&1 ||
	fail "husk restore as c2: $(tail -n 5 "$d/c1.log")"
[ "$("$husk" --root $root state c2 | sed -n 's/.*"status": "\(.*\)".*/\1/p')" = running ] || fail "c2 not running"
wait_count $((at + 2)) 30
"$husk" --root $root kill c2 KILL
i=0
until "$husk" --root $root state c2 | grep -q '"status": "stopped"'; do
	i=$((i + 1)); [ $i -le 100 ] || fail "c2 still running after kill"; sleep 0.1
done
"$husk" --root $root delete c2 || fail "delete c2"
[ ! -e /sys/fs/cgroup/husk-ckpt/c1 ] || fail "cgroup left after delete c2"
rpid=
echo "husk-checkpoint: checkpoint of the restored c1, restore as c2, kill and delete ok"

# 5. restore in the foreground (as run): husk waits, exits with the
#    container's code and deletes it.
"$husk" --root $root restore --bundle "$b" --image-path "$d/img2" c3 </dev/null >>"$d/c1.log" 2>&1 &
fg=$!
i=0
until "$husk" --root $root state c3 2>/dev/null | grep -q '"status": "running"'; do
	i=$((i + 1)); [ $i -le 300 ] || fail "foreground restore of c3: not running ($(tail -n 3 "$d/c1.log"))"
	kill -0 $fg 2>/dev/null || fail "foreground restore exited early: $(tail -n 3 "$d/c1.log")"
	sleep 0.1
done
at=$(count)
wait_count "$at" 30
"$husk" --root $root kill c3 KILL
rc=0
wait $fg || rc=$?
[ $rc = 137 ] || fail "foreground restore exited $rc, want 137 (the init killed by SIGKILL)"
[ -z "$("$husk" --root $root list -q)" ] || fail "c3 left after its foreground restore ended"
[ ! -e /sys/fs/cgroup/husk-ckpt/c1 ] || fail "cgroup left after the foreground restore ended"
echo "husk-checkpoint: foreground restore as c3 ok: counted on, exit 137 on kill, deleted"

# 6. Clear failures.
if out=$("$husk" --root $root checkpoint --image-path "$d/x" c1 2>&1); then fail "checkpoint of a deleted container succeeded"; fi
echo "husk-checkpoint: checkpoint of a gone container: $out"
if out=$("$husk" --root $root restore -d --bundle "$b" --image-path "$d/nothing" c4 2>&1); then fail "restore from no checkpoint succeeded"; fi
[ -z "$("$husk" --root $root list -q)" ] || fail "a failed restore left a container"
echo "husk-checkpoint: restore from no checkpoint: $out"
sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
if out=$("$husk" --root $root restore -d --bundle "$b" --image-path "$d/img2" c4 2>&1); then fail "restore -d of a terminal container without a console socket succeeded"; fi
grep -q 'cannot allocate a tty' <<<"$out" || fail "restore -d with a terminal, no --console-socket: $out"
[ -z "$("$husk" --root $root list -q)" ] || fail "a refused restore left a container"
echo "husk-checkpoint: restore -d with a terminal but no --console-socket: $out"
echo "husk-checkpoint: PASS"
