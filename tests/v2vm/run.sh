#!/bin/bash
# tests/v2vm/run.sh - run a command as root in a throw-away QEMU guest whose
# only cgroup hierarchy is cgroup v2, mounted at /sys/fs/cgroup.
#
# Usage: tests/v2vm/run.sh [OPTIONS] -- CMD [ARGS...]
#
#   --systemd        boot systemd as PID 1 (unified hierarchy, D-Bus system
#                    bus running) and run CMD as a service once dbus is up;
#                    default: a busybox init mounts cgroup2 itself and enables
#                    every controller in the root's cgroup.subtree_control
#   --dir DIR        host directory shared read-write at the same path
#                    (default: the repository holding this script)
#   --share DIR[:ro] one more host directory, at the same path (rw unless :ro)
#   --timeout SECS   kill the guest after SECS (default 600)
#   --criu           install Debian's criu on the host if missing (the guest
#                    runs the host's, through /usr; the guest kernel has the
#                    modules `criu check` needs in any case)
#
# The guest runs with AppArmor enabled (securityfs at /sys/kernel/security,
# no profile loaded) and sees the host's /usr (read-only; apparmor_parser
# when the host has the apparmor package), a copy of the host's /etc, the
# shares, tmpfs /, /tmp and /run, devtmpfs /dev, loopback up, no network.
# CMD runs in the current directory when that is inside a share (otherwise in
# --dir) with a clean environment: pass variables as `env NAME=VALUE CMD`.
# Its stdout/stderr are streamed here; run.sh exits with CMD's status, or 125
# when the guest failed (no qemu, boot failure, timeout, wrong cgroup layout),
# printing the guest console.
#
# Environment: HUSK_V2VM_TIMEOUT (600), HUSK_V2VM_MEM (MiB, 2048),
# HUSK_V2VM_CPUS (1), HUSK_V2VM_TCG_THREAD (single|multi, default single),
# HUSK_V2VM_ACCEL (tcg|kvm, default tcg), HUSK_V2VM_MODULES (extra modules),
# HUSK_V2VM_KERNEL_PKG (default: what linux-image-amd64 depends on),
# HUSK_V2VM_CACHE (default $XDG_CACHE_HOME/husk-v2vm, else
# /var/cache/husk-v2vm as root, else ~/.cache/husk-v2vm),
# HUSK_V2VM_CONSOLE (a file to keep the guest console log in),
# HUSK_V2VM_APPEND (more kernel arguments, e.g. loglevel=7 to debug a boot).
set -euo pipefail

