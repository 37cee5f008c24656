#!/bin/bash
# compare.sh — recur (build/bench/rnn) against the PyTorch peer
# (../shared/peers/torch_rnn_bench.py), alternately, in one run.
#
# For every point and every repetition it runs, adjacent in time:
#   recur at each of --recur-threads, torch at each of --torch-threads
# (a recur entry rN: N replicas of one thread each, recur's data-parallel
# training, bench/rnn --replicas N; train points with batch / N >= 4 only)
# (the order flips every repetition so drift in the machine's load hits
# both sides alike). Each run is one process printing one JSON line; a
# side's time for a thread count is the median over repetitions of the
# per-run medians, and each side is credited with its best thread count
# (torch: the better of 1 and 2 threads, as issue 8 asks).
#
# Environment, as ../shared/peers/README.md prescribes for "PyTorch at its
# best": /usr/bin/python3 (Debian's python3-torch), OMP_WAIT_POLICY=PASSIVE,
# GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456
# for both sides. OPENBLAS_CORETYPE: --coretype asis keeps the environment's
# value (this machine sets Haswell), unset removes it (OpenBLAS picks the
# CPU's own kernel, Cooperlake/AVX-512 here), both does the whole comparison
# twice. The OpenBLAS core each side actually ran on is printed.
#
# Cell "lstm_user" runs recur's --user-cell LSTM (the built-in LSTM's math
# written as a user cell from public ops) and no torch side: its table row
# gives its time relative to recur's built-in LSTM at the same point (run
# "lstm" too). --grid is the standard grid of issue 8: cells lstm gru
# lstm_user, hidden 32 128 512, batch 1 32, train and infer, seq 50, input 64.
#
# usage: bench/compare.sh [--grid] [--cells "lstm gru"] [--hidden "128"] [--batch "32"]
#          [--seq 50] [--input 64] [--modes "train infer"] [--reps 3]
#          [--warmup 5] [--iters 20] [--recur-threads "1 2 r2"]
#          [--torch-threads "1 2"] [--coretype asis|unset|both]
#          [--build DIR] [--out FILE.jsonl]
# Run from anywhere; the raw JSON lines go to --out (default: a temp file,
# its name printed at the end).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

cells="lstm gru"
hiddens="128"
batches="32"
seq=50
input=64
modes="train infer"
reps=3
warmup=5
iters=20
recur_threads="1 2 r2"
torch_threads="1 2"
coretype=asis
build="$root/build"
out=""
peer="${TORCH_BENCH:-$root/../shared/peers/torch_rnn_bench.py}"
python=/usr/bin/python3

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --grid) cells="lstm gru lstm_user"; hiddens="32 128 512"; batches="1 32"; modes="train infer"
                seq=50; input=64; shift ;;
        --cells) cells="$2"; shift 2 ;;
        --hidden) hiddens="$2"; shift 2 ;;
        --batch) batches="$2"; shift 2 ;;
        --seq) seq="$2"; shift 2 ;;
        --input) input="$2"; shift 2 ;;
        --modes|--mode) modes="$2"; shift 2 ;;
        --reps) reps="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --iters) iters="$2"; shift 2 ;;
        --recur-threads) recur_threads="$2"; shift 2 ;;
        --torch-threads) torch_threads="$2"; shift 2 ;;
        --coretype) coretype="$2"; shift 2 ;;
        --build) build="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$coretype" in asis|unset|both) ;; *) echo "compare.sh: --coretype asis|unset|both" >&2; exit 2 ;; esac

rnn="$build/bench/rnn"
if [ ! -x "$rnn" ]; then
    echo "compare.sh: $rnn not found; build first: meson compile -C $build" >&2
    exit 1
fi
if [ ! -f "$peer" ]; then
    echo "compare.sh: peer script $peer not found (set TORCH_BENCH)" >&2
    exit 1
fi
if ! "$python" -c "import torch" 2>/dev/null; then
    echo "compare.sh: $python cannot import torch; install Debian's package:" >&2
    echo "    apt-get install -y python3-torch python3-numpy" >&2
    exit 1
fi
# run a private copy: a rebuild during the comparison must not swap binaries
tmpdir=$(mktemp -d /tmp/recur-compare-XXXXXX)
trap 'rm -rf "$tmpdir"' EXIT
cp "$rnn" "$tmpdir/rnn"
rnn="$tmpdir/rnn"
[ -n "$out" ] || out=$(mktemp /tmp/recur-compare-XXXXXX.jsonl)
: > "$out"

