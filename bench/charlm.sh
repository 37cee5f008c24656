#!/bin/bash
# charlm.sh — the char-LM of issue 6 trained by recur and by the PyTorch peer
# (../shared/peers/torch_charlm.py) in the same run, alternately.
#
# Configuration (both sides): fortunes corpus (Debian package `fortunes`),
# Embedding 64 -> LSTM 256 -> Dense 256, seq 100, batch 32, Adam 2e-3
# (PyTorch epsilon 1e-8 and placement), global clipnorm 5, PyTorch's default
# initialisation, seed 1234; validation = 512 windows of 101 bytes evenly
# spaced over the last 10%, each from a zero state.
#
# For each target in --milestones (default "1000 2000 3000") recur trains up
# to it (the first from scratch, later ones with --resume from the
# checkpoint, so resuming is exercised), then `recur eval` measures the
# validation loss. Right after recur's first chunk, the PyTorch peer trains
# --torch-steps steps (default: the first milestone) in the same
# configuration, for the time per step side by side; the loss figures are
# compared with the peer's full run (results/charlm-torch.json, 3000 steps)
# and, where it reached them, with this run's.
#
# Both sides use 2 threads, OMP_WAIT_POLICY=PASSIVE and the glibc malloc
# tunables of ../shared/peers/README.md. The 2 cores are shared with other
# work: timings are noisy; the ratio of the two in the same run is the figure.
#
# usage: bench/charlm.sh [--build DIR] [--milestones "1000 2000 3000"]
#                        [--torch-steps N] [--out DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
milestones="1000 2000 3000"
out=""
torch_steps=""
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --milestones) milestones="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --torch-steps) torch_steps="$2"; shift 2 ;;
        *) echo "usage: bench/charlm.sh [--build DIR] [--milestones \"1000 2000 3000\"] [--torch-steps N] [--out DIR]" >&2; exit 2 ;;
    esac
done
peers="$root/../shared/peers"
[ -f "$peers/torch_charlm.py" ] || peers=/work/shared/peers
[ -n "$out" ] || out=$(mktemp -d /tmp/recur-charlm-XXXXXX)
mkdir -p "$out"
recur="$build/recur"
[ -x "$recur" ] || { echo "charlm.sh: $recur not built" >&2; exit 1; }

export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456

ckpt="$out/charlm.safetensors"
rm -f "$ckpt" "$out/charlm.csv"
first_m=${milestones%% *}
[ -n "$torch_steps" ] || torch_steps=$first_m
resume=""
first=1
for m in $milestones; do
    echo "== recur: train to step $m"
    "$recur" train --corpus fortunes --steps "$m" --checkpoint "$ckpt" --save-every 100000 \
        --print-every 500 --seed 1234 $resume | tee "$out/recur-train-$m.log"
    "$recur" eval "$ckpt" --corpus fortunes | tee "$out/recur-eval-$m.log"
    resume="--resume"
    if [ $first = 1 ]; then
        first=0
        echo "== pytorch: $torch_steps steps"
        /usr/bin/python3 "$peers/torch_charlm.py" --task charlm --threads 2 --steps "$torch_steps" \
            --out-dir "$out" | tee "$out/torch.log"
    fi
done

/usr/bin/python3 - "$out" "$milestones" <<'PY'
import json, re, sys, glob, os
out, ms = sys.argv[1], [int(m) for m in sys.argv[2].split()]
t = json.load(open(os.path.join(out, "charlm-torch.json")))
tv = {c["step"]: c["nats_per_char"] for c in t["val_curve"]}
ref = json.load(open("/work/shared/peers/results/charlm-torch.json"))
rv = {c["step"]: c["nats_per_char"] for c in ref["val_curve"]}
ms_recur, steps_recur = 0.0, 0
print(f"{'step':>6} {'recur':>8} {'torch(now)':>10} {'torch(ref)':>10} {'diff vs ref':>11}")
for m in ms:
    ev = open(os.path.join(out, f"recur-eval-{m}.log")).read()
    v = float(re.search(r"val ([0-9.]+) nats", ev).group(1))
    tr = open(os.path.join(out, f"recur-train-{m}.log")).read()
    g = re.search(r"trained (\d+) steps in ([0-9.]+) s", tr)
    steps_recur += int(g.group(1)); ms_recur += 1e3 * float(g.group(2))
    a, b = tv.get(m), rv.get(m)
    d = f"{100 * (v - b) / b:+.2f}%" if b else "-"
    print(f"{m:>6} {v:8.4f} {a if a else float('nan'):10.4f} {b if b else float('nan'):10.4f} {d:>11}")
    if m == ms[0]:
        r1 = 1e3 * float(g.group(2)) / int(g.group(1))
r = ms_recur / steps_recur
print(f"first chunk, adjacent in time to the PyTorch run: recur {r1:.1f} ms/step")
print(f"ms/step: recur {r:.1f}, pytorch {t['ms_per_step_mean']:.1f} (same run); "
      f"recur/pytorch = {r / t['ms_per_step_mean']:.2f}")
PY
echo "files in $out"