PROG=v2vm
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST=$HERE/guest
die() { echo "$PROG: error: $*" >&2; exit 125; }
note() { echo "$PROG: $*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

MODE=plain
CRIU=
DIR=$(cd "$HERE/../.." && pwd)
EXTRA=()
TIMEOUT=${HUSK_V2VM_TIMEOUT:-600}
while [ $# -gt 0 ]; do
	case $1 in
	--systemd) MODE=systemd ;;
	--criu) CRIU=1 ;;
	--dir) [ $# -ge 2 ] || die "--dir needs a value"; DIR=$2; shift ;;
	--share) [ $# -ge 2 ] || die "--share needs a value"; EXTRA+=("$2"); shift ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs a value"; TIMEOUT=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; exit 125 ;;
	esac
	shift
done
[ $# -gt 0 ] || { usage >&2; exit 125; }
DIR=$(realpath -e -- "$DIR") || die "no directory $DIR"
[ "$DIR" != / ] || die "refusing to share / (give a sub-directory)"
case $DIR/ in
/run/* | /dev/* | /proc/* | /sys/*) die "$DIR: the guest mounts its own /run, /dev, /proc and /sys over it; use a checkout elsewhere" ;;
esac

MEM=${HUSK_V2VM_MEM:-2048}
CPUS=${HUSK_V2VM_CPUS:-1}
# CRIU's: the socket diag modules, tun and nf_tables (its network lock
# probe) for `criu check`, nf_conntrack_netlink to dump a network
# namespace (its conntrack table); libcrc32c, which nf_tables needs, only
# softdeps on crc32c. They add 0.15-0.3 s to a boot (see README.md).
CRIU_MODULES="unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag tun crc32c_generic nf_tables nf_conntrack_netlink"
MODULES="virtio_pci 9pnet_virtio 9p overlay veth loop $CRIU_MODULES ${HUSK_V2VM_MODULES:-}"
if [ -n "${HUSK_V2VM_CACHE:-}" ]; then CACHE=$HUSK_V2VM_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then CACHE=$XDG_CACHE_HOME/husk-v2vm
elif [ "$(id -u)" = 0 ]; then CACHE=/var/cache/husk-v2vm
else CACHE=$HOME/.cache/husk-v2vm; fi
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# ------------------------------------------------------------ host packages
apt_get() {
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@"
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
ensure_packages() {
	local need=()
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	installed busybox-static || need+=(busybox-static)
	command -v xz >/dev/null || need+=(xz-utils)
	# The guest's apparmor_parser is the host's, through /usr.
	installed apparmor || need+=(apparmor)
	[ -z "$CRIU" ] || installed criu || need+=(criu)
	[ ${#need[@]} -gt 0 ] || return 0
	note "installing ${need[*]} (apt-get) ..."
	local log
	log=$(mktemp)
	if ! apt_get install -y --no-install-recommends "${need[@]}" >"$log" 2>&1 &&
		! { apt_get update >>"$log" 2>&1 && apt_get install -y --no-install-recommends "${need[@]}" >>"$log" 2>&1; }; then
		cat "$log" >&2
		rm -f "$log"
		die "apt-get install ${need[*]} failed"
	fi
	rm -f "$log"
}

# ------------------------------------------------------------ kernel + initramfs
# The kernel .deb is only downloaded and unpacked into the cache, never
# installed on the host.
kernel_package() {
	local p
	if [ -n "${HUSK_V2VM_KERNEL_PKG:-}" ]; then echo "$HUSK_V2VM_KERNEL_PKG"; return; fi
	p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$p" ]; then
		apt_get update >&2 || true
		p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	if [ -z "$p" ]; then   # offline and no package lists: any kernel fetched before
		p=$(cd "$CACHE" && ls -d linux-image-*/vmlinux 2>/dev/null | tail -n 1 | cut -d/ -f1)
	fi
	[ -n "$p" ] || die "cannot resolve linux-image-amd64 (no apt source?)"
	echo "$p"
}

