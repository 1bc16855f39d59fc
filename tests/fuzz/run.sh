#!/usr/bin/env bash
# make fuzz: runs each Go fuzz target of husk (every `func FuzzXxx(f
# *testing.F)` outside tests/) for FUZZTIME, one after the other, since
# `go test -fuzz` takes one target per invocation.
#
#   FUZZTIME  how long each target runs (default 30s; "10000x" counts inputs)
#   FUZZ      only targets whose name matches this extended regexp
#   GO        the go command (default: go)
#
# A failing input is written to testdata/fuzz/<Target>/ in the target's
# package: fix the bug and commit that file as the regression seed.
set -euo pipefail

cd "$(dirname "$0")/../.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
FUZZ=${FUZZ:-.}
TIMEOUT=${TIMEOUT:-20m}
# As the Makefile builds husk: the same JSON engine as the binary.
export GOEXPERIMENT=jsonv2

# The targets write their inputs to files (config.json, state.json, passwd,
# cgroup files) thousands of times a second; on a disk mounted with
# discard every truncate is a discard request, slowing them a hundredfold.
scratch=""
cleanup() { [ -n "$scratch" ] && rm -rf "$scratch"; return 0; }
trap cleanup EXIT
if [ "$(stat -fc %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
	scratch=$(mktemp -d /dev/shm/husk-fuzz.XXXXXX)
	export TMPDIR=$scratch
fi

targets=()
while read -r pkg dir; do
	case $pkg in */tests/*) continue ;; esac
	for name in $(cat "$dir"/*_test.go 2>/dev/null |
		sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(f \*testing\.F\).*/\1/p' | sort); do
		if [[ $name =~ $FUZZ ]]; then
			targets+=("$pkg $name")
		fi
	done
done < <($GO list -f '{{.ImportPath}} {{.Dir}}' ./...)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no target matches FUZZ=$FUZZ" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"; cleanup' EXIT
failed=()
start=$SECONDS
echo "fuzz: ${#targets[@]} targets, FUZZTIME=$FUZZTIME each"
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "::: fuzz $name ($pkg) for $FUZZTIME"
	set +e
	$GO test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -timeout "$TIMEOUT" "$pkg" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" -eq 0 ]; then
		continue
	fi
	# Go before 1.27 can fail a target that found nothing with "context
	# deadline exceeded" as FUZZTIME ends (golang/go#75804): a failure that
	# wrote no input is that race, not a finding.
	if ! grep -q 'Failing input written to' "$log" && grep -q 'context deadline exceeded' "$log"; then
		echo "fuzz: $name: the fuzzing deadline race of Go < 1.27 (golang/go#75804), no failing input: not counted"
		continue
	fi
	failed+=("$name")
done
echo "fuzz: ran ${#targets[@]} targets in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (failing inputs are under the packages' testdata/fuzz/)" >&2
	exit 1
fi
echo "fuzz: all targets passed"
