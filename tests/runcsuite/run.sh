#!/usr/bin/env bash
# runc v1.5.1's integration suite (bats) against husk, runc 1.5.2 or any
# runtime with runc's command line. See tests/runcsuite/README.md.
#
#   tests/runcsuite/run.sh prepare                      # fetch and build everything (cached)
#   tests/runcsuite/run.sh run BINARY [-l LABEL] [-f FILTER] [FILE.bats...]
#   tests/runcsuite/run.sh reference [-f FILTER] [FILE.bats...]   # run with runc 1.5.2
#   tests/runcsuite/run.sh compare [REF_LABEL [LABEL]]  # default: runc-1.5.2 husk
#   tests/runcsuite/run.sh runc-path                    # print the reference runc's path
#
# BINARY may be "husk" (the repository's ./husk, built with 'make husk'),
# "runc" (the reference runc 1.5.2 built by prepare) or a path. FILE.bats
# are names in runc's tests/integration (default: every file). FILTER is
# bats --filter (a regexp on test names).
#
# Results: tests/runcsuite/results/LABEL.txt, one line per test:
#   ok|fail|skip <TAB> file.bats <TAB> test name
# A run with files or a filter updates only those tests' lines, so one file
# can be rerun without running the whole suite again. Each file's TAP output
# (with the failure details bats prints) is kept in results/LABEL/FILE.tap.
#
# Environment:
#   HUSK_RUNCSUITE_CACHE   where sources, binaries and images are kept
#                          (default $XDG_CACHE_HOME/husk-runcsuite, else
#                          /var/cache/husk-runcsuite)
#   RUNCSUITE_RESULTS      results directory (default tests/runcsuite/results)
#   RUNCSUITE_TIMEOUT      seconds per .bats file (default 1800)
#   RUNCSUITE_DEBIAN=0     don't build the Debian rootfs (debootstrap);
#                          the tests that need it then fail in setup
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
GO=${GO:-go}

