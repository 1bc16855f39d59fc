# shellcheck shell=bash
# husk v2vm: runs the command (both modes; bash from the host's /usr).
# Checks the cgroup layout first, then runs /v2vm/cmd and leaves its exit
# status in /v2vm/rc (125 when the guest is not what the tests expect).
# stdout/stderr go to files in the control share, which the host streams
# while the guest runs.
exec </dev/null >>/v2vm/stdout 2>>/v2vm/stderr
. /v2vm/config
say() { echo "v2vm: $*" >&2; }
finish() {
	echo "$1" > /v2vm/rc.tmp && mv /v2vm/rc.tmp /v2vm/rc
	sync
	exit "$1"
}

types=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { print $(i + 1) " " $5; break } }' /proc/self/mountinfo |
	grep -E '^cgroup2? ')
if [ "$types" != "cgroup2 /sys/fs/cgroup" ]; then
	say "FAIL: want exactly one cgroup mount, cgroup2 at /sys/fs/cgroup; have: ${types:-none}"
	finish 125
fi
if ! grep -qw cgroup2 /proc/filesystems; then
	say "FAIL: the kernel has no cgroup2 filesystem"
	finish 125
fi
if [ "$V2VM_MODE" = systemd ]; then
	state=$(systemctl is-system-running --wait 2>&1)
	say "systemd $(systemctl --version | head -n 1 | cut -d' ' -f2): system $state; D-Bus system bus $(systemctl is-active dbus.service)"
fi
say "booted in $(cut -d' ' -f1 /proc/uptime)s ($V2VM_MODE mode, kernel $(uname -r), $(nproc) vCPU)"
say "cgroup v2 only; cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
aa=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)
say "LSMs: $(cat /sys/kernel/security/lsm 2>/dev/null || echo "none (no securityfs)"); AppArmor enabled: ${aa:-N}"
say "cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control); this shell in $(cut -d: -f3 /proc/self/cgroup)"

cd "$V2VM_WORKDIR" || { say "FAIL: cd $V2VM_WORKDIR"; finish 125; }
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin \
	HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM=dumb V2VM=1 \
	/usr/bin/bash /v2vm/cmd
rc=$?
say "command exited with status $rc after $(cut -d' ' -f1 /proc/uptime)s uptime"
finish $rc
