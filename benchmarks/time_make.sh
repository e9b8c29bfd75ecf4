#!/usr/bin/env bash
# Times the two README commands against their targets (5 minutes each on 2 cores), side by side
# in one run, after the environment exists:  bash benchmarks/time_make.sh [run|test|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
make --no-print-directory .venv/.installed >/dev/null
measure() {  # name target_seconds command...
    local name=$1 target=$2; shift 2
    local start end
    start=$(date +%s.%N)
    "$@" > "/tmp/time_make_$name.log" 2>&1 || { echo "$name FAILED (log: /tmp/time_make_$name.log)"; exit 1; }
    end=$(date +%s.%N)
    python3 -c "s=$end-$start; print(f'{\"$name\":<10} {s:7.1f} s   target {$target} s   ratio {s/$target:.2f}')"
}
echo "machine: $(nproc) cores, $(python3 -c 'import os; print(round(os.sysconf("SC_PAGE_SIZE")*os.sysconf("SC_PHYS_PAGES")/2**30))') GiB"
if [[ $what == run || $what == all ]]; then
    rm -rf results .snakemake
    measure "make run" 300 make run
fi
if [[ $what == test || $what == all ]]; then
    measure "make test" 300 make test
fi
