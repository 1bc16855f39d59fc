#!/usr/bin/env bash
# OCI runtime-tools validation suite against husk (or any runtime in RUNTIME).
# See tests/conformance/README.md.
#
#   tests/conformance/run.sh [PROGRAM...]      # default: every program
#
# Environment:
#   RUNTIME                     runtime to test (default: <repo>/husk)
#   CONFORMANCE_TIMEOUT         seconds per validation program (default 60)
#   CONFORMANCE_RESULTS         results directory (default: tests/conformance/results/<runtime name>)
#   CONFORMANCE_KNOWN           expected-failures list (default: tests/conformance/known-failures.txt)
#   CONFORMANCE_VERBOSE=1       print every program's full TAP, not only its summary and failures
#   CONFORMANCE_RETRIES         runs again of a program with an unexpected failure (default 1);
#                               one that passes then is reported as flaky, not failed
#   HUSK_CONFORMANCE_CACHE      where the built tools are kept (default:
#                               $XDG_CACHE_HOME/husk-conformance, else /var/cache/husk-conformance
#                               for root, else ~/.cache/husk-conformance)
#
# Exit status: 0 when every failing assertion is in the expected-failures list
# and no program timed out or crashed unexpectedly; 1 otherwise; 2 on a setup
# error.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

RTT_MODULE=github.com/opencontainers/runtime-tools
# master of 2025-12-04 (runtime-spec 1.3.0); the tagged v0.9.0 (2019) no longer
# builds with a current Go.
RTT_VERSION=v0.9.1-0.20251205004911-5e639034dcdc

export PATH="$PATH:/usr/local/go/bin"
GO=${GO:-go}
TIMEOUT=${CONFORMANCE_TIMEOUT:-60}
KNOWN=${CONFORMANCE_KNOWN:-$HERE/known-failures.txt}
VERBOSE=${CONFORMANCE_VERBOSE:-0}
RETRIES=${CONFORMANCE_RETRIES:-1}

die() {
	echo "conformance: $*" >&2
	exit 2
}

[ "$(id -u)" -eq 0 ] || die "must run as root (the validation programs create containers with cgroups and namespaces)"

RUNTIME=${RUNTIME:-$REPO/husk}
RUNTIME_PATH=$(command -v "$RUNTIME" 2>/dev/null) || die "runtime $RUNTIME not found (build it with 'make husk')"
RUNTIME_PATH=$(readlink -f "$RUNTIME_PATH")
[ -x "$RUNTIME_PATH" ] || die "runtime $RUNTIME_PATH is not executable"
RUNTIME_NAME=$(basename "$RUNTIME_PATH")

if [ -n "${HUSK_CONFORMANCE_CACHE:-}" ]; then
	CACHE=$HUSK_CONFORMANCE_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
	CACHE=$XDG_CACHE_HOME/husk-conformance
else
	CACHE=/var/cache/husk-conformance
fi
TOOLS=$CACHE/runtime-tools-$RTT_VERSION

RESULTS=${CONFORMANCE_RESULTS:-$HERE/results/$RUNTIME_NAME}

now() { date +%s; }
T_START=$(now)

# ---------------------------------------------------------------------------
# 1. Build runtime-tools' validation programs and runtimetest (cached).
# ---------------------------------------------------------------------------
build_tools() {
	if [ -f "$TOOLS/.complete" ]; then
		echo "::: runtime-tools $RTT_VERSION: cached in $TOOLS"
		return 0
	fi
	echo "::: runtime-tools $RTT_VERSION: building into $TOOLS"
	mkdir -p "$CACHE" || return 1
	local tmp
	tmp=$(mktemp -d "$CACHE/build.XXXXXX") || return 1
	# Build outside any workspace, with the module's own go.mod.
	(
		set -e
		export GOWORK=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
		cd "$tmp"
		local dir
		dir=$("$GO" mod download -json "$RTT_MODULE@$RTT_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$dir" ] && [ -d "$dir" ] || { echo "go mod download gave no Dir" >&2; exit 1; }
		cp -r "$dir" src
		chmod -R u+w src
		# The proxy's zip holds only vendor/modules.txt: drop vendor/ and
		# resolve the dependencies from go.mod/go.sum.
		rm -rf src/vendor
		mkdir bin
		cd src
		"$GO" build -mod=mod -trimpath -ldflags '-s -w' -o ../bin/ ./validation/...
		CGO_ENABLED=0 "$GO" build -mod=mod -trimpath -ldflags '-s -w' -tags netgo,osusergo \
			-o ../bin/runtimetest ./cmd/runtimetest
		cd ..
		rm -rf src
		n=$(find bin -maxdepth 1 -type f ! -name runtimetest | wc -l)
		[ "$n" -gt 0 ] || { echo "no validation programs built" >&2; exit 1; }
	) || {
		rm -rf "$tmp"
		return 1
	}
	rm -rf "$TOOLS"
	mv "$tmp/bin" "$TOOLS" && rmdir "$tmp" && touch "$TOOLS/.complete"
}