SUITE_VERSION=v1.5.1 # the integration suite (tests/integration, tests/cmd)
REF_VERSION=v1.5.2   # the reference runc
RUNC_MODULE=github.com/opencontainers/runc
# Debian release for the "debian" image the suite's setup_debian unpacks
# (runc's get-images.sh downloads a buster-slim tarball; we can only reach
# Debian's archive, so debootstrap a minbase system instead).
DEBIAN_SUITE=${RUNCSUITE_DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${RUNCSUITE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ -n "${HUSK_RUNCSUITE_CACHE:-}" ]; then
	CACHE=$HUSK_RUNCSUITE_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
	CACHE=$XDG_CACHE_HOME/husk-runcsuite
else
	CACHE=/var/cache/husk-runcsuite
fi
SRC=$CACHE/runc-$SUITE_VERSION        # writable copy of the suite's module
# The reference runc, named runc: create.bats' fd leak check allows the
# binary's sealed copy only under the name "/runc".
REF_BIN=$CACHE/runc-${REF_VERSION#v}-bin/runc
# Bump the version when the images' making changes: a new directory, so a
# run in progress keeps its images.
IMAGES=$CACHE/images-4
RESULTS=${RUNCSUITE_RESULTS:-$HERE/results}
TIMEOUT=${RUNCSUITE_TIMEOUT:-1800}
SKIPLIST=$HERE/runc-strings.txt

die() {
	echo "runcsuite: $*" >&2
	exit 2
}
log() { echo "::: $*" >&2; }

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (the suite creates real containers, cgroups and mounts)"
}

# moddir MODULE@VERSION: the module's directory in the Go module cache,
# downloaded through GOPROXY if needed.
moddir() {
	local dir
	dir=$(cd / && GOFLAGS=-mod=mod $GO mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1 failed"
	echo "$dir"
}

# copy_module MODULE@VERSION DEST: a writable copy outside any workspace.
copy_module() {
	local dir
	dir=$(moddir "$1") || exit 2
	rm -rf "$2.tmp"
	mkdir -p "$(dirname "$2")"
	cp -a "$dir" "$2.tmp" && chmod -R u+w "$2.tmp" && mv "$2.tmp" "$2"
}

install_packages() {
	local missing=() p
	command -v bats >/dev/null || missing+=(bats)
	command -v jq >/dev/null || missing+=(jq)
	command -v gawk >/dev/null || missing+=(gawk) # helpers.bash's init_cgroup_paths
	command -v script >/dev/null || missing+=(bsdutils)
	command -v gcc >/dev/null || missing+=(gcc)
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	[ -x /bin/busybox ] || missing+=(busybox-static)
	[ -e /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
	command -v ip >/dev/null || missing+=(iproute2)
	command -v nsenter >/dev/null || missing+=(util-linux)
	[ ${#missing[@]} -eq 0 ] && return 0
	log "apt-get install ${missing[*]}"
	for p in 1 2; do
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null && return 0
		apt-get update >/dev/null
	done
	die "could not install ${missing[*]}"
}

# The suite's own sources, with get-images.sh replaced by one that prints
# the local images' paths.
prepare_suite() {
	if [ ! -f "$SRC/.complete" ]; then
		log "runc $SUITE_VERSION suite: copying into $SRC"
		rm -rf "$SRC"
		copy_module "$RUNC_MODULE@$SUITE_VERSION" "$SRC" || die "copy of runc $SUITE_VERSION failed"
		# Module zips keep no modes: the suite runs some of its scripts.
		find "$SRC" -name '*.sh' -exec chmod +x {} + || die "chmod failed"
		touch "$SRC/.complete"
	fi
	find "$SRC/tests" -name '*.sh' ! -perm -u+x -exec chmod +x {} +
	cat >"$SRC/tests/integration/get-images.sh" <<EOF
#!/bin/bash
# Replaced by husk's tests/runcsuite/run.sh: no downloads, local images.
echo "BUSYBOX_IMAGE=$IMAGES/busybox.tar"
echo "DEBIAN_IMAGE=$IMAGES/debian.tar"
EOF
	chmod 0755 "$SRC/tests/integration/get-images.sh"
}

# runc's test helper programs (its Makefile's test-binaries), built from the
# suite's sources into tests/cmd/_bin, where helpers.bash looks for them.
build_test_binaries() {
	local bin=$SRC/tests/cmd/_bin b
	mkdir -p "$bin"
	for b in recvtty sd-helper seccompagent fs-idmap pidfd-kill remap-rootfs key_label; do
		[ -x "$bin/$b" ] && continue
		log "building test helper $b"
		(cd "$SRC" && CGO_ENABLED=1 GOFLAGS=-mod=mod $GO build -trimpath -tags "seccomp urfave_cli_no_docs" \
			-o "$bin/$b" "./tests/cmd/$b") || die "build of tests/cmd/$b failed"
	done
}

# runc 1.5.2, the reference, built from the module proxy's source with
# seccomp (libseccomp through cgo). Not with libpathrs: its C library isn't
# packaged in Debian 12; runc then uses its pure-Go path resolution.
build_reference() {
	[ -x "$REF_BIN" ] && return 0
	local tmp=$CACHE/runc-$REF_VERSION
	log "building runc $REF_VERSION into $REF_BIN"
	[ -f "$tmp/.complete" ] || { copy_module "$RUNC_MODULE@$REF_VERSION" "$tmp" && touch "$tmp/.complete"; } ||
		die "copy of runc $REF_VERSION failed"
	mkdir -p "$(dirname "$REF_BIN")"
	(cd "$tmp" && CGO_ENABLED=1 GOFLAGS=-mod=mod $GO build -trimpath -buildmode=pie \
		-tags "seccomp urfave_cli_no_docs" \
		-ldflags "-X main.gitCommit=${REF_VERSION}-proxy" -o "$REF_BIN.tmp" .) &&
		mv "$REF_BIN.tmp" "$REF_BIN" || die "build of runc $REF_VERSION failed"
}

# busybox.tar: Debian's static busybox with a symlink per applet, passwd and
# group, in place of docker-library's busybox image.
build_busybox_image() {
	[ -f "$IMAGES/busybox.tar" ] && return 0
	log "building busybox image from /bin/busybox"
	local r
	r=$(mktemp -d "$CACHE/busybox.XXXXXX") || exit 2
	chmod 0755 "$r" # the tarball's "." becomes the rootfs' mode: not mktemp's 0700
	mkdir -p "$r"/{bin,dev,etc,proc,sys,tmp,root,var/spool/mail,home,usr/bin,usr/sbin,sbin}
	# install, not cp: the copy is 0755 whatever mode the host's binary
	# has (a host busybox found 0744 once made every non-root test fail).
	install -m 0755 /bin/busybox "$r/bin/busybox"
	# Every applet in /bin, as in docker-library's busybox image (tests run
	# /bin/awk, for one; Debian's --install would put it in /usr/bin).
	local a
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	chmod 1777 "$r/tmp"
	chmod 0700 "$r/root"
	cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
	cat >"$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
floppy:x:11:
audio:x:29:
video:x:44:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65534:
EOF
	mkdir -p "$IMAGES"
	tar -C "$r" -cf "$IMAGES/busybox.tar.tmp" . && mv "$IMAGES/busybox.tar.tmp" "$IMAGES/busybox.tar" ||
		die "packing busybox image failed"
	rm -rf "$r"
}

# debian.tar: a debootstrap --variant=minbase system from Debian's archive,
# in place of debuerreotype's buster-slim image (the tests that use it need
# sh, coreutils, util-linux's findmnt/chrt/ionice and ldconfig).
build_debian_image() {
	[ -f "$IMAGES/debian.tar" ] && return 0
	[ "${RUNCSUITE_DEBIAN:-1}" = 0 ] && return 0
	log "building debian image: debootstrap --variant=minbase $DEBIAN_SUITE (a few minutes)"
	local r
	r=$(mktemp -d "$CACHE/debian.XXXXXX") || exit 2
	chmod 0755 "$r"
	debootstrap --variant=minbase "$DEBIAN_SUITE" "$r" "$DEBIAN_MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $CACHE/debootstrap.log"
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
	mkdir -p "$IMAGES"
	tar --numeric-owner -C "$r" -cf "$IMAGES/debian.tar.tmp" . && mv "$IMAGES/debian.tar.tmp" "$IMAGES/debian.tar" ||
		die "packing debian image failed"
	rm -rf "$r"
}

prepare() {
	need_root
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	install_packages
	prepare_suite
	build_test_binaries
	build_reference
	build_busybox_image
	build_debian_image
}

resolve_binary() {
	case $1 in
	husk) echo "$REPO/husk" ;;
	runc | reference) echo "$REF_BIN" ;;
	*) readlink -f "$1" ;;
	esac
}

default_label() {
	case $1 in
	husk) echo husk ;;
	runc | reference) echo "runc-${REF_VERSION#v}" ;;
	*) basename "$1" ;;
	esac
}

