#!/bin/sh
# Data-parallel training under mpirun (docs/distributed.md), on a small
# char LSTM so that each run takes a second or two:
#   1. 2 ranks against 1 process on the same global batch: parameters and
#      optimizer slots after 20 steps equal within TOL, the validation loss
#      within 1e-5 relative, one log; and (that the check can fail) one
#      process on half the batch is far outside TOL;
#   2. resume across rank counts: 2 -> 1 and 1 -> 2 continue the curve;
#   3. refused: ranks with different models or corpora, a batch that is no
#      multiple of the ranks;
#   4. faults: a rank that cannot read its corpus, a rank killed mid-run:
#      the job ends non-zero within seconds, the last checkpoint loads.
# Every mpirun runs under timeout. Skips (77) without MPI or mpirun.
#
# TOL: float32 gradients summed in another order (each rank sums its rows,
# the allreduce adds the two partial sums) differ by at most about
# n * eps relative, n = B * T = 160 rows, eps = 2^-24: ~1e-5 of the
# gradient. Adam's update m / (sqrt(v) + eps) is scale-free, so each of the
# 20 steps moves a parameter by at most lr * 1e-5 = 2e-8 differently: 4e-7
# after 20 steps, plus the parameters' own rounding (ulp of values up to 4:
# 4.8e-7). TOL = 2e-6 leaves a factor 2 over that sum; measured: 1.2e-7.
# The n * eps bound is relative to the sum of the terms' magnitudes: where
# an element's terms cancel (an embedding row of a rare byte), its relative
# error is larger and Adam's per-element normalisation passes it on. The
# README + docs corpus this test used until 2026-12-06 hit such a row
# after a doc edit (3.0e-6 on one embedding element); the corpus is now
# generated from a fixed seed, so the margin does not move with the docs.
set -u
RECUR=$1
DIFF=$2
TOL=2e-6
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (apt-get install openmpi-bin)"; exit 77; }
if "$RECUR" --version | grep -q '^mpi: not built in'; then
    echo "SKIP: recur was built without MPI (apt-get install libopenmpi-dev; meson setup again)"
    exit 77