T0=$(now)
build_tools || die "building runtime-tools failed"
T_BUILD=$(($(now) - T0))

ALL_PROGRAMS=()
while IFS= read -r p; do
	ALL_PROGRAMS+=("$p")
done < <(find "$TOOLS" -maxdepth 1 -type f -executable ! -name runtimetest -printf '%f\n' | LC_ALL=C sort)

if [ $# -gt 0 ]; then
	PROGRAMS=()
	for p in "$@"; do
		[ -x "$TOOLS/$p" ] || die "no validation program $p (have: ${ALL_PROGRAMS[*]})"
		PROGRAMS+=("$p")
	done
else
	PROGRAMS=("${ALL_PROGRAMS[@]}")
fi

# ---------------------------------------------------------------------------
# 2. Work directory: runtimetest and a busybox rootfs tarball. The programs
#    read both from their working directory and make their bundles in TMPDIR,
#    which is ours so that leftovers can be told from anybody else's.
# ---------------------------------------------------------------------------
rm -rf "$RESULTS"
mkdir -p "$RESULTS" || die "cannot create $RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
WORK=$(mktemp -d /tmp/husk-conformance.XXXXXX) || die "mktemp failed"
mkdir -p "$WORK/run" "$WORK/tmp"
# Bundles must be reachable by a container's mapped root (linux_uid_mappings).
chmod 0755 "$WORK" "$WORK/run"
chmod 1777 "$WORK/tmp"
cp "$TOOLS/runtimetest" "$WORK/run/runtimetest"

make_rootfs() {
	local bb=${BUSYBOX:-/bin/busybox} r=$WORK/rootfs
	[ -x "$bb" ] || { echo "no static busybox at $bb (apt-get install busybox-static)" >&2; return 1; }
	if ldd "$bb" >/dev/null 2>&1; then # ldd fails on a static binary
		echo "$bb is not statically linked (apt-get install busybox-static)" >&2
		return 1
	fi
	mkdir -p "$r"/{bin,dev,proc,sys,etc,tmp,root} || return 1
	chmod 1777 "$r/tmp"
	chmod 0700 "$r/root"
	cp "$bb" "$r/bin/busybox" || return 1
	local a
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/:/bin/false
bin:x:2:2:bin:/bin:/bin/false
nobody:x:65534:65534:nobody:/:/bin/false
EOF
	cat >"$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
tty:x:5:
users:x:100:
nogroup:x:65534:
EOF
	tar --numeric-owner --owner=0 --group=0 -C "$r" -czf "$WORK/run/rootfs-amd64.tar.gz" . || return 1
	rm -rf "$r"
}
case "$(uname -m)" in
x86_64) ;;
*) die "only amd64 is set up (the rootfs tarball is named rootfs-amd64.tar.gz)" ;;
esac
make_rootfs || die "making the rootfs failed"

# ---------------------------------------------------------------------------
# 3. Leftover detection: containers whose bundle is in our TMPDIR, cgroups
#    that appeared during the run, mounts that appeared during the run.
# ---------------------------------------------------------------------------
cgroup_dirs() {
	find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | LC_ALL=C sort
}
mount_points() {
	awk '{print $5}' /proc/self/mountinfo | LC_ALL=C sort
}
cgroup_dirs >"$WORK/cgroups.before"
mount_points >"$WORK/mounts.before"

# Containers of this run still known to the runtime: id<TAB>status<TAB>pid.
our_containers() {
	local id st
	"$RUNTIME_PATH" list -q 2>/dev/null | while IFS= read -r id; do
		[ -n "$id" ] || continue
		st=$("$RUNTIME_PATH" state "$id" 2>/dev/null) || continue
		case "$st" in
		*"\"bundle\": \"$WORK/tmp/"* | *"\"bundle\":\"$WORK/tmp/"*)
			printf '%s\t%s\t%s\n' "$id" \
				"$(printf '%s' "$st" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p' | head -n1)" \
				"$(printf '%s' "$st" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n1)"
			;;
		esac
	done
}

