#!/bin/bash
# fma_share.sh — issue 18's "LSTM h512 b32 training ≥ 65 % of the 2-core
# FMA peak in every one of 3 runs", measured as one run: RUNS times
# (fma_peak, the training point, fma_peak), so each run's share is taken
# against the peak of the same minutes (the host's speed drifts by tens of
# per cent between hours). The share is the matrix products' FLOPs per step
# (bench/rnn's gemm_gflop_per_step) / the step's median time / the mean of
# the two 2-thread peaks around it. With --base OLD_BUILD the previous
# binary's bench/rnn runs right after the new one in every run (a ratio of
# the same minutes). OPENBLAS_CORETYPE is unset (the AVX-512 kernels).
#
# usage: bench/fma_share.sh [--build DIR] [--base DIR] [--runs 3]
#                           [--args "bench/rnn arguments"]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build" base="" runs=3
args="--cell lstm --hidden 512 --batch 32 --mode train --threads 1 --replicas 2 --warmup 3 --iters 12"
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --base) base=$(cd "$2" && pwd); shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --args) args="$2"; shift 2 ;;
        *) echo "usage: bench/fma_share.sh [--build DIR] [--base DIR] [--runs N] [--args \"...\"]" >&2; exit 2 ;;
    esac
done
case "$runs" in '' | *[!0-9]* | 0) echo "fma_share.sh: --runs must be a positive integer" >&2; exit 2 ;; esac
unset OPENBLAS_CORETYPE
peak() { "$build/bench/fma_peak" --threads 2 | tail -n 1; }
for r in $(seq 1 "$runs"); do
    p0=$(peak)
    # shellcheck disable=SC2086
    new=$("$build/bench/rnn" $args | tail -n 1)
    old=null
    # shellcheck disable=SC2086
    [ -n "$base" ] && old=$("$base/bench/rnn" $args | tail -n 1)
    p1=$(peak)
    /usr/bin/python3 - "$r" "$p0" "$p1" "$new" "$old" <<'PY'
import json, sys
r, p0, p1, new, old = sys.argv[1], *(json.loads(a) for a in sys.argv[2:])
peak = (p0["gflops"] + p1["gflops"]) / 2
def share(x):
    gf = x["gemm_gflop_per_step"] / (x["ms_per_step_median"] / 1e3)
    return x["ms_per_step_median"], gf, 100 * gf / peak
ms, gf, pc = share(new)
line = f"run {r}: peak {p0['gflops']:.1f} / {p1['gflops']:.1f} GFLOP/s; new {ms:.2f} ms = {gf:.1f} GFLOP/s = {pc:.1f} %"
if old:
    oms, ogf, opc = share(old)
    line += f"; base {oms:.2f} ms = {opc:.1f} %; base/new {oms / ms:.3f}"
print(line, flush=True)
PY
done
