#!/bin/bash
# charlm_time.sh — time per training step of the char LSTM (the
# configuration of bench/charlm.sh), recur and the PyTorch peer alternately:
# ROUNDS rounds of (recur STEPS steps, torch STEPS steps), the order flipped
# every round so drift in the machine's load hits both sides alike. Each
# side's figure is the median over all its steps (recur: from the CSV log's
# elapsed times, i.e. window sampling included; torch: its step_times, as its
# JSON's ms_per_step_median), then the median over rounds.
# OPENBLAS_CORETYPE is unset for both sides, as issue 18 measures (this
# sandbox exports OPENBLAS_CORETYPE=Haswell: the AVX2 kernels, about 30 %
# slower for recur's step on this machine).
#
# usage: bench/charlm_time.sh [--build DIR] [--steps 200] [--rounds 2]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build" steps=200 rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --steps) steps="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "usage: bench/charlm_time.sh [--build DIR] [--steps N] [--rounds N]" >&2; exit 2 ;;
    esac
done
peers="$root/../shared/peers"
[ -f "$peers/torch_charlm.py" ] || peers=/work/shared/peers
out=$(mktemp -d /tmp/recur-charlm-time-XXXXXX)
unset OPENBLAS_CORETYPE
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456
run_recur() { "$build/recur" train --corpus fortunes --steps "$steps" --log "$out/recur-$1.csv" \
                  --print-every "$steps" > "$out/recur-$1.log"; }
run_torch() { /usr/bin/python3 "$peers/torch_charlm.py" --task charlm --threads 2 --steps "$steps" \
                  --out-dir "$out" --tag "-$1" > "$out/torch-$1.log"; }
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then run_recur "$r"; run_torch "$r"; else run_torch "$r"; run_recur "$r"; fi
    echo "round $r done"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import csv, json, statistics, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
rr, tt = [], []
for r in range(1, rounds + 1):
    rows = [x for x in csv.DictReader(open(os.path.join(out, f"recur-{r}.csv"))) if x["loss"]]
    e = [0.0] + [float(x["elapsed_s"]) for x in rows]
    rr.append(statistics.median(1e3 * (b - a) for a, b in zip(e, e[1:])))
    tt.append(json.load(open(os.path.join(out, f"charlm-torch-{r}.json")))["ms_per_step_median"])
    print(f"round {r}: recur {rr[-1]:.1f} ms/step, pytorch {tt[-1]:.1f} ms/step (medians)")
a, b = statistics.median(rr), statistics.median(tt)
print(f"recur {a:.1f} ms/step, pytorch {b:.1f} ms/step: recur/pytorch = {a / b:.2f}")
PY
echo "files in $out"
