# shellcheck shell=sh
# husk v2vm stage 1 (busybox sh, PID 1, still on the initramfs).
# Builds the guest root on a tmpfs (pivot_root, which container runtimes
# need, does not work on the initramfs itself), mounts the host's shares into
# it and switch_roots: to stage2.sh (plain mode) or to systemd (--systemd).
die() { echo "v2vm-stage1: FATAL: $*" >/dev/console; sleep 1; poweroff -f; }
. /ctl/config || die "no /ctl/config"
R=/newroot
P9="trans=virtio,version=9p2000.L,msize=262144"

mkdir -p $R
mount -t tmpfs -o mode=0755 v2vmroot $R || die "tmpfs root"
for d in proc sys dev run tmp etc root home mnt opt srv media v2vm \
	var/tmp var/lib var/log var/cache var/spool; do
	mkdir -p "$R/$d"
done
chmod 1777 $R/tmp $R/var/tmp
chmod 0700 $R/root
ln -s ../run $R/var/run
ln -s ../run/lock $R/var/lock

# Host /usr, read-only, cached (binaries and libraries are read a lot).
mkdir -p $R/usr
mount -t 9p -o "$P9,ro,cache=loose" usr $R/usr || die "mount host /usr"
# Merged /usr: /bin, /lib, ... are symlinks into /usr, as on the host.
while read -r name target; do
	[ -n "$name" ] && ln -s "$target" "$R/$name"
done < /ctl/links

# Host /etc, copied into the tmpfs: writable and throw-away. The host packs
# it (one file over 9p is far faster than thousands of small ones).
tar -x -C $R/etc -f /ctl/etc.tar || die "unpack host /etc"
echo v2vm > $R/etc/hostname
rm -f $R/etc/fstab $R/etc/mtab
ln -s ../proc/self/mounts $R/etc/mtab
: > $R/etc/fstab

# Directories shared with the host, at the same absolute paths.
while read -r tag mode path; do
	[ -n "$tag" ] || continue
	if [ "$mode" = ro ]; then o="ro,cache=loose"; else o="rw,cache=mmap"; fi
	mkdir -p "$R$path" || die "mkdir $path"
	mount -t 9p -o "$P9,$o" "$tag" "$R$path" || die "mount host $path"
done < /ctl/shares

if [ "$V2VM_MODE" = systemd ]; then
	# Only the units of this test run: none of the host's enabled services.
	rm -rf $R/etc/systemd/system
	mkdir -p $R/etc/systemd/system
	cp /ctl/units/* $R/etc/systemd/system/ || die "install units"
	ln -s husk-v2vm.target $R/etc/systemd/system/default.target
	INIT=/usr/lib/systemd/systemd
	[ -x "$R$INIT" ] || die "the host has no $INIT (apt-get install systemd)"
else
	INIT=/v2vm/stage2.sh
fi

# The control share moves along into the new root, at /v2vm.
mount --move /ctl $R/v2vm || die "move control share"
mount --move /proc $R/proc
mount --move /sys $R/sys
mount --move /dev $R/dev
# shellcheck disable=SC2093 # the die only runs when switch_root fails
if [ "$V2VM_MODE" = systemd ]; then
	exec switch_root $R $INIT
else
	exec switch_root $R /usr/bin/busybox sh $INIT
fi
die "switch_root"
