#!/bin/bash
# kann_config.sh — issue 18's KANN textgen configuration (LSTM 128, unroll
# 70, minibatch 64, RMSprop, 114-symbol alphabet) timed per minibatch:
#   recur train --corpus F --ints --cell lstm --units 128 --embed 114 --seq 70
#               --batch 64 --optimizer rmsprop --lr 1e-2 --clipnorm 10
# on Debian's fortunes mapped to 114 symbol ids (bench/kann_corpus.py).
# Time per minibatch = (wall time of a LONG-step run - a SHORT-step run) /
# (LONG - SHORT), so start-up, corpus parsing and the final evaluation
# cancel.
#
# Sides, run alternately in one run (the order rotates every repetition so
# drift in the machine's load hits all alike), medians over repetitions:
#   new   --recur BIN (build/recur)
#   base  --base BIN: a previous recur binary (before/after mode), optional
#   torch --torch: the same model in PyTorch (bench/kann_torch.py), optional,
#         on --torch-threads N (1: on this 2-core machine torch 1.13 ran this
#         configuration 2.2x slower on 2 threads than on 1)
# Ratios printed: base/new (speed-up) and torch/new, of wall time and of CPU
# time (user + system, all threads; the figure to trust on a loaded machine).
#
# usage: bench/kann_config.sh [--recur BIN] [--base BIN] [--torch] [--torch-threads 1] [--reps 3]
#            [--long 125] [--short 5] [--threads N] [--corpus FILE.ints]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
recur="$root/build/recur" base="" torch=0 tthreads=1 reps=3 long=125 short=5 threads="" corpus=""
while [ $# -gt 0 ]; do
    case "$1" in
        --recur) recur="$2"; shift 2 ;;
        --base) base="$2"; shift 2 ;;
        --torch) torch=1; shift ;;
        --torch-threads) tthreads="$2"; shift 2 ;;
        --reps) reps="$2"; shift 2 ;;
        --long) long="$2"; shift 2 ;;
        --short) short="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --corpus) corpus="$2"; shift 2 ;;
        *) echo "usage: bench/kann_config.sh [--recur BIN] [--base BIN] [--torch] [--torch-threads N] [--reps N] [--long N] [--short N] [--threads N] [--corpus FILE]" >&2; exit 2 ;;
    esac
done
[ "$long" -gt "$short" ] || { echo "kann_config.sh: --long must exceed --short" >&2; exit 2; }
out=$(mktemp -d /tmp/recur-kann-XXXXXX)
if [ -z "$corpus" ]; then corpus="$out/fortunes114.ints"; "$here/kann_corpus.py" "$corpus" >/dev/null; fi
# the environment of bench/compare.sh: OpenBLAS picks its own core
unset OPENBLAS_CORETYPE
export OMP_WAIT_POLICY=PASSIVE
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456
targs=()
[ -n "$threads" ] && targs=(--threads "$threads")

# timed CMD... -> "wall_s cpu_s" of the child (cpu = user + system of all
# its threads: on a loaded machine wall time mostly measures the other
# users, CPU time what the program itself spent)
timed() {
    /usr/bin/python3 -c '
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
if status: sys.exit(open(sys.argv[1]).read() + "failed: " + " ".join(sys.argv[2:]))
print(wall, ru.ru_utime + ru.ru_stime)' "$@"
}
run_recur() { # BIN STEPS
    timed "$out/recur.out" "$1" train --corpus "$corpus" --ints --cell lstm --units 128 --embed 114 --seq 70 \
        --batch 64 --optimizer rmsprop --lr 1e-2 --clipnorm 10 --steps "$2" --log "$out/log.csv" \
        --plot "$out/log.svg" --print-every 100000 "${targs[@]}"
}
run_torch() { # STEPS
    OMP_NUM_THREADS="$tthreads" OPENBLAS_NUM_THREADS="$tthreads" timed "$out/torch.out" \
        /usr/bin/python3 "$here/kann_torch.py" --corpus "$corpus" --steps "$1" --threads "$tthreads"
}
per_mb() { # side -> "wall_ms cpu_ms" per minibatch
    local a b
    case "$1" in
        new) a=$(run_recur "$recur" "$short"); b=$(run_recur "$recur" "$long") ;;
        base) a=$(run_recur "$base" "$short"); b=$(run_recur "$base" "$long") ;;
        torch) a=$(run_torch "$short"); b=$(run_torch "$long") ;;
    esac
    /usr/bin/python3 -c "import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); \
print(*(1000 * (float(y) - float(x)) / ($long - $short) for x, y in zip(a, b)))" "$a" "$b"
}
sides=(new)
[ -n "$base" ] && sides+=(base)
[ "$torch" = 1 ] && sides+=(torch)
n=${#sides[@]}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$reps"); do
    line="rep $r:"
    for k in $(seq 0 $((n - 1))); do
        s=${sides[$(( (k + r - 1) % n ))]}
        v=$(per_mb "$s")
        echo "$s $v" >> "$out/times"
        line="$line $s $(printf '%.1f ms (cpu %.1f ms)' $v)"
    done
    echo "$line  load $(cut -d' ' -f1 /proc/loadavg)"
done
/usr/bin/python3 - "$out/times" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    s, w, c = line.split()
    t.setdefault(s, []).append((float(w), float(c)))
for k, what in ((0, "wall"), (1, "cpu")):
    m = {s: statistics.median(x[k] for x in v) for s, v in t.items()}
    r = [f"{s} {m[s]:.1f}" for s in m]
    if "base" in m: r.append(f"base/new {m['base'] / m['new']:.2f}")
    if "torch" in m: r.append(f"torch/new {m['torch'] / m['new']:.2f}")
    print(f"median {what} ms/minibatch: " + ", ".join(r))
PY
echo "files in $out"
