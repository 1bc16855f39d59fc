#!/usr/bin/env bash
# make bench-v2vm: make bench's driver in the throw-away cgroup v2 guest
# (tests/v2vm/run.sh), with crun beside husk and runc. crun 1.8 refuses a
# hybrid host like the CI machine unless a v1 hugetlb hierarchy is mounted,
# which would stay visible to every process; the guest is cgroup v2 only,
# so crun runs there as is. The guest is emulated (TCG): its figures show
# the three runtimes side by side on one slow CPU, not the host's speed.
# The runtimes run from the guest's tmpfs: the repository reaches the guest
# over 9p without a page cache, where every exec reads the binary again.
# Environment: BENCH_N (iterations, default 8), BENCH_JSON (default
# bench-v2vm-result.json in the repository). Extra arguments go to the
# driver.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-v2vm: must run as root" >&2
	exit 1
fi
cd "$repo"
if ! command -v crun >/dev/null; then
	apt-get install -y crun >/dev/null
fi
make --no-print-directory husk
out=$(mktemp -d "$repo/.bench-v2vm.XXXXXX")
trap 'rm -rf "$out"' EXIT
go build -o "$out/bench" ./contrib/bench
cp husk "$out/husk"
json=${BENCH_JSON:-$repo/bench-v2vm-result.json}

cat >"$out/in-guest.sh" <<GUEST
set -e
mkdir -p /opt/bench
cp "$out/husk" "$(command -v runc)" "$(command -v crun)" /opt/bench/
"$out/bench" -n ${BENCH_N:-8} -warmup 1 -husk /opt/bench/husk -runc /opt/bench/runc -crun /opt/bench/crun \
	-busy=false -parallel 20 -parallel-rounds 1 -json "$out/result.json" $*
GUEST
HUSK_V2VM_TIMEOUT=${HUSK_V2VM_TIMEOUT:-1200} tests/v2vm/run.sh -- sh "$out/in-guest.sh"
cp "$out/result.json" "$json"
echo "results written to $json"
