#!/bin/bash
# kill -9 during checkpoint saves, 20 times (issue 14): after every kill the
# checkpoint loads (recur generate reads all of it), and after the next save
# no temporary file of it remains. Saves happen every step of a model whose
# checkpoint is ~1 MB, so most kills land in or near a save.
# usage: kill_saves.sh RECUR
recur=$1
tmp=$(mktemp -d) || exit 1
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
corpus=$tmp/corpus.txt
for i in $(seq 1 200); do echo "line $i: the quick brown fox jumps over the lazy dog $((i * 7919 % 1000))"; done > "$corpus"
ck=$tmp/c.safetensors
train=("$recur" train --corpus "$corpus" --units 128 --embed 16 --seq 16 --batch 4 --save-every 1
       --checkpoint "$ck" --threads 1)
# a first checkpoint
timeout -k 5 300 "${train[@]}" --steps 1 > /dev/null 2> "$tmp/err" || { echo "FAIL: first save:"; cat "$tmp/err"; exit 1; }
fail=0 orphans=0
for k in $(seq 1 20); do
    "${train[@]}" --steps 100000 --resume > /dev/null 2>&1 &
    pid=$!
    # wait for the run to be saving (its checkpoint newer than before), then
    # a random further delay of 0-200 ms
    before=$(stat -c %Y.%N "$ck" 2>/dev/null || stat -c %Y "$ck")
    for w in $(seq 1 600); do
        sleep 0.05
        now=$(stat -c %Y.%N "$ck" 2>/dev/null || stat -c %Y "$ck")
        [ "$now" != "$before" ] && break
        kill -0 "$pid" 2>/dev/null || break
    done
    sleep "0.$(printf '%03d' $((RANDOM % 200)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
    n=$(find "$tmp" -name 'c.safetensors.tmp.*' | wc -l)
    orphans=$((orphans + (n > 0)))
    if ! timeout -k 5 300 "$recur" generate "$ck" --length 5 --seed 1 > /dev/null 2> "$tmp/err"; then
        echo "FAIL: kill $k: the checkpoint does not load:"; cat "$tmp/err"; fail=1
    fi
done
# the next save removes what the killed ones left: one more step than the
# checkpoint holds (its "iterations" metadata)
done_steps=$(python3 -c "
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
print(json.loads(b[8:8 + n])['__metadata__']['iterations'])" "$ck") || { echo "FAIL: unreadable checkpoint"; exit 1; }
timeout -k 5 300 "${train[@]}" --resume --steps $((done_steps + 1)) > /dev/null 2> "$tmp/err" ||
    { echo "FAIL: the save after the kills:"; cat "$tmp/err"; fail=1; }
left=$(find "$tmp" -name 'c.safetensors.tmp.*' | wc -l)
if [ "$left" != 0 ]; then echo "FAIL: $left temporary files remain after the next save"; fail=1; fi
echo "20 kills during saves: the checkpoint loaded after each; $orphans kills left a temporary file," \
     "$left remain after the next save"
exit $fail
