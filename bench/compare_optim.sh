#!/bin/bash
# compare_optim.sh — one optimizer step, recur (build/bench/optim: fused
# update ops in a plan) against torch.optim (bench/optim_peer.py, default
# foreach implementation), alternately in one run, order flipped every
# repetition. Per kind: the median over repetitions of each side's per-run
# median step time, and torch/recur (> 1: recur faster).
#
# usage: bench/compare_optim.sh [--kinds "sgdm adam rmsprop adagrad"]
#          [--params 4] [--numel 1048576] [--reps 5] [--iters 30]
#          [--torch-threads 1] [--clip] [--build DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
kinds="sgdm adam rmsprop adagrad"; params=4; numel=1048576; reps=5; iters=30; tthreads=1; clip=""; build="$root/build"
while [ $# -gt 0 ]; do
    case "$1" in
        --kinds) kinds=$2; shift 2 ;; --params) params=$2; shift 2 ;; --numel) numel=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;; --iters) iters=$2; shift 2 ;; --torch-threads) tthreads=$2; shift 2 ;;
        --clip) clip="--clip"; shift ;; --build) build=$2; shift 2 ;;
        *) echo "usage: see the header of $0" >&2; exit 2 ;;
    esac
done
export OMP_WAIT_POLICY=PASSIVE
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456
out=$(mktemp)
for k in $kinds; do
    for r in $(seq "$reps"); do
        args=(--kind "$k" --params "$params" --numel "$numel" --iters "$iters" $clip)
        if [ $((r % 2)) -eq 1 ]; then
            "$build/bench/optim" "${args[@]}" >>"$out"
            /usr/bin/python3 "$here/optim_peer.py" "${args[@]}" --threads "$tthreads" >>"$out"
        else
            /usr/bin/python3 "$here/optim_peer.py" "${args[@]}" --threads "$tthreads" >>"$out"
            "$build/bench/optim" "${args[@]}" >>"$out"
        fi
    done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for k in dict.fromkeys(r["kind"] for r in rows):
    med = {s: statistics.median(r["median_s"] for r in rows if r["kind"] == k and r["side"] == s)
           for s in ("recur", "torch")}
    print(f"{k:8s} recur {med['recur']*1e3:8.2f} ms  torch {med['torch']*1e3:8.2f} ms  torch/recur {med['torch']/med['recur']:.2f}")
PY
echo "raw: $out"