# Cgroups made during the run by this run's containers and left behind:
# the validation programs' fixed paths (/cgrouptest, testdir/cgrouptest/...
# relative to the runtime's own cgroup) and the default per-container paths,
# which end in the container id (a UUID here). Other new cgroups (somebody
# else's) are not touched. What is still in one of ours can only be a process
# of this run's containers: it is killed, then the cgroup removed (a stale
# cgroup could change the next program's results: the paths are fixed).
OURS_RE='(^|/)(cgrouptest|testdir)(/|$)|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
clean_cgroups() {
	local prog=$1 cg pid
	cgroup_dirs | LC_ALL=C comm -13 "$WORK/cgroups.before" - |
		sed 's|^/sys/fs/cgroup/||' | grep -E "$OURS_RE" | sed 's|^|/sys/fs/cgroup/|' >"$WORK/cgroups.new"
	[ -s "$WORK/cgroups.new" ] || return 0
	while IFS= read -r cg; do
		[ -f "$cg/cgroup.procs" ] || continue
		while read -r pid; do
			[ -n "$pid" ] || continue
			echo "$prog: killing pid $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-60)) in $cg" >>"$LEFTOVERS"
			kill -9 "$pid" 2>/dev/null
		done <"$cg/cgroup.procs"
	done <"$WORK/cgroups.new"
	# One line per path, with the hierarchies it was left in.
	awk -v p="$prog" '{
		sub(/^\/sys\/fs\/cgroup\//, ""); h = $0; sub(/\/.*/, "", h); r = substr($0, length(h) + 1)
		if (!(r in hs)) order[n++] = r
		hs[r] = hs[r] (hs[r] == "" ? "" : ",") h
	} END { for (i = 0; i < n; i++) print p ": cgroup left behind (removed): " order[i] " in " hs[order[i]] }' \
		"$WORK/cgroups.new" >>"$LEFTOVERS"
	sleep 0.2
	sort -r "$WORK/cgroups.new" | while IFS= read -r cg; do
		rmdir "$cg" 2>/dev/null || echo "$prog:   could not remove $cg" >>"$LEFTOVERS"
	done
}

# After each program: delete --force what it left behind; log it.
LEFTOVERS=$RESULTS/leftovers.txt
: >"$LEFTOVERS"
clean_after() {
	local prog=$1 id status pid
	while IFS=$'\t' read -r id status pid; do
		[ -n "$id" ] || continue
		echo "$prog: container $id ($status, pid ${pid:-?}) left behind; delete --force" >>"$LEFTOVERS"
		"$RUNTIME_PATH" delete --force "$id" >/dev/null 2>&1 ||
			echo "$prog: delete --force $id failed" >>"$LEFTOVERS"
	done < <(our_containers)
	# Bundles the program did not remove (its own Clean() normally does),
	# and mounts left in them (a container without a mount namespace).
	local b
	for b in "$WORK"/tmp/*; do
		[ -e "$b" ] || continue
		if awk -v b="$b" '$5 == b || index($5, b "/") == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
			echo "$prog: mounts left under $b:" >>"$LEFTOVERS"
			awk -v b="$b" '$5 == b || index($5, b "/") == 1 { print $5 }' /proc/self/mountinfo | sort -ru |
				while IFS= read -r m; do
					echo "  umount $m" >>"$LEFTOVERS"
					umount -l "$m" 2>/dev/null
				done
		fi
		if awk -v b="$b" '$5 == b || index($5, b "/") == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
			echo "$prog: still mounted under $b, not removed" >>"$LEFTOVERS"
		else
			rm -rf --one-file-system "$b" 2>/dev/null
		fi
	done
	clean_cgroups "$prog"
}

# ---------------------------------------------------------------------------
# 4. Run the programs.
# ---------------------------------------------------------------------------
# parse_tap FILE -> lines "STATUS<TAB>NUM<TAB>DESCRIPTION" on stdout, STATUS in
# ok, notok, skip, todo; and a line "plan<TAB>N" for each plan seen.
# Only top-level TAP lines count: runtimetest's own TAP, when a program
# reports it inside a YAML diagnostic, is indented.
parse_tap() {
	awk '
	/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); n = $0; sub(/[^0-9].*/, "", n); print "plan\t" n; next }
	/^(not )?ok( |$)/ {
		results++
		st = "ok"; line = $0
		if (line ~ /^not ok/) { st = "notok"; sub(/^not ok ?/, "", line) } else { sub(/^ok ?/, "", line) }
		num = line; sub(/[^0-9].*/, "", num); sub(/^[0-9]+ ?/, "", line)
		sub(/^- /, "", line)
		dir = ""
		if (match(line, / # (SKIP|skip|TODO|todo)/)) {
			dir = toupper(substr(line, RSTART + 3, 4)); line = substr(line, 1, RSTART - 1)
		} else if (line ~ /^# (SKIP|skip|TODO|todo)/) {
			dir = toupper(substr(line, 3, 4)); line = ""
		}
		if (dir == "SKIP") st = "skip"
		else if (dir == "TODO") st = "todo"
		print st "\t" num "\t" line
		next
	}
	# Some programs (the hook tests) report a failure only as a YAML
	# diagnostic with an "error" and no assertion: a YAML block before any
	# result line is such a report.
	/^  ---/ { yaml = 1; next }
	/^  \.\.\./ { yaml = 0; next }
	yaml && !results && /^    "error": "/ {
		m = $0; sub(/^    "error": "/, "", m); sub(/(\\n|",?$).*/, "", m)
		print "perr\t0\t(error) " m
	}' "$1"
}