export OMP_WAIT_POLICY=PASSIVE
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456
# the peer sets OMP_NUM_THREADS/OPENBLAS_NUM_THREADS from --threads unless set
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
orig_coretype="${OPENBLAS_CORETYPE-}"
orig_coretype_set="${OPENBLAS_CORETYPE+x}"

# one JSON line from a run, tagged with the side, rep and coretype setting;
# a failed run is recorded as {"failed":...} and the comparison goes on
run_one() { # side tag cell hidden batch mode threads rep
    local side=$1 tag=$2 cell=$3 h=$4 b=$5 mode=$6 thr=$7 rep=$8 line
    local args=(--hidden "$h" --batch "$b" --seq "$seq" --input "$input"
                --mode "$mode" --warmup "$warmup" --iters "$iters")
    if [[ $thr == r* ]]; then
        # rN: recur's data parallelism, N replicas of one thread each (train
        # only, batch a multiple of N; skipped elsewhere)
        if [ "$side" != recur ] || [ "$mode" != train ] || (( b % ${thr#r} != 0 || b / ${thr#r} < 4 )); then return; fi
        args+=(--threads 1 --replicas "${thr#r}")
    else
        args+=(--threads "$thr")
    fi
    if [ "$side" = recur ] && [ "$cell" = lstm_user ]; then
        line=$("$rnn" --cell lstm --user-cell "${args[@]}" 2>"$tmpdir/err") || line=""
        [ -z "$line" ] || line="${line/\"cell\":\"lstm\"/\"cell\":\"lstm_user\"}"
    elif [ "$side" = recur ]; then
        line=$("$rnn" --cell "$cell" "${args[@]}" 2>"$tmpdir/err") || line=""
    else
        local tcell=$cell
        [ "$cell" = rnn ] && tcell=simple
        line=$("$python" "$peer" --cell "$tcell" "${args[@]}" 2>"$tmpdir/err") || line=""
    fi
    if [ -z "$line" ]; then
        echo "compare.sh: $side $cell h$h b$b $mode t$thr failed: $(tail -1 "$tmpdir/err")" >&2
        line="{\"failed\":true,\"cell\":\"$cell\",\"hidden\":$h,\"batch\":$b,\"mode\":\"$mode\",\"threads\":\"$thr\"}"
    fi
    printf '{"side":"%s","coretype_setting":"%s","rep":%d,"run":%s}\n' "$side" "$tag" "$rep" "$line" >> "$out"
}

# OpenBLAS core as each side sees it
cores() { # tag
    local rc tc
    rc=$("$rnn" --cell rnn --hidden 2 --batch 1 --seq 1 --input 1 --mode infer --warmup 0 --iters 1 |
         "$python" -c 'import json,sys; print(json.load(sys.stdin)["blas"].rsplit("core ",1)[-1])')
    tc=$("$python" -c 'import torch, ctypes
lib = ctypes.CDLL("libblas.so.3")
lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())' 2>/dev/null || echo unknown)
    printf '{"side":"cores","coretype_setting":"%s","recur_core":"%s","torch_core":"%s","env_coretype":"%s"}\n' \
        "$1" "$rc" "$tc" "${OPENBLAS_CORETYPE-<unset>}" >> "$out"
}

recur_runs() { # tag cell h b mode rep: recur at each thread count, and the
    # user-cell LSTM right after the built-in one when lstm_user is asked for
    local t
    for t in $recur_threads; do run_one recur "$1" "$2" "$3" "$4" "$5" "$t" "$6"; done
    if [ "$2" = lstm ] && [ "$user" = 1 ]; then
        for t in $recur_threads; do run_one recur "$1" lstm_user "$3" "$4" "$5" "$t" "$6"; done
    fi
}

torch_runs() { # tag cell h b mode rep
    local t
    for t in $torch_threads; do run_one torch "$1" "$2" "$3" "$4" "$5" "$t" "$6"; done
}

user=0
case " $cells " in *" lstm_user "*) user=1 ;; esac

compare() { # tag
    local tag=$1 n=0
    cores "$tag"
    for cell in $cells; do for h in $hiddens; do for b in $batches; do for mode in $modes; do
        if [ "$cell" = lstm_user ]; then
            # measured next to the built-in LSTM when that is in the list
            case " $cells " in *" lstm "*) continue ;; esac
            for ((r = 0; r < reps; r++)); do
                echo "[$tag] lstm_user h$h b$b $mode rep $((r + 1))/$reps" >&2
                for t in $recur_threads; do run_one recur "$tag" lstm_user "$h" "$b" "$mode" "$t" "$r"; done
            done
            continue
        fi
        for ((r = 0; r < reps; r++)); do
            n=$((n + 1))
            echo "[$tag] $cell h$h b$b $mode rep $((r + 1))/$reps" >&2
            if ((r % 2 == 0)); then
                recur_runs "$tag" "$cell" "$h" "$b" "$mode" "$r"
                torch_runs "$tag" "$cell" "$h" "$b" "$mode" "$r"
            else
                torch_runs "$tag" "$cell" "$h" "$b" "$mode" "$r"
                recur_runs "$tag" "$cell" "$h" "$b" "$mode" "$r"
            fi
        done
    done; done; done; done
}

if [ "$coretype" = asis ] || [ "$coretype" = both ]; then
    if [ -n "$orig_coretype_set" ]; then export OPENBLAS_CORETYPE="$orig_coretype"; else unset OPENBLAS_CORETYPE; fi
    compare asis
fi
if [ "$coretype" = unset ] || [ "$coretype" = both ]; then
    unset OPENBLAS_CORETYPE
    compare unset
fi

"$python" - "$here" "$out" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from grid_table import best, load  # the same statistics as the README table

cores, t, extra, order = load(sys.argv[2])

for setting in dict.fromkeys(k[0] for k in order):
    c = cores.get(setting, {})
    print(f"\nOPENBLAS_CORETYPE {setting} (env: {c.get('env_coretype')}): "
          f"OpenBLAS core recur {c.get('recur_core')}, torch {c.get('torch_core')}")
    print(f"{'point':<26} {'recur ms':>9} {'thr':>3} {'torch ms':>9} {'thr':>3} {'torch/recur':>11}"
          f"   recur per thread / torch per thread   plan MB  RSS MB  need MB  (plan+leaves)/need")
    for key in order:
        if key[0] != setting:
            continue
        _, cell, h, b, mode = key
        rm, rt, rmeds = best(t[key]["recur"])
        tm, tt, tmeds = best(t[key]["torch"])
        point = f"{cell} h{h} b{b} {mode}"
        fmt = lambda v: f"{v:9.3f}" if v is not None else f"{'FAIL':>9}"
        ratio = f"{tm / rm:11.2f}" if rm and tm else f"{'-':>11}"
        if cell == "lstm_user":
            # no torch side: the user cell's time over the built-in LSTM's
            bm, _, _ = best(t[(setting, "lstm", h, b, mode)]["recur"])
            tm, tt = bm, "-"
            ratio = f"{rm / bm:7.2f} u/b" if rm and bm else f"{'-':>11}"
        per = " ".join(f"{k}:{v:.2f}" for k, v in sorted(rmeds.items(), key=lambda kv: str(kv[0]))) + " / " + \
              " ".join(f"{k}:{v:.2f}" for k, v in sorted(tmeds.items(), key=lambda kv: str(kv[0])))
        e = extra.get(key, {})
        mem = f"{e['plan_bytes'] / 2**20:8.1f} {e['max_rss_bytes'] / 2**20:7.1f}" if e else ""
        if e and e.get("needed_bytes"):
            tot = e['plan_bytes'] + e['leaf_bytes']
            mem += f" {e['needed_bytes'] / 2**20:8.1f} {tot / e['needed_bytes']:9.2f}"
        print(f"{point:<26} {fmt(rm)} {rt or '-':>3} {fmt(tm)} {tt or '-':>3} {ratio}   {per:<36} {mem}")
print("\nms = median over repetitions of each run's median ms/step; each side at its best thread count;"
      "\nratio > 1: recur faster; lstm_user rows: user-cell time / built-in LSTM time (u/b)."
      "\nplan MB: recur's arena (intermediates); RSS MB: process high-water mark; need MB: weights +"
      "\ntheir gradients + inputs + the activations backward must keep (bench/rnn.c, needed_bytes);"
      "\nleaves = weights, input and target, stored outside the plan's arena.")
EOF
echo "raw JSON lines: $out"
