#!/bin/sh
# The hostile inputs of issue 14, each a regression test: every one gets a
# clean one-line error (no crash, no sanitizer report) and a non-zero exit,
# or, for a long model directory, loads the right shards. Inputs are made
# at test time from the golden models (make_inputs.py).
# usage: hostile_inputs.sh RECUR MODELS_DIR MAKE_INPUTS.py
recur=$1 models=$2 make=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
# every run is bounded: a hang is a failure, not a stuck suite (sanitized
# builds are slower, hence the generous bound)
run() { # out err command...
    o=$1 e=$2
    shift 2
    timeout -k 5 300 "$@" > "$o" 2> "$e"
}
clean_err() { # err file: one line, no sanitizer report
    [ "$(wc -l < "$1")" -le 1 ] && ! grep -qE "Sanitizer|runtime error|Segmentation|core dumped" "$1"
}
expect() { # status needle command...
    want=$1 needle=$2
    shift 2
    run "$tmp/out" "$tmp/err" "$@"
    got=$?
    if [ "$got" != "$want" ] || ! grep -qF -- "$needle" "$tmp/err" || ! clean_err "$tmp/err"; then
        echo "FAIL: $* -> exit $got, expected $want and one line with '$needle':"; cat "$tmp/err"; fail=1
        return 1
    else
        echo "ok ($got): $(cat "$tmp/err")"
    fi
}
m=$models/embedding_lstm_dense
g=$models/gru_lstm_dense

