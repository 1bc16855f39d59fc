#!/bin/bash
# tests/v2vm/suite.sh - in the guest: the cgroup v2 test suite that
# `make v2vm-test` runs. Expects the binaries built on the host in
# $V2VM_BUILD (husk, cgroups.test, integration.test, helper, clients.test);
# the guest needs no Go toolchain.
#   V2VM_RUN       -test.run pattern for the integration tests
#                  (Cgroup|Lifecycle|Run[^c]|Systemd|AppArmor|Checkpoint|Fallback)
#   V2VM_PARALLEL  their -test.parallel (default: Go's, the guest's vCPU count;
#                  more makes tests with 10 s waits time out under emulation)
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${V2VM_BUILD:?set V2VM_BUILD to the directory of the host-built binaries}
log=$(mktemp /tmp/v2vm-suite.XXXXXX)
results=()
failed=0

step() { # name dir command...
	local name=$1 dir=$2 t0 rc
	shift 2
	echo "=== v2vm step: $name"
	t0=$(date +%s)
	(cd "$dir" && "$@") 2>&1 | tee -a "$log"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || failed=$((failed + 1))
	results+=("$(printf '%-22s %s (exit %s, %ss)' "$name" "$([ "$rc" = 0 ] && echo ok || echo FAILED)" "$rc" $(($(date +%s) - t0)))")
}

step "cgroups unit tests" "$repo/libcontainer/cgroups" \
	"$build/cgroups.test" -test.v -test.count=1 -test.timeout=10m
step "husk run smoke" "$repo" \
	env RUNTIME="$build/husk" "$repo/tests/v2vm/husk-smoke.sh"
# The CRIU scripts take about 2.5 minutes and don't depend on what PID 1
# is: CI runs them in the plain guest only (the Checkpoint integration
# tests run in both). V2VM_CRIU=1 runs them under systemd too.
if [ ! -d /run/systemd/system ] || [ "${V2VM_CRIU:-}" = 1 ]; then
	step "criu smoke" "$repo" \
		"$repo/tests/v2vm/criu-smoke.sh"
	step "husk checkpoint" "$repo" \
		env RUNTIME="$build/husk" "$repo/tests/v2vm/husk-checkpoint.sh"
	step "podman checkpoint" "$repo" \
		env RUNTIME="$build/husk" "$repo/tests/v2vm/podman-checkpoint.sh"
fi
step "integration tests" "$repo/tests/integration" \
	env RUNTIME="$build/husk" HUSK_HELPER="$build/helper" HUSK_REQUIRE_APPARMOR=1 "$build/integration.test" -test.v -test.count=1 \
	-test.timeout=30m ${V2VM_PARALLEL:+-test.parallel="$V2VM_PARALLEL"} -test.run "${V2VM_RUN:-Cgroup|Lifecycle|Run[^c]|Systemd|AppArmor|Checkpoint|Fallback}"

# Rootless podman with husk: with systemd, the user's instance manages
# the container's cgroup and --memory must reach it.
step "rootless podman" "$repo/tests/clients" \
	env RUNTIME="$build/husk" "$build/clients.test" -test.v -test.count=1 -test.timeout=10m -test.run 'TestPodmanRootless'

pass=$(grep -cE '^ *--- PASS|^(husk|criu)-smoke: PASS|^(husk|podman)-checkpoint: PASS' "$log")
fail=$(grep -cE '^ *--- FAIL|^(husk|criu)-smoke: FAIL|^(husk|podman)-checkpoint: FAIL' "$log")
skip=$(grep -cE '^ *--- SKIP' "$log")
echo "=== v2vm summary (cgroup v2 only guest)"
printf '  %s\n' "${results[@]}"
grep -E '^ *--- FAIL' "$log" | sed 's/^ */  failed: /' | sed 's/ (.*//'
rm -f "$log"
echo "v2vm: $pass passed, $fail failed, $skip skipped"
[ "$failed" = 0 ]