# tap2results FILE.bats < TAP: "status<TAB>file<TAB>name[<TAB>where]"
# lines; where, for a failure, is the innermost file:line bats names (the
# assertion or command that failed).
tap2results() {
	awk -v file="$1" '
		function flush() { if (pending != "") print pending "\t" where; pending = ""; where = "" }
		/^ok [0-9]+ / {
			flush()
			line = $0; sub(/^ok [0-9]+ /, "", line)
			st = "ok"
			if (line ~ / # skip( |$)/) { st = "skip"; sub(/ # skip.*$/, "", line) }
			print st "\t" file "\t" line; next
		}
		/^not ok [0-9]+ / {
			flush()
			line = $0; sub(/^not ok [0-9]+ /, "", line)
			sub(/ in [0-9]+ms$/, "", line)
			pending = "fail\t" file "\t" line; where = "?"; seen = 0; next
		}
		pending != "" && !seen && /^# \((in test file|from function)/ {
			l = $0
			if (match(l, /file [^,]+, line [0-9]+/)) {
				m = substr(l, RSTART + 5, RLENGTH - 5)
				sub(/, line /, ":", m)
				n = split(m, parts, "/"); where = parts[n]
			}
			seen = 1
		}
		END { flush() }'
}

# merge RESULTSFILE NEWLINES: replace the lines of the tests in NEWLINES.
merge_results() {
	local out=$1 new=$2 tmp
	tmp=$(mktemp)
	if [ -f "$out" ]; then
		awk -F'\t' 'NR == FNR { seen[$2 "\t" $3] = 1; next } !(($2 "\t" $3) in seen)' "$new" "$out" >"$tmp"
	fi
	cat "$new" >>"$tmp"
	sort -t $'\t' -k2,2 -k3,3 "$tmp" >"$out"
	rm -f "$tmp"
}

