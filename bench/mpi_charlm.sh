#!/bin/bash
# mpi_charlm.sh — data-parallel throughput of the char LSTM of the demo
# (Embedding 64 -> LSTM 256 -> Dense 256, batch 32 x seq 100, Adam, clip
# 5), recur and the PyTorch DDP peer (../shared/peers/torch_ddp_charlm.py,
# gloo) in the same run, ROUNDS rounds of:
#   recur  1 rank  x 1 thread      recur  2 ranks x 1 thread (mpirun)
#   recur  1 rank  x 2 threads     torch  1 proc  x 1 thread
#   torch  2 procs x 1 thread (DDP, gloo)
#   bound  2 independent processes, one per core (taskset), each training
#          on half the global batch (--batch 16), no MPI at all: the step
#          time of the slower one is what 2 ranks could reach if
#          communication cost nothing (the ceiling the 2-rank run is held
#          to by the machine: two cores of a VM are not two identical,
#          independent cores)
# the order rotated every round so drift in the machine's load hits all
# alike. recur's figure per run is the median step time over its steps
# (from the CSV log's elapsed times, window sampling included); torch's is
# its JSON's ms_per_step_median (between barriers). Tokens/s = 3200 / that.
# For the 2-rank runs it also prints the fraction of the step spent
# waiting for the allreduce (recur train's "allreduce:" line).
#
# usage: bench/mpi_charlm.sh [--build DIR] [--steps 40] [--rounds 2]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build" steps=40 rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --steps) steps="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "usage: bench/mpi_charlm.sh [--build DIR] [--steps N] [--rounds N]" >&2; exit 2 ;;
    esac
done
peers="$root/../shared/peers"
[ -f "$peers/torch_ddp_charlm.py" ] || peers=/work/shared/peers
out=$(mktemp -d /tmp/recur-mpi-charlm-XXXXXX)
export OMP_WAIT_POLICY=PASSIVE
# OpenBLAS picks its kernels for the CPU (Cooperlake, AVX-512 here) unless
# told otherwise; this sandbox exports OPENBLAS_CORETYPE=Haswell, which
# slows both peers (~1.4x) and would make the figures incomparable.
unset OPENBLAS_CORETYPE
mpirun="mpirun --allow-run-as-root --oversubscribe --bind-to core"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

r1() { "$build/recur" train --corpus fortunes --steps "$steps" --threads 1 --log "$out/r1-$1.csv" \
           --print-every 1000000 > "$out/r1-$1.log"; }
r2() { $mpirun -np 2 "$build/recur" train --corpus fortunes --steps "$steps" --threads 1 --log "$out/r2-$1.csv" \
           --print-every 1000000 > "$out/r2-$1.log"; }
rt() { "$build/recur" train --corpus fortunes --steps "$steps" --threads 2 --replicas 1 --log "$out/rt-$1.csv" \
           --print-every 1000000 > "$out/rt-$1.log"; }
t1() { OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$peers/torch_ddp_charlm.py" --procs 1 \
           --threads 1 --steps "$steps" > "$out/t1-$1.json"; }
t2() { OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$peers/torch_ddp_charlm.py" --procs 2 \
           --threads 1 --steps "$steps" > "$out/t2-$1.json"; }
c2() { taskset -c 0 "$build/recur" train --corpus fortunes --steps "$steps" --threads 1 --batch 16 \
           --log "$out/c2a-$1.csv" --print-every 1000000 > "$out/c2a-$1.log" &
      taskset -c 1 "$build/recur" train --corpus fortunes --steps "$steps" --threads 1 --batch 16 \
           --log "$out/c2b-$1.csv" --print-every 1000000 > "$out/c2b-$1.log"
      wait; }
runs=(r1 r2 rt t1 t2 c2)
for r in $(seq 1 "$rounds"); do
    for k in 0 1 2 3 4 5; do
        f=${runs[$(( (k + r - 1) % 6 ))]}
        $f "$r"
    done
    echo "round $r done (load $(cut -d' ' -f1 /proc/loadavg))"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import csv, json, re, statistics, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
def recur_ms(f):
    rows = [x for x in csv.DictReader(open(f)) if x["loss"]]
    e = [0.0] + [float(x["elapsed_s"]) for x in rows]
    return statistics.median(1e3 * (b - a) for a, b in zip(e, e[1:]))
names = {"r1": "recur 1 rank x 1 thread", "r2": "recur 2 ranks x 1 thread", "rt": "recur 1 rank x 2 threads",
         "t1": "torch 1 proc x 1 thread", "t2": "torch DDP 2 procs x 1 thread",
         "c2": "bound: 2 x batch 16, no MPI"}
ms = {k: [] for k in names}
wait = []
for r in range(1, rounds + 1):
    for k in ("r1", "r2", "rt"):
        ms[k].append(recur_ms(os.path.join(out, f"{k}-{r}.csv")))
    m = re.search(r"allreduce: ([0-9.]+)% of the step", open(os.path.join(out, f"r2-{r}.log")).read())
    if m: wait.append(float(m.group(1)))
    ms["c2"].append(max(recur_ms(os.path.join(out, f"c2{x}-{r}.csv")) for x in "ab"))
    for k in ("t1", "t2"):
        ms[k].append(json.load(open(os.path.join(out, f"{k}-{r}.json")))["ms_per_step_median"])
med = {k: statistics.median(v) for k, v in ms.items()}
print(f"{'configuration':32s} {'ms/step':>9s} {'tokens/s':>9s}  per round")
for k, n in names.items():
    print(f"{n:32s} {med[k]:9.1f} {3200 / med[k] * 1e3:9.0f}  " + " ".join(f"{x:.1f}" for x in ms[k]))
print(f"recur 2 ranks / 1 rank (throughput): {med['r1'] / med['r2']:.2f}x")
print(f"bound (2 x half batch, no MPI) / 1:  {med['r1'] / med['c2']:.2f}x   (2 ranks reach {med['c2'] / med['r2'] * 100:.0f}% of it)")
print(f"recur 1 rank x 2 threads / 1 x 1:    {med['r1'] / med['rt']:.2f}x")
print(f"torch DDP 2 procs / 1 proc:          {med['t1'] / med['t2']:.2f}x")
print(f"recur 2 ranks step time / torch DDP 2 procs step time: {med['r2'] / med['t2']:.2f}")
if wait: print(f"recur 2 ranks: allreduce wait {statistics.median(wait):.1f}% of the step time (per round: "
               + ", ".join(f"{w:.1f}%" for w in wait) + ")")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "files in $out"
