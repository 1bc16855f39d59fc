# shellcheck shell=sh
# husk v2vm stage 2, plain mode (busybox sh from the host's /usr, PID 1 on
# the tmpfs root). Mounts what a container host has, makes cgroup v2 the only
# cgroup hierarchy with every controller enabled, runs the command through
# wrapper.sh and powers off. Being PID 1, this shell also reaps orphans.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bb=/usr/bin/busybox
die() { echo "v2vm-stage2: FATAL: $*" >/dev/console; echo 125 > /v2vm/rc; sync; $bb poweroff -f; }

$bb mount -t tmpfs -o mode=0755,nosuid,nodev run /run || die "mount /run"
mkdir -p /run/lock /run/user
# /tmp is already on the tmpfs root; a tmpfs over it would hide the shares
# that live there (a checkout under /tmp, as CI's may be).
mkdir -p /dev/pts /dev/shm /dev/mqueue
$bb mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx
$bb mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
$bb mount -t mqueue mqueue /dev/mqueue
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

# cgroup v2 only (the kernel runs with cgroup_no_v1=all), all controllers on.
$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || die "mount cgroup2"
c=""
for x in $(cat /sys/fs/cgroup/cgroup.controllers); do c="$c +$x"; done
echo "$c" > /sys/fs/cgroup/cgroup.subtree_control || die "enable controllers:$c"
$bb mount -t bpf bpf /sys/fs/bpf 2>/dev/null
$bb mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

$bb hostname v2vm
$bb ip link set lo up || die "loopback up"

/usr/bin/bash /v2vm/wrapper.sh
sync
$bb poweroff -f
