#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/<target> from the golden models
# and tiny `recur train` runs. The seeds are committed; run this only to
# refresh them (after a format change):
#   fuzz/make_seeds.sh build/recur
# Keeps every seed small (tens of KB): libFuzzer mutates faster and the
# replay tests stay quick.
set -euo pipefail
recur=$(realpath "${1:?usage: make_seeds.sh path/to/recur}")
cd "$(dirname "${BASH_SOURCE[0]}")"
golden=../tests/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sep=$'\n--recur-fuzz-shard--\n'

for t in keras keras_config keras_weights tfjs checkpoint corpus_bytes corpus_ints args plot predict_input; do
    rm -rf "corpus/$t"
    mkdir -p "corpus/$t"
done

# .keras files as saved by Keras 3, and their config.json
for d in "$golden"/models/*/; do
    n=$(basename "$d")
    cp "$d/model.keras" "corpus/keras/$n.keras"
    unzip -p "$d/model.keras" config.json > "corpus/keras_config/$n.json"
done
# model.weights.h5 after its model's index byte (fuzz_keras_weights.c; the
# order of FUZZ_KERAS_CONFIGS in meson.build)
k=0
for n in bidir_lstm_dense embedding_lstm_dense gru_lstm_dense; do
    { printf "\\x$(printf %02x $k)"; unzip -p "$golden/models/$n/model.keras" model.weights.h5; } \
        > "corpus/keras_weights/$n.h5"
    k=$((k + 1))
done

# TF.js model.json + shards in manifest order (fuzz_tfjs.c's layout)
for d in "$golden"/tfjs_models/*/ "$golden"/models/*/; do
    n=$(basename "$d")
    out="corpus/tfjs/$n"
    cp "$d/model.json" "$out"
    python3 - "$d/model.json" <<'PY' | while read -r shard; do printf '%s' "$sep" >> "$out"; cat "$d/$shard" >> "$out"; done
import json, sys
for g in json.load(open(sys.argv[1]))["weightsManifest"]:
    for p in g["paths"]:
        print(p)
PY
done

# inputs of recur predict
for d in "$golden"/tfjs_models/*/ "$golden"/models/*/; do
    cp "$d/input.json" "corpus/predict_input/$(basename "$d").json"
done

# tiny char-LM checkpoints and their CSV logs (recur train)
head -c 3000 ../README.md > "$work/text"
for cell in lstm gru simple; do
    "$recur" train --corpus "$work/text" --cell "$cell" --units 4 --embed 4 --seq 8 --batch 2 --steps 3 \
        --checkpoint "$work/$cell.safetensors" --log "$work/$cell.csv" --seed 1 > /dev/null
    cp "$work/$cell.safetensors" "corpus/checkpoint/$cell.safetensors"
    cp "$work/$cell.csv" "corpus/plot/$cell.csv"
done
"$recur" train --corpus "$work/text" --cell lstm --units 4 --embed 4 --layers 2 --seq 8 --batch 2 --steps 2 \
    --optimizer sgd --checkpoint "$work/sgd2.safetensors" --seed 2 > /dev/null
cp "$work/sgd2.safetensors" corpus/checkpoint/lstm2_sgd.safetensors
printf 'step,loss,val_loss\n1,5.5,\n2,5.4,5.6\n\n3,nan,\n4,1e300,-1\n' > corpus/plot/edge.csv

# corpora: bytes and integer tokens
head -c 2000 ../README.md > corpus/corpus_bytes/readme.txt
printf 'a' > corpus/corpus_bytes/one
printf 'abcabcabcabcabcabcabcabcabcabcabc\n\0\377\r\n' > corpus/corpus_bytes/binary
printf '0 1 2 3 4 5 6 7 8 9 10\n11 12\t13\r\n' > corpus/corpus_ints/small.ints
printf '5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 999 0 0 0 0 0 0 0 0 0\n' > corpus/corpus_ints/vocab.ints
printf '2147483647 0 1\n' > corpus/corpus_ints/max.ints

# command lines: argv[1..] separated by NUL
i=0
while IFS= read -r line; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    printf '%s\0' $line | head -c -1 > "corpus/args/$i"
done <<'ARGS'
--units 256 --lr 2e-3 --cell lstm model.json
--units=8 --resume --ints -o out.svg a b
--steps 0 --seed -5 --temperature 0.8 -- --units
--help
--lr=1e-3 --lr 2
--cell gru --units 4097
-o
ARGS
chmod 644 corpus/*/*
echo "seeds: $(find corpus -type f | wc -l) files, $(du -sh corpus | cut -f1)"
