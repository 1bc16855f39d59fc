#!/bin/bash
# tests/v2vm/systemd-probe.sh - in a --systemd guest: shows that transient
# scopes can be created through systemd, both with systemd-run and with a
# raw StartTransientUnit call over the D-Bus system bus (what a systemd
# cgroup driver does). Usage (on the host):
#   tests/v2vm/run.sh --systemd -- tests/v2vm/systemd-probe.sh
set -euo pipefail
fail() { echo "systemd-probe: FAIL: $*" >&2; exit 1; }
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is not systemd (run with --systemd)"
[ -S /run/dbus/system_bus_socket ] || fail "no D-Bus system bus socket"

echo "== systemd-run --scope"
systemd-run --quiet --scope --unit=husk-probe -- sh -c \
	'cat /proc/self/cgroup; systemctl status --no-pager husk-probe.scope | head -n 4' >/tmp/probe.out
cat /tmp/probe.out
grep -qx '0::/system.slice/husk-probe.scope' /tmp/probe.out || fail "systemd-run --scope did not place the process"

echo "== StartTransientUnit over the system bus (busctl -> dbus-daemon -> systemd)"
sleep 600 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
	StartTransientUnit 'ssa(sv)a(sa(sv))' husk-probe2.scope fail \
	4 PIDs au 1 "$pid" Slice s system.slice Delegate b true Description s "husk v2vm probe" 0
for _ in $(seq 100); do systemctl is-active -q husk-probe2.scope && break; sleep 0.1; done
systemctl show -p ActiveState -p Delegate -p ControlGroup husk-probe2.scope
cg=$(cut -d: -f3 "/proc/$pid/cgroup")
echo "pid $pid is in $cg"
[ "$cg" = /system.slice/husk-probe2.scope ] || fail "the D-Bus-created scope does not hold pid $pid"
[ -f "/sys/fs/cgroup$cg/cgroup.procs" ] || fail "no cgroup directory for the scope"
kill "$pid"
echo "systemd-probe: PASS"
