#!/bin/bash
# tests/v2vm/criu-smoke.sh - in the guest: CRIU itself (no husk) checkpoints
# and restores a process tree, so the machinery husk's checkpoint/restore
# will drive is known to work here. Needs the host's `criu` (run.sh --criu
# installs it). Usage (on the host):
#   tests/v2vm/run.sh --criu -- tests/v2vm/criu-smoke.sh
#
# 1. `criu check` and `criu check --extra` say "Looks good."
# 2. A session leader (setsid sh) with a child (sleep) counts into a file
#    through an fd it keeps open (fd 3, O_APPEND). `criu pre-dump` then
#    `criu dump` (incremental, --track-mem, the pre-dump as parent) stop and
#    kill the tree; `criu restore -d` brings it back with the same pid, and
#    it goes on counting from where it stopped, through the same fd.
# 3. `criu dump --leave-running` of the restored tree: it keeps counting.
set -euo pipefail
fail() {
	echo "criu-smoke: FAIL: $*" >&2
	for f in "$d"/img*/*.log; do
		[ -f "$f" ] || continue
		echo "----- $f (errors and last lines)" >&2
		grep -E 'Error|Warn' "$f" | head -n 20 >&2 || true
		tail -n 15 "$f" >&2
	done
	exit 1
}
command -v criu >/dev/null || { echo "criu-smoke: FAIL: no criu (run.sh --criu installs it on the host)" >&2; exit 1; }
d=$(mktemp -d /tmp/criu-smoke.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || kill -KILL -- "-$pid" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT

echo "criu-smoke: $(criu --version | head -n 1), kernel $(uname -r)"
for c in "" --extra; do
	out=$(criu check $c 2>&1) || fail "criu check $c: $out"
	[ "$out" = "Looks good." ] || fail "criu check $c: $out"
	echo "criu-smoke: criu check $c: $out"
done

# count N: the last line of the log, written through the tree's fd 3.
count() { tail -n 1 "$d/log" 2>/dev/null || echo 0; }
wait_count() { # value timeout-secs: until the count passes value
	local i=0
	while [ "$(count)" -le "$1" ]; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || fail "count stuck at $(count) (want > $1)"
		sleep 0.1
	done
}
alive() { kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ]; }

# The tree: its own session (criu dumps a session leader without
# --shell-job), stdio on /dev/null, the log open on fd 3.
setsid sh -c 'exec 3>>"$1"; i=0; while :; do i=$((i + 1)); echo $i >&3; sleep 0.2; done' \
	sh "$d/log" </dev/null >/dev/null 2>&1 &
pid=$!
disown # the dump kills it: no job-control notice from this shell
wait_count 3 30
echo "criu-smoke: tree: sh $pid (session leader, forks a sleep at each count), counting: $(count)"

mkdir "$d/img0" "$d/img1"
criu pre-dump -t "$pid" -D "$d/img0" --track-mem -v4 -o pre-dump.log || fail "criu pre-dump"
alive || fail "the tree died in pre-dump"
echo "criu-smoke: pre-dump ok ($(du -sk "$d/img0" | cut -f1) KiB), tree still running"
criu dump -t "$pid" -D "$d/img1" --prev-images-dir ../img0 --track-mem -v4 -o dump.log || fail "criu dump"
sleep 0.5
! alive || fail "pid $pid still runs after dump"
at_dump=$(count)
echo "criu-smoke: dump ok ($(du -sk "$d/img1" | cut -f1) KiB), tree gone at count $at_dump"

criu restore -D "$d/img1" -d -v4 -o restore.log || fail "criu restore"
alive || fail "pid $pid not there after restore"
wait_count $((at_dump + 2)) 30
first=$(grep -c '^1$' "$d/log")
[ "$first" = 1 ] || fail "the count restarted from 1 (not restored: $first runs in the log)"
[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] || fail "restored $pid is not its session's leader"
echo "criu-smoke: restore ok: pid $pid back, counting on from $at_dump: $(count)"

mkdir "$d/img2"
criu dump -t "$pid" -D "$d/img2" --leave-running -v4 -o dump.log || fail "criu dump --leave-running"
now=$(count)
wait_count "$now" 30
echo "criu-smoke: dump --leave-running ok, tree still counting: $(count)"

kill -KILL -- "-$pid"
pid=
echo "criu-smoke: PASS"
