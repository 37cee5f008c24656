#!/bin/sh
# recur predict / summary / gradcheck / export on bad input: exit status 1
# (2 for usage) and a message naming the file and the problem.
# usage: cli_model_errors.sh RECUR MODELS_DIR
recur=$1 models=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
m=$models/embedding_lstm_dense
expect() { # status needle command...
    want=$1 needle=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err"
    got=$?
    if [ "$got" != "$want" ] || ! grep -qF -- "$needle" "$tmp/err"; then
        echo "FAIL: $* -> exit $got, expected $want with '$needle':"; cat "$tmp/err"; fail=1
    else
        echo "ok: $needle"
    fi
}
echo '{"shape":[3,6],"values":[1,2]}' > "$tmp/short.json"
echo '{"shape":[3,6],' > "$tmp/broken.json"
echo '{"dtype":"int32","shape":[1,6],"values":[1,2,3,4,5,99]}' > "$tmp/oov.json"
echo '{"dtype":"int32","shape":[1,6],"values":[1,2,3,4,5,1.5]}' > "$tmp/frac.json"
echo '{"shape":[1099511627776,1099511627776],"values":[]}' > "$tmp/huge.json"
echo '[{"shape":[1,6],"values":[1,2,3,4,5,6]},{"shape":[1],"values":[1]}]' > "$tmp/two.json"
expect 1 "$tmp/short.json: tensor 0: shape has 18 elements but there are 2 values" "$recur" predict "$m/model.keras" "$tmp/short.json"
expect 1 "$tmp/broken.json" "$recur" predict "$m/model.keras" "$tmp/broken.json"
expect 1 "token id 99 at index 5 is outside the vocabulary [0, 10)" "$recur" predict "$m/model.keras" "$tmp/oov.json"
expect 1 "is not an int32 token id" "$recur" predict "$m/model.json" "$tmp/frac.json"
expect 1 "within 2^40 elements" "$recur" predict "$m/model.json" "$tmp/huge.json"
expect 1 "the model has 1 input, the file gives 2" "$recur" predict "$m/model.json" "$tmp/two.json"
expect 1 "input 'input' must be float32 with 3 dimensions" "$recur" predict "$models/gru_lstm_dense/model.json" "$m/input.json"
expect 1 "cannot open $tmp/none.keras: No such file or directory" "$recur" summary "$tmp/none.keras"
expect 1 "$tmp/short.json: no 'modelTopology' object" "$recur" gradcheck "$tmp/short.json"
expect 1 "cannot write" "$recur" predict "$m/model.json" "$m/input.json" -o "$tmp/no/such/dir/out.json"
expect 2 "missing INPUT.json after MODEL" "$recur" predict "$m/model.json"
expect 2 "unknown option '--bogus'" "$recur" summary --bogus
expect 2 "missing OUTDIR after MODEL" "$recur" export "$m/model.json"
exit $fail