run_suite() {
	need_root
	[ $# -ge 1 ] || die "usage: run.sh run BINARY [-l LABEL] [-f FILTER] [FILE.bats...]"
	local which=$1 label filter="" files=() f bin
	shift
	label=$(default_label "$which")
	while [ $# -gt 0 ]; do
		case $1 in
		-l | --label) label=$2; shift 2 ;;
		-f | --filter) filter=$2; shift 2 ;;
		*.bats) files+=("$(basename "$1")"); shift ;;
		*) files+=("$(basename "$1").bats"); shift ;;
		esac
	done
	prepare
	bin=$(resolve_binary "$which")
	[ -x "$bin" ] || die "binary $bin not found (for husk: make husk)"
	if [ ${#files[@]} -eq 0 ]; then
		for f in "$SRC"/tests/integration/*.bats; do files+=("$(basename "$f")"); done
	fi
	mkdir -p "$RESULTS/$label"
	# One run at a time on a machine: the suite's tests share loop devices,
	# cgroup paths, fixed container names under systemd, and their timing
	# assumes an otherwise idle host.
	exec 9>"$CACHE/run.lock"
	if ! flock -n 9; then
		log "another run of the suite holds $CACHE/run.lock; waiting for it"
		flock 9
	fi
	local tmpdir new
	CHILD=
	trap '[ -n "$CHILD" ] && kill -TERM -- "-$CHILD" 2>/dev/null; exit 130' INT TERM HUP
	tmpdir=$(mktemp -d "/tmp/runcsuite-$label.XXXXXX")
	chmod 0755 "$tmpdir"
	# script's stdin: a FIFO open for reading and writing, which never
	# reaches end of file. At the end of /dev/null, script writes the
	# terminal's EOF character to the pty, and with the pty in raw mode
	# (runc run of a terminal container) it arrives as a NUL ("^@") at the
	# start of the container's output.
	mkfifo "$tmpdir/.stdin" && exec 7<>"$tmpdir/.stdin" || die "mkfifo failed"
	new=$(mktemp)
	log "running ${#files[@]} file(s) with RUNC=$bin, label $label${filter:+, filter $filter}"
	for f in "${files[@]}"; do
		[ -f "$SRC/tests/integration/$f" ] || die "no such file in the suite: $f"
		local tap=$RESULTS/$label/${f%.bats}.tap args=(--tap)
		[ -n "$filter" ] && args+=(--filter "$filter")
		local t0=$SECONDS
		# Under a pseudo-terminal, as runc's CI runs the suite (docker run
		# -t): `runc spec` makes terminal:true configs and "runc run" of
		# those opens /dev/tty. bats' own temporary directories go under
		# TMPDIR; cd into the suite as runc's Makefile does.
		local cmdline
		cmdline=$(printf '%q ' bats "${args[@]}" "$f")
		(cd "$SRC/tests/integration" &&
			RUNC=$bin TMPDIR=$tmpdir exec timeout -k 30 "$TIMEOUT" script -q -e -c "$cmdline" /dev/null <&7) \
			>"$tap.raw" 2>&1 &
		# timeout leads a process group of its own: end it with this script.
		CHILD=$!
		wait "$CHILD"
		local rc=$?
		CHILD=
		# The outer pty adds one \r per line; a \r before it is the test's
		# own output (a pty with ONLCR set, say) and stays visible.
		sed 's/\r$//' <"$tap.raw" >"$tap"
		rm -f "$tap.raw"
		tap2results "$f" <"$tap" | tee -a "$new" >/dev/null
		local n_ok n_fail n_skip
		n_ok=$(tap2results "$f" <"$tap" | grep -c '^ok')
		n_fail=$(tap2results "$f" <"$tap" | grep -c '^fail')
		n_skip=$(tap2results "$f" <"$tap" | grep -c '^skip')
		printf '%-32s ok %3d  fail %3d  skip %3d  (%ds%s)\n' "$f" "$n_ok" "$n_fail" "$n_skip" $((SECONDS - t0)) \
			"$([ $rc -eq 124 ] && echo ', TIMED OUT')"
	done
	merge_results "$RESULTS/$label.txt" "$new"
	rm -f "$new"
	rm -rf "$tmpdir"
	remove_suite_cgroups
	[ -n "$criu_conf_existed" ] || rm -f /etc/criu/default.conf
	summary "$label"
}

# checkpoint.bats writes /etc/criu/default.conf (a log-file line) and
# leaves it when the test fails: every later criu run on the machine, the
# v2 guest's (which copies /etc) included, then writes its log in its
# working directory. run removes the file unless it was there before.
criu_conf_existed=$([ -e /etc/criu/default.conf ] && echo 1)

# remove_suite_cgroups removes the cgroup the suite's tests share
# (helpers.bash's set_cgroups_path), once empty: a test's teardown can
# fail to, while a killed init waits as a zombie for the host's pid 1 to
# reap it, and what it leaves holds, among others, the whole realtime
# budget of the cpu hierarchy (cpu.rt_runtime_us), which other tests on
# the machine then can't have.
remove_suite_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/runc-cgroups-integration-test /sys/fs/cgroup/runc-cgroups-integration-test; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

summary() {
	local r=$RESULTS/$1.txt
	[ -f "$r" ] || die "no results for $1 ($r)"
	printf '%s: ok %d, fail %d, skip %d (%s)\n' "$1" \
		"$(grep -c '^ok' "$r")" "$(grep -c '^fail' "$r")" "$(grep -c '^skip' "$r")" "$r"
}

# runc-strings.txt: "file.bats<TAB>test name<TAB>where<TAB>reason" lines
# (# comments). where is a comma-separated list of file:line, the
# assertions that look for runc's own strings; "*" is any. A listed test
# that fails elsewhere is a behaviour difference like any other.
skiplist() {
	grep -v '^[[:space:]]*#' "$SKIPLIST" 2>/dev/null | awk -F'\t' 'NF >= 3 { print $1 "\t" $2 "\t" $3 }'
}

compare() {
	local ref=${1:-runc-${REF_VERSION#v}} cand=${2:-husk}
	local rf=$RESULTS/$ref.txt cf=$RESULTS/$cand.txt
	[ -f "$rf" ] || die "no results for $ref ($rf): run.sh run runc"
	[ -f "$cf" ] || die "no results for $cand ($cf): run.sh run husk"
	local skip
	skip=$(mktemp)
	skiplist >"$skip"
	summary "$ref"
	summary "$cand"
	# Tests ref passes, with cand's status (not-run: not in cand's results).
	local rows
	rows=$(awk -F'\t' -v skipf="$skip" -v rf="$rf" '
		BEGIN { FS = "\t"; while ((getline l < skipf) > 0) { split(l, p, "\t"); skip[p[1] "\t" p[2]] = "," p[3] "," } }
		FILENAME == rf { if ($1 == "ok") refok[$2 "\t" $3] = 1; next }
		{ cand[$2 "\t" $3] = $1; where[$2 "\t" $3] = $4 }
		END {
			for (k in refok) {
				st = (k in cand) ? cand[k] : "not-run"
				w = (k in where && where[k] != "") ? where[k] : "-"
				split(k, p, "\t")
				if (st == "ok") print "both\t" p[1] "\t" p[2]
				else if (k in skip && st == "fail" && (skip[k] == ",*," || index(skip[k], "," w ",") > 0))
					print "own\t" p[1] "\t" p[2] "\t" st "\t" w
				else print "diff\t" p[1] "\t" p[2] "\t" st "\t" w
			}
		}' "$rf" "$cf" | sort -t $'\t' -k2,2 -k3,3)
	local n_ref n_both n_diff n_own
	n_ref=$(grep -c . <<<"$rows")
	n_both=$(grep -c '^both' <<<"$rows")
	n_diff=$(grep -c '^diff' <<<"$rows")
	n_own=$(grep -c '^own' <<<"$rows")
	printf '\n%s passes %d tests; %s passes %d of them.\n' "$ref" "$n_ref" "$cand" "$n_both"
	printf '\n%d tests %s passes and %s does not (%s status, file: test):\n' "$n_diff" "$ref" "$cand" "$cand"
	grep '^diff' <<<"$rows" | awk -F'\t' '{ printf "  %-7s %s: %s  [at %s]\n", $4, $2, $3, $5 }'
	printf "\n%d more that test runc's own name/version/help/debug strings (runc-strings.txt), not counted:\n" "$n_own"
	grep '^own' <<<"$rows" | awk -F'\t' '{ printf "  %-7s %s: %s  [at %s]\n", $4, $2, $3, $5 }'
	printf '\nacceptance: %d behaviour differences (0 needed)\n' "$n_diff"
	# And the other way round, for information.
	local extra
	extra=$(awk -F'\t' -v rf="$rf" 'FILENAME == rf { if ($1 == "ok") refok[$2 "\t" $3] = 1; next }
		$1 == "ok" && !(($2 "\t" $3) in refok) { print "  " $2 ": " $3 }' "$rf" "$cf")
	if [ -n "$extra" ]; then
		printf '\ntests %s passes and %s does not (%d):\n%s\n' "$cand" "$ref" "$(echo "$extra" | wc -l)" "$extra"
	fi
	rm -f "$skip"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
prepare) prepare ;;
run) run_suite "$@" ;;
reference) run_suite runc "$@" ;;
compare) compare "$@" ;;
summary) summary "${1:-husk}" ;;
runc-path) echo "$REF_BIN" ;;
*)
	sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
