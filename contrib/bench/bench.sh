#!/usr/bin/env bash
# make bench: build husk and the bench driver, then compare husk with runc
# (and crun, when it is installed and works on this host).
# Environment: BENCH_N (iterations, default 50). Extra arguments go to the
# driver, e.g. `bash contrib/bench/bench.sh -crun ''`; see -h.
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

"$tmp/bench" -n "${BENCH_N:-50}" -husk "$repo/husk" "$@"