# 1. .keras files with mutated HDF5 bytes: libhdf5 runs contained in a
# child; whatever it does, recur exits 0 or 1 with at most one line.
python3 "$make" h5mut "$m/model.keras" "$tmp/mut" 40 14 || exit 1
bad=0 errs=0
for f in "$tmp"/mut/*.keras; do
    run "$tmp/out" "$tmp/err" "$recur" summary "$f"
    got=$?
    if { [ "$got" != 0 ] && [ "$got" != 1 ]; } || ! clean_err "$tmp/err" || { [ "$got" = 1 ] && ! grep -qF "$f: " "$tmp/err"; }; then
        echo "FAIL: recur summary $f -> exit $got:"; cat "$tmp/err"; bad=1
    fi
    [ "$got" = 1 ] && errs=$((errs + 1))
done
[ "$bad" = 0 ] && echo "ok: 40 mutated .keras files, $errs refused with one line, the rest loaded" || fail=1

# 2. a 22 KB .keras whose model.weights.h5 declares 4 GiB
python3 "$make" bigdecl "$m/model.keras" "$tmp/big.keras" || exit 1
expect 1 "model.weights.h5: declares 4.0 GiB uncompressed from" "$recur" summary "$tmp/big.keras"

# 3. a model directory path of more than 512 bytes: the shards are read from
# it (a decoy of the wrong size in the current directory is not used) ...
d=$tmp/long
for i in 1 2 3 4 5 6 7 8 9 10 11; do d=$d/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done
mkdir -p "$d" "$tmp/cwd"
cp "$m/model.json" "$m/group1-shard1of1.bin" "$d/"
head -c 100 /dev/zero > "$tmp/cwd/group1-shard1of1.bin"
if [ "${#d}" -lt 512 ]; then echo "FAIL: the long directory is only ${#d} bytes"; fail=1; fi
(cd "$tmp/cwd" && run "$tmp/out" "$tmp/err" "$recur" predict "$d/model.json" "$m/input.json" -o "$tmp/pred.json")
got=$?
if [ "$got" = 0 ] && python3 - "$tmp/pred.json" "$m/expected.json" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a = a[0] if isinstance(a, list) else a
b = b[0] if isinstance(b, list) else b
sys.exit(0 if a["shape"] == b["shape"] and max(abs(x - y) for x, y in zip(a["values"], b["values"])) < 1e-5 else 1)
PY
then echo "ok: a ${#d}-byte model directory reads its own shards (predictions match)"
else echo "FAIL: predict through a ${#d}-byte directory -> exit $got:"; cat "$tmp/err"; fail=1; fi
# ... and without its shard it is an error, not the decoy
rm "$d/group1-shard1of1.bin"
# (the message is cut at rc_error's 1024 bytes: the path alone is 585)
(cd "$tmp/cwd" && expect 1 "shard 'group1-shard1of1.bin' in $tmp/long/aaaa" "$recur" summary "$d/model.json") || fail=1

# 4. shards leaving the model directory: a symlink, '..', an absolute path
mkdir -p "$tmp/sl/m" "$tmp/sl/outside"
cp "$m/group1-shard1of1.bin" "$tmp/sl/outside/"
cp "$m/model.json" "$tmp/sl/m/"
ln -s ../outside/group1-shard1of1.bin "$tmp/sl/m/group1-shard1of1.bin"
expect 1 "shard 'group1-shard1of1.bin' lies outside the model directory" "$recur" summary "$tmp/sl/m/model.json"
ln -s ../outside "$tmp/sl/m/sub"
sed 's|"group1-shard1of1.bin"|"sub/group1-shard1of1.bin"|' "$m/model.json" > "$tmp/sl/m/dirlink.json"
expect 1 "shard 'sub/group1-shard1of1.bin' lies outside the model directory" "$recur" summary "$tmp/sl/m/dirlink.json"
sed 's|"group1-shard1of1.bin"|"../outside/group1-shard1of1.bin"|' "$m/model.json" > "$tmp/sl/m/dotdot.json"
expect 1 "shard '../outside/group1-shard1of1.bin' lies outside the model directory" "$recur" summary "$tmp/sl/m/dotdot.json"
sed "s|\"group1-shard1of1.bin\"|\"$tmp/sl/outside/group1-shard1of1.bin\"|" "$m/model.json" > "$tmp/sl/m/abs.json"
expect 1 "lies outside the model directory" "$recur" summary "$tmp/sl/m/abs.json"
# a symlink that stays inside is followed
mkdir -p "$tmp/in/m/data"
cp "$m/model.json" "$tmp/in/m/"
cp "$m/group1-shard1of1.bin" "$tmp/in/m/data/"
ln -s data/group1-shard1of1.bin "$tmp/in/m/group1-shard1of1.bin"
if run "$tmp/out" "$tmp/err" "$recur" summary "$tmp/in/m/model.json"; then echo "ok: a symlink inside the directory is followed"
else echo "FAIL: a symlink inside the model directory was refused:"; cat "$tmp/err"; fail=1; fi

# 5. --ints with a token 2147483646: the vocabulary is refused up front
python3 -c "
import random
r = random.Random(1)
t = [r.randrange(50) for _ in range(400)]
t[7] = 2147483646
print(' '.join(map(str, t)))" > "$tmp/ints.txt"
expect 1 "a vocabulary of 2147483647 tokens (the largest token + 1) needs at least" \
    "$recur" train --corpus "$tmp/ints.txt" --ints --steps 2 --seq 4 --batch 2
# and one the memory limit cannot hold, named by --max-memory
sed 's/2147483646/3000000/' "$tmp/ints.txt" > "$tmp/ints2.txt"
expect 1 "over the memory limit of 1.0 GiB (--max-memory)" \
    "$recur" --max-memory 1G train --corpus "$tmp/ints2.txt" --ints --steps 2 --seq 4 --batch 2

# 6. batch_input_shape with 2^31 steps (and batch): refused with the figure
mkdir -p "$tmp/bis"
cp "$g/group1-shard1of1.bin" "$tmp/bis/"
sed 's/"batch_input_shape":\[null,5,3\]/"batch_input_shape":[null,2147483648,3]/' "$g/model.json" > "$tmp/bis/t.json"
sed 's/"batch_input_shape":\[null,5,3\]/"batch_input_shape":[2147483648,2147483648,3]/' "$g/model.json" > "$tmp/bis/bt.json"
grep -q 2147483648 "$tmp/bis/t.json" || { echo "FAIL: could not make the 2^31 model"; fail=1; }
expect 1 "shape (1, 2147483648, 3) needs 24.0 GiB" "$recur" --max-memory 8G summary "$tmp/bis/t.json"
expect 1 "over the memory limit of 8.0 GiB" "$recur" --max-memory 8G summary "$tmp/bis/bt.json"
# ... and a .keras whose 2^31-step int32 input (8 GiB) fits the limit: the
# input is zero pages until written, and the LSTM refuses the unrolling
# with its figure before making a step, in well under a second (it used to
# zero 8 GiB and unroll until the machine ran out, 23 GB resident after
# 5 minutes). Under the default limit and under a limit above the input.
k=$(cd "$(dirname "$0")/../../.." && pwd)/fuzz/regressions/keras/batch_shape_2p31.keras
for lim in "" "--max-memory 64G"; do
    t0=$(date +%s)
    # shellcheck disable=SC2086
    expect 1 "2147483648" "$recur" $lim summary "$k" &&
        grep -qE "rnn 'lstm': 2147483648 steps of batch 1 need at least [0-9.]+ TiB|shape \(1, 2147483648\) needs" "$tmp/err" ||
        { echo "FAIL: summary of $k ($lim): not the expected refusal"; fail=1; }
    [ $(($(date +%s) - t0)) -le 60 ] || { echo "FAIL: summary of $k ($lim) took over 60 s"; fail=1; }
done

# 7. a checkpoint holding NaN: refused by eval, generate and train --resume
corpus=$tmp/corpus.txt
for i in 1 2 3 4 5 6 7 8; do cat "$m/model.json"; done > "$corpus"
if run "$tmp/out" "$tmp/err" "$recur" train --corpus "$corpus" --units 8 --embed 4 --seq 8 --batch 2 --steps 2 \
        --checkpoint "$tmp/c.safetensors"; then
    python3 "$make" nan "$tmp/c.safetensors" "$tmp/nan.safetensors" charlm/embedding/embeddings || exit 1
    expect 1 "tensor 'charlm/embedding/embeddings' holds NaN at element 3" "$recur" eval "$tmp/nan.safetensors" --corpus "$corpus"
    expect 1 "tensor 'charlm/embedding/embeddings' holds NaN at element 3" "$recur" generate "$tmp/nan.safetensors" --length 5
    cp "$tmp/nan.safetensors" "$tmp/r.safetensors"
    expect 1 "tensor 'charlm/embedding/embeddings' holds NaN at element 3" "$recur" train --corpus "$corpus" --units 8 \
        --embed 4 --seq 8 --batch 2 --steps 3 --checkpoint "$tmp/r.safetensors" --resume
else
    echo "FAIL: training the small model failed:"; cat "$tmp/err"; fail=1
fi
exit $fail