fetch_kernel() { # pkg dir
	local pkg=$1 k=$2 tmp off
	note "fetching kernel $pkg ..."
	tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
	chmod 777 "$tmp" # apt-get download runs as the _apt user
	(cd "$tmp" && apt-get -q download "$pkg" >&2) ||
		{ apt_get update >&2 && (cd "$tmp" && apt-get -q download "$pkg" >&2); } ||
		die "apt-get download $pkg failed"
	mkdir -p "$tmp/x"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp/x" --wildcards './boot/vmlinuz-*' ||
		die "no vmlinuz in $pkg"
	rm -rf "$k" && mkdir -p "$k"
	mv "$tmp"/*.deb "$k/kernel.deb"
	# Boot the uncompressed ELF vmlinux (PVH entry) rather than the bzImage:
	# decompressing the kernel in an emulated CPU costs seconds every boot.
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$tmp"/x/boot/vmlinuz-* | head -n 1 | cut -d: -f1 || true)
	if [ -n "$off" ]; then
		tail -c +$((off + 1)) "$tmp"/x/boot/vmlinuz-* | xz -dcq >"$tmp/vmlinux" 2>/dev/null || true
	fi
	if [ "$(head -c 4 "$tmp/vmlinux" 2>/dev/null | od -An -c | tr -d ' ')" = 177ELF ]; then
		mv "$tmp/vmlinux" "$k/vmlinux"
	else
		mv "$tmp"/x/boot/vmlinuz-* "$k/vmlinux"
	fi
	rm -rf "$tmp"
}

# The initramfs holds the static busybox, guest/init and the modules named in
# $MODULES with their dependencies (read from each module's .modinfo).
build_initramfs() { # kernel-dir out
	local k=$1 out=$2 st kver m
	st=$(mktemp -d "$CACHE/tmp.XXXXXX")
	mkdir -p "$st/x" "$st/r/bin" "$st/r/proc" "$st/r/sys" "$st/r/dev" "$st/r/modules"
	dpkg-deb --fsys-tarfile "$k/kernel.deb" | tar -x -C "$st/x" --wildcards './lib/modules/*' ||
		die "unpacking modules failed"
	kver=$(ls "$st/x/lib/modules" | head -n 1)
	declare -A path=() seen=()
	local f n
	while IFS= read -r f; do
		n=${f##*/}; n=${n%.ko}; path[${n//-/_}]=$f
	done < <(find "$st/x/lib/modules/$kver" -name '*.ko')
	add_module() {
		local m=${1//-/_} f d
		[ -z "${seen[$m]:-}" ] || return 0
		seen[$m]=1
		f=${path[$m]:-}
		if [ -z "$f" ]; then
			grep -q "/${m//_/[-_]}\.ko$" "$st/x/lib/modules/$kver/modules.builtin" ||
				die "kernel $kver has no module $m"
			return 0 # built in
		fi
		for d in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '); do
			add_module "$d"
		done
		cp "$f" "$st/r/modules/$m.ko"
		echo "$m" >>"$st/r/modules/order"
	}
	for m in $MODULES; do add_module "$m"; done
	touch "$st/r/modules/order"
	cp /bin/busybox "$st/r/bin/busybox"
	cp "$GUEST/init" "$st/r/init"
	chmod 755 "$st/r/init"
	(cd "$st/r" && find . | busybox cpio -o -H newc 2>/dev/null) >"$out.tmp" || die "cpio failed"
	mv "$out.tmp" "$out"
	rm -rf "$st"
}

prepare_cache() {
	local pkg k key
	mkdir -p "$CACHE"
	exec 8>"$CACHE/lock"
	flock 8 # one preparation at a time; runs themselves go in parallel
	rm -rf "$CACHE"/tmp.*
	ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is not static (apt-get install busybox-static)"
	pkg=$(kernel_package)
	k=$CACHE/$pkg
	if [ ! -s "$k/vmlinux" ] || [ ! -s "$k/kernel.deb" ]; then
		fetch_kernel "$pkg" "$k"
	fi
	key=$(cat "$GUEST/init" /bin/busybox <(echo "$MODULES") | sha256sum | cut -c1-16)
	INITRD=$k/initramfs-$key.cpio
	if [ ! -s "$INITRD" ]; then
		note "building initramfs for $pkg ..."
		rm -f "$k"/initramfs-*.cpio
		build_initramfs "$k" "$INITRD"
	fi
	KERNEL=$k/vmlinux
	flock -u 8
	exec 8>&-
}

# ------------------------------------------------------------ main
ensure_packages
prepare_cache

RUN=$(mktemp -d "${TMPDIR:-/tmp}/husk-v2vm.XXXXXX")
QPID=
TAILS=()
cleanup() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
	[ ${#TAILS[@]} -eq 0 ] || kill "${TAILS[@]}" 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
CTL=$RUN/ctl
mkdir -p "$CTL"
cp "$GUEST"/stage1.sh "$GUEST"/stage2.sh "$GUEST"/wrapper.sh "$CTL"/
cp -r "$GUEST"/units "$CTL"/units
: >"$CTL/stdout"
: >"$CTL/stderr"
: >"$CTL/links"
: >"$CTL/shares"

SM=passthrough
[ "$(id -u)" = 0 ] || SM=none
qpath() { printf '%s' "${1//,/,,}"; } # QEMU option syntax doubles commas
VIRTFS=()
share() { # host-path tag ro|rw
	local ro=
	[ "$3" = rw ] || ro=,readonly=on
	VIRTFS+=(-virtfs "local,path=$(qpath "$1"),mount_tag=$2,security_model=$SM,multidevs=remap$ro")
}
share "$CTL" v2vmctl rw
share /usr usr ro
tar -C /etc -cf "$CTL/etc.tar" --ignore-failed-read . 2>/dev/null ||
	[ -s "$CTL/etc.tar" ] || die "cannot pack /etc"
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then
		echo "$d $(readlink "/$d")" >>"$CTL/links"
	elif [ -d "/$d" ]; then # a host without merged /usr
		share "/$d" "h$d" ro
		echo "h$d ro /$d" >>"$CTL/shares"
	fi
done
WORKDIR=$DIR
here=$(pwd -P)
i=0
for s in "$DIR:rw" "${EXTRA[@]}"; do
	mode=rw
	case $s in *:ro) mode=ro; s=${s%:ro} ;; *:rw) s=${s%:rw} ;; esac
	p=$(realpath -e -- "$s") || die "no directory $s"
	case $p in /usr | /usr/* | /etc | /etc/*) die "$p: /usr and /etc are in the guest already" ;; esac
	share "$p" "s$i" "$mode"
	echo "s$i $mode $p" >>"$CTL/shares"
	case $here/ in "$p"/*) WORKDIR=$here ;; esac
	i=$((i + 1))
done
{
	printf 'V2VM_MODE=%q\n' "$MODE"
	printf 'V2VM_WORKDIR=%q\n' "$WORKDIR"
} >"$CTL/config"
{ printf 'exec'; printf ' %q' "$@"; printf '\n'; } >"$CTL/cmd"

CMDLINE="console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init cgroup_no_v1=all mitigations=off"
# AppArmor on whatever the kernel's default LSM: the AppArmor tests need it,
# and fail rather than skip in the guest (suite.sh sets HUSK_REQUIRE_APPARMOR).
CMDLINE="$CMDLINE apparmor=1 security=apparmor"
[ "$MODE" != systemd ] ||
	CMDLINE="$CMDLINE systemd.unified_cgroup_hierarchy=1 systemd.show_status=error"
CMDLINE="$CMDLINE ${HUSK_V2VM_APPEND:-}"
case ${HUSK_V2VM_ACCEL:-tcg} in
kvm) ACCEL=(-accel kvm -cpu host) ;;
tcg) ACCEL=(-accel "tcg,thread=${HUSK_V2VM_TCG_THREAD:-single}" -cpu max) ;;
*) die "HUSK_V2VM_ACCEL must be tcg or kvm" ;;
esac

start=$(date +%s.%N)
timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 -M pc "${ACCEL[@]}" -smp "$CPUS" -m "$MEM" \
	-nodefaults -no-user-config -display none -vga none -no-reboot \
	-serial "file:$(qpath "$RUN/console.log")" \
	-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE" \
	"${VIRTFS[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
QPID=$!
tail -f -n +1 -s 0.2 --pid=$QPID "$CTL/stdout" &
TAILS+=($!)
tail -f -n +1 -s 0.2 --pid=$QPID "$CTL/stderr" >&2 &
TAILS+=($!)
qrc=0
wait $QPID || qrc=$?
QPID=
wait "${TAILS[@]}" || true # each tail reads to the end once qemu is gone
TAILS=()
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ -z "${HUSK_V2VM_CONSOLE:-}" ] || cp "$RUN/console.log" "$HUSK_V2VM_CONSOLE" 2>/dev/null || true

show_console() {
	echo "----- qemu:" >&2
	cat "$RUN/qemu.log" >&2
	echo "----- guest console:" >&2
	cat "$RUN/console.log" >&2 2>/dev/null || true
	echo "-----" >&2
}
if [ -s "$CTL/rc" ]; then
	rc=$(cat "$CTL/rc")
	note "guest ($MODE, $CPUS vCPU, ${MEM} MiB) done in ${secs}s, exit status $rc"
	[ "$rc" = 0 ] || show_console
	exit "$rc"
fi
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	note "guest timed out after ${TIMEOUT}s, killed"
else
	note "guest stopped after ${secs}s (qemu status $qrc) without an exit status"
fi
show_console
exit 125
