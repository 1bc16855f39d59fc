#!/usr/bin/env bash
# make bench: build husk and the bench driver, then compare husk with runc
# (and crun, when it is installed and works on this host).
# Environment: BENCH_N (iterations, default 50), BENCH_JSON (where the
# results go as JSON, default bench-result.json in the repository),
# BENCH_CRI=0 (skip the CRI exec timing). Extra arguments go to the
# driver, e.g. `bash contrib/bench/bench.sh -crun '' -busy=false`; see -h.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: must run as root (try: sudo make bench)" >&2
	exit 1
fi

cd "$repo"
make --no-print-directory husk

tmp="$(mktemp -d /tmp/husk-benchbin.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench" ./contrib/bench

"$tmp/bench" -n "${BENCH_N:-50}" -husk "$repo/husk" -json "${BENCH_JSON:-$repo/bench-result.json}" "$@"

# exec through Kubernetes' path (containerd's CRI plugin, crictl exec, the
# shim running `<runtime> exec`), husk vs runc: the call liveness and
# readiness probes make every few seconds in every pod. It needs
# containerd and builds crictl (tests/cri); BENCH_CRI=0 skips it.
if [ "${BENCH_CRI:-1}" != 0 ]; then
	echo
	echo "bench: exec through the CRI (tests/cri TestExecLatency, as make cri-bench)"
	make --no-print-directory cri-bench CRI_BENCH_N="${BENCH_N:-50}" |
		sed -n '/^crictl exec/,/^$/p'
fi
