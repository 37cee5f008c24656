#!/bin/sh
# TF.js round trip: every model recur can read is exported with
# `recur export`, loaded in TensorFlow.js (tf.loadLayersModel, strict weight
# names) and run; its predictions must match recur's within FORMAT.md's
# tolerance. Skips (exit 77) when node or @tensorflow/tfjs is missing.
# usage: tfjs_roundtrip.sh RECUR MODELS_RUNNER MODEL_FILE...
recur=$1 runner=$2
shift 2
here=$(dirname "$0")
node=$(command -v node) || { echo "skipped: node not found"; exit 77; }
modules=${RECUR_TFJS_MODULES:-$here/node_modules}
[ -d "$modules/@tensorflow/tfjs" ] || {
    echo "skipped: @tensorflow/tfjs not installed (cd tests/tfjs && npm install @tensorflow/tfjs, or set RECUR_TFJS_MODULES)"
    exit 77
}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for model in "$@"; do
    dir=$(dirname "$model")
    n=$((n + 1))
    out="$tmp/$n"
    mkdir -p "$out"
    if ! "$recur" export "$model" "$out/tfjs" ||
       ! "$recur" predict "$model" "$dir/input.json" -o "$out/recur.json" ||
       ! "$node" "$here/tfjs_predict.js" "$out/tfjs" "$dir/input.json" > "$out/tfjs.json" 2> "$out/err"; then
        echo "FAIL $model: export or prediction failed"; cat "$out/err"; fail=1; continue
    fi
    printf '%s in TF.js: ' "$model"
    "$runner" --compare "$out/tfjs.json" "$out/recur.json" || fail=1
done
exit $fail