# match_failures FAILS UNEXPECTED MATCHED: compare the failures of FAILS with
# the expected-failures list. FAILS has a pair of lines per failed assertion
# ("program: description", "program: #N"), which is expected if either
# matches, and single lines for program-level failures. known-failures.txt
# holds "program: description" (exact), "program: #N" or "program: N",
# "program: prefix*", or a program-level "(timeout)", "(exit status)",
# "(plan)", "(error) MESSAGE"; lines starting with # are comments.
match_failures() {
	: >"$2"
	: >"$3"
	awk -v unexpected="$2" -v matched="$3" -v known="$KNOWN" '
	BEGIN {
		while ((getline k < known) > 0) {
			if (k ~ /^[[:space:]]*(#|$)/) continue
			sub(/[[:space:]]+$/, "", k)
			if (k ~ /: [0-9]+$/) sub(/: /, ": #", k)
			if (k ~ /\*$/) pre[substr(k, 1, length(k) - 1)] = k; else exact[k] = k
		}
	}
	function match_key(s,    p) {
		if (s in exact) return exact[s]
		for (p in pre) if (index(s, p) == 1) return pre[p]
		return ""
	}
	function single(s,    m) {
		m = match_key(s)
		if (m == "") print s >> unexpected; else print m >> matched
	}
	{
		if ($0 ~ /: #[0-9]+$/ && havedesc) {
			m = match_key(desc); if (m == "") m = match_key($0)
			if (m == "") print desc "   (" substr($0, index($0, ": #") + 2) ")" >> unexpected
			else print m >> matched
			havedesc = 0
			next
		}
		if (havedesc) single(desc)
		desc = $0; havedesc = 1
	}
	END { if (havedesc) single(desc) }' "$1"
}

# run_program PROG: run it once, parse its TAP, write $RESULTS/PROG.* and set
# ok notok skip todo rc note dur for the summary line.
run_program() {
	local prog=$1 tap=$RESULTS/$1.tap err=$RESULTS/$1.stderr parsed=$RESULTS/$1.parsed fails=$RESULTS/$1.fails
	local ps plan nres perr
	ps=$(date +%s.%N)
	# timeout(1) puts itself and the program in a process group of their own
	# and signals the whole group: the program and the runtime processes it
	# started. Container processes are cleaned below with delete --force.
	(cd "$WORK/run" && exec env TMPDIR="$WORK/tmp" RUNTIME="$RUNTIME_PATH" \
		timeout -k 10 "$TIMEOUT" "$TOOLS/$prog") </dev/null >"$tap" 2>"$err"
	rc=$?
	dur=$(awk -v a="$ps" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	clean_after "$prog"

	parse_tap "$tap" >"$parsed"
	read -r ok notok skip todo plan nres perr < <(awk -F'\t' '
		$1 == "plan" { plan += $2; next }
		$1 == "perr" { perr++; next }
		{ c[$1]++; n++ }
		END { printf "%d %d %d %d %d %d %d\n", c["ok"], c["notok"], c["skip"], c["todo"], plan, n, perr }' "$parsed")

	# Program-level failures are pseudo-assertions in parentheses.
	note=""
	: >"$fails"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		note="TIMEOUT after ${TIMEOUT}s"
		echo "$prog: (timeout)" >>"$fails"
		echo "$prog$([ "$try" -gt 0 ] && echo " (retry $try)")" >>"$TIMEOUTS"
	elif [ "$rc" -ne 0 ]; then
		note="exit status $rc"
		echo "$prog: (exit status)" >>"$fails"
	fi
	if [ "$perr" -gt 0 ]; then
		note="${note:+$note, }error reported without an assertion"
		awk -F'\t' -v p="$prog" '$1 == "perr" { print p ": " $3 }' "$parsed" >>"$fails"
	elif [ "$nres" -eq 0 ] && [ "$rc" -eq 0 ]; then
		# The hook tests print a bare "1..0" and the *_fail tests print
		# nothing when all went well: they report errors only.
		note="${note:+$note, }no assertions, exit 0: passed"
	fi
	if [ "$rc" -eq 0 ] && [ "$nres" -gt 0 ] && [ "$plan" -ne "$nres" ]; then
		note="${note:+$note, }planned $plan, ran $nres"
		echo "$prog: (plan)" >>"$fails"
	fi
	awk -F'\t' -v p="$prog" '$1 == "notok" || $1 == "todo" { print p ": " $3; print p ": #" $2 }' \
		"$parsed" >>"$fails"
	match_failures "$fails" "$RESULTS/$prog.unexpected" "$RESULTS/$prog.matched"

	printf '%-34s %4d ok %3d not ok %3d skip %5ss%s\n' "$prog" "$ok" "$notok" "$skip" "$dur" "${note:+  [$note]}"
	if [ "$VERBOSE" = 1 ]; then
		sed 's/^/    /' "$tap"
	else
		# Each "not ok" with the diagnostics that follow it (YAML block
		# or "# " lines), long lines cut.
		awk '
			/^not ok/ { show = 1; n = 0; print "    " $0; next }
			/^(ok|1\.\.)/ { show = 0; next }
			show && n < 20 && /^(  |#)/ { n++; print "    " substr($0, 1, 300) }
		' "$tap"
		awk -F'\t' '$1 == "perr" { print "    " $3 }' "$parsed"
	fi
	if { [ "$rc" -ne 0 ] || [ "$notok" -gt 0 ] || [ "$perr" -gt 0 ]; } && [ -s "$err" ]; then
		echo "    stderr (last 15 lines):"
		tail -n 15 "$err" | sed 's/^/      /'
	fi
	if [ -s "$RESULTS/$prog.unexpected" ]; then
		echo "    unexpected:"
		sed 's/^/      /' "$RESULTS/$prog.unexpected"
	fi
}

echo "::: runtime: $RUNTIME_PATH ($("$RUNTIME_PATH" --version 2>/dev/null | head -n1))"
echo "::: ${#PROGRAMS[@]} programs, ${TIMEOUT}s each at most, $RETRIES retry for unexpected failures; results in $RESULTS"

SUMMARY=$RESULTS/summary.txt
TIMEOUTS=$RESULTS/timeouts.txt
FLAKY=$RESULTS/flaky.txt
UNEXPECTED=$RESULTS/unexpected.txt
: >"$SUMMARY"
: >"$TIMEOUTS"
: >"$FLAKY"
: >"$UNEXPECTED"
: >"$WORK/matched"
TOT_OK=0 TOT_NOTOK=0 TOT_SKIP=0 TOT_TODO=0
T0=$(now)
for prog in "${PROGRAMS[@]}"; do
	try=0
	run_program "$prog"
	# A program with an unexpected failure runs again (suite races: a signal
	# sent before the container's shell set its trap...). Passing then, it is
	# reported as flaky; the first attempt's files are kept as PROG.try1.*.
	while [ -s "$RESULTS/$prog.unexpected" ] && [ "$try" -lt "$RETRIES" ]; do
		try=$((try + 1))
		for f in tap stderr parsed fails unexpected matched; do
			mv "$RESULTS/$prog.$f" "$RESULTS/$prog.try$try.$f"
		done
		echo "    -> unexpected failure: running $prog again (retry $try of $RETRIES)"
		run_program "$prog"
		if [ ! -s "$RESULTS/$prog.unexpected" ]; then
			sed "s/^$prog: /$prog (passed on retry $try): /" "$RESULTS/$prog.try$try.unexpected" >>"$FLAKY"
		fi
	done
	printf '%-34s %4d ok %3d not ok %3d skip %5ss%s\n' "$prog" "$ok" "$notok" "$skip" "$dur" "${note:+  [$note]}" >>"$SUMMARY"
	TOT_OK=$((TOT_OK + ok)) TOT_NOTOK=$((TOT_NOTOK + notok)) TOT_SKIP=$((TOT_SKIP + skip)) TOT_TODO=$((TOT_TODO + todo))
	cat "$RESULTS/$prog.unexpected" >>"$UNEXPECTED"
	cat "$RESULTS/$prog.matched" >>"$WORK/matched"
done
cat "$RESULTS"/*.fails >"$RESULTS/failures.txt" 2>/dev/null
T_RUN=$(($(now) - T0))

# ---------------------------------------------------------------------------
# 5. Leftovers after the whole run: mounts that appeared under our work
#    directory, containers still there.
# ---------------------------------------------------------------------------
mount_points >"$WORK/mounts.after"
LC_ALL=C comm -13 "$WORK/mounts.before" "$WORK/mounts.after" | grep -F "$WORK/" >"$WORK/mounts.new"
if [ -s "$WORK/mounts.new" ]; then
	sed 's/^/mount left behind: /' "$WORK/mounts.new" >>"$LEFTOVERS"
fi
# Anything still known to the runtime with a bundle of ours.
clean_after "(end of run)"

# ---------------------------------------------------------------------------
# 6. Expected failures that did not fail (of the programs that ran).
# ---------------------------------------------------------------------------
STALE=$RESULTS/stale-known-failures.txt
ran_re=$(printf '%s\n' "${PROGRAMS[@]}" | sed 's/[][\.*^$]/\\&/g' | paste -sd'|')
grep -vE '^[[:space:]]*(#|$)' "$KNOWN" | sed 's/[[:space:]]*$//; s/: \([0-9][0-9]*\)$/: #\1/' | grep -E "^($ran_re): " |
	LC_ALL=C sort -u | LC_ALL=C comm -23 - <(LC_ALL=C sort -u "$WORK/matched") >"$STALE"

# ---------------------------------------------------------------------------
# 7. Report.
# ---------------------------------------------------------------------------
echo
echo "::: totals ($RUNTIME_NAME): $TOT_OK ok, $TOT_NOTOK not ok, $TOT_SKIP skipped$([ "$TOT_TODO" -gt 0 ] && echo ", $TOT_TODO todo") in ${#PROGRAMS[@]} programs"
echo "::: time: build ${T_BUILD}s, run ${T_RUN}s, total $(($(now) - T_START))s"
if [ -s "$TIMEOUTS" ]; then
	echo "::: programs that timed out (hung; killed after ${TIMEOUT}s):"
	sed 's/^/    /' "$TIMEOUTS"
fi
if [ -s "$LEFTOVERS" ]; then
	echo "::: leftovers (cleaned):"
	sed 's/^/    /' "$LEFTOVERS"
fi
if [ -s "$FLAKY" ]; then
	echo "::: flaky: unexpected failures that passed when run again (not counted as failures):"
	sed 's/^/    /' "$FLAKY"
fi
if [ -s "$STALE" ]; then
	echo "::: expected failures that passed this time (runc-only or flaky ones; stale if they never fail):"
	sed 's/^/    /' "$STALE"
fi
nexp=$(wc -l <"$WORK/matched")
nunexp=$(wc -l <"$UNEXPECTED")
rm -rf --one-file-system "$WORK"
if [ "$nunexp" -gt 0 ]; then
	echo "::: $nunexp UNEXPECTED failures (not in $(basename "$KNOWN")):"
	sed 's/^/    /' "$UNEXPECTED"
else
	echo "::: no unexpected failures ($nexp expected failures)"
fi
# Expected failures are counted as skipped.
echo "conformance: $TOT_OK passed, $nunexp failed, $((TOT_SKIP + nexp)) skipped"
[ "$nunexp" -eq 0 ]