fi
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
export OMPI_MCA_rmaps_base_oversubscribe=1
W=$(mktemp -d "${TMPDIR:-/tmp}/recur-mpi-XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# A corpus of 200 kB of English-like text from a fixed seed (word salad of
# common words, sentences, line breaks).
python3 - <<'PY' || fail "cannot make the corpus"
import random
r = random.Random(7)
words = """the a of to and in that is was he for it with as his on be at by i this had not are but from or
have an they which one you were her all she there would their we him been has when who will more no if out
so said what up its about into than them can only other new some could time these two may then do first
any my now such like our over man me even most made after also did many before must through back years
where much your way well down should because each just those people mr how too little state good very
make world still own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take three""".split()
out, n = [], 0
while n < 200000:
    s = " ".join(r.choice(words) for _ in range(r.randrange(4, 14)))
    s = s[0].upper() + s[1:] + r.choice(".?!,;") + ("\n" if r.random() < 0.2 else " ")
    out.append(s)
    n += len(s)
open("corpus.txt", "w").write("".join(out))
PY
REST="--embed 16 --seq 20 --threads 1 --print-every 5"
A="--corpus corpus.txt --units 32 --batch 8 $REST"

echo "== 1. two ranks against one process, 20 steps"
timeout 60 "$RECUR" train $A --steps 20 --checkpoint one.safetensors > one.out 2>&1 || { cat one.out; fail "1 process"; }
timeout 60 $MPIRUN -np 2 "$RECUR" train $A --steps 20 --checkpoint two.safetensors > two.out 2>&1 \
    || { cat two.out; fail "2 ranks"; }
cat two.out
"$DIFF" one.safetensors two.safetensors $TOL || fail "2 ranks differ from 1 process by more than $TOL"
[ "$(grep -c '^trained 20 steps' two.out)" = 1 ] || fail "the 2-rank run did not log exactly once"
[ "$(grep -c '^step 20  val' two.out)" = 1 ] || fail "the validation loss was not printed exactly once"
grep -q '^data parallel: 2 ranks x 4 rows' two.out || fail "no data-parallel line"
[ -f two.csv ] && [ "$(grep -c '^20,' two.csv)" = 2 ] || fail "two.csv should hold step 20 and the final validation once"
v1=$(sed -n 's/^step 20  val \([0-9.]*\) .*/\1/p' one.out)
v2=$(sed -n 's/^step 20  val \([0-9.]*\) .*/\1/p' two.out)
awk -v a="$v1" -v b="$v2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * a) }' \
    || fail "validation loss $v2 (2 ranks) vs $v1 (1 process)"
echo "validation loss: 1 process $v1, 2 ranks $v2"
# The check discriminates: one process on half the batch (what a rank
# alone would train on) is far from the 2-rank result.
timeout 60 "$RECUR" train --corpus corpus.txt --units 32 --batch 4 $REST --steps 20 --checkpoint half.safetensors \
    > half.out 2>&1 || { cat half.out; fail "half batch"; }
if "$DIFF" half.safetensors two.safetensors $TOL charlm/ > half.diff; then
    cat half.diff; fail "the comparison cannot tell half a batch from the whole"
fi
tail -1 half.diff

echo "== 2. resume across rank counts"
timeout 60 $MPIRUN -np 2 "$RECUR" train $A --steps 10 --checkpoint r21.safetensors > r21a.out 2>&1 \
    || { cat r21a.out; fail "2 ranks, 10 steps"; }
timeout 60 "$RECUR" train $A --steps 20 --checkpoint r21.safetensors --resume > r21b.out 2>&1 \
    || { cat r21b.out; fail "resume with 1 process"; }
"$DIFF" one.safetensors r21.safetensors $TOL || fail "2 -> 1 resume left the 1-process curve"
timeout 60 "$RECUR" train $A --steps 10 --checkpoint r12.safetensors > r12a.out 2>&1 || fail "1 process, 10 steps"
timeout 60 $MPIRUN -np 2 "$RECUR" train $A --steps 20 --checkpoint r12.safetensors --resume > r12b.out 2>&1 \
    || { cat r12b.out; fail "resume with 2 ranks"; }
grep -q 'resuming at step 10' r12b.out || fail "the 2-rank run did not resume at step 10"
"$DIFF" one.safetensors r12.safetensors $TOL || fail "1 -> 2 resume left the 1-process curve"

echo "== 3. refused configurations"
s=0; timeout 60 $MPIRUN -np 1 "$RECUR" train $A --steps 5 : -np 1 "$RECUR" train --corpus corpus.txt --units 16 --batch 8 $REST --steps 5 \
    > mm.out 2>&1 || s=$?
cat mm.out | grep 'recur train' | head -3
[ $s != 0 ] && [ $s != 124 ] || fail "different models: exit $s"
grep -q 'ranks disagree on the run' mm.out || fail "different models were not refused with a message"
head -c 50000 corpus.txt > other.txt
s=0; timeout 60 $MPIRUN -np 1 "$RECUR" train $A --steps 5 : -np 1 "$RECUR" train --corpus other.txt --units 32 --batch 8 $REST --steps 5 \
    > mc.out 2>&1 || s=$?
[ $s != 0 ] && [ $s != 124 ] || fail "different corpora: exit $s"
grep -q 'ranks disagree on the run' mc.out || { cat mc.out; fail "different corpora were not refused"; }
s=0; timeout 60 $MPIRUN -np 2 "$RECUR" train --corpus corpus.txt --units 32 --batch 7 $REST --steps 5 > mb.out 2>&1 || s=$?
[ $s = 2 ] || { cat mb.out; fail "--batch 7 on 2 ranks: exit $s, expected 2"; }
grep -q 'not a multiple of the 2 ranks' mb.out || fail "no message for --batch 7"

echo "== 4. faults"
t0=$(date +%s)
s=0; timeout 60 $MPIRUN -np 1 "$RECUR" train $A --steps 5 : -np 1 "$RECUR" train --corpus missing.txt --units 32 --batch 8 $REST --steps 5 \
    > bad.out 2>&1 || s=$?
t1=$(date +%s)
grep 'recur train' bad.out | head -2
[ $s != 0 ] && [ $s != 124 ] || fail "a rank without its corpus: exit $s"
grep -q "missing.txt" bad.out || fail "no message naming the missing corpus"
echo "a rank without its corpus: the job ended with status $s in $((t1 - t0)) s"

# A rank killed mid-run: each rank writes its pid; rank 1 is killed once
# the first checkpoint exists.
timeout 120 $MPIRUN -np 2 sh -c 'echo $$ > pid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"' "$RECUR" train $A \
    --steps 1000000 --save-every 5 --checkpoint k.safetensors > k.out 2>&1 &
job=$!
i=0
while [ ! -f k.safetensors ] || [ ! -f pid.1 ]; do
    i=$((i + 1)); [ $i -gt 600 ] && { kill $job; cat k.out; fail "no checkpoint after 60 s"; }
    sleep 0.1
done
sleep 0.5
t0=$(date +%s)
kill -9 "$(cat pid.1)"
s=0; wait $job || s=$?
t1=$(date +%s)
tail -3 k.out
[ $s != 0 ] && [ $s != 124 ] || fail "the job with a killed rank: exit $s (124: it hung until the timeout)"
[ $((t1 - t0)) -le 20 ] || fail "the job took $((t1 - t0)) s to end after a rank was killed"
echo "a killed rank: the job ended with status $s in $((t1 - t0)) s"
timeout 60 "$RECUR" eval k.safetensors --corpus corpus.txt > keval.out 2>&1 || { cat keval.out; fail "the last checkpoint does not load"; }
cat keval.out
echo "all MPI tests passed"
