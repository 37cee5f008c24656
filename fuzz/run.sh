#!/usr/bin/env bash
# Runs the libFuzzer targets of a -Dfuzzing=true build (docs/security.md,
# "Fuzzing").
#
#   fuzz/run.sh BUILD SECONDS [TARGET...]     (default: every target)
#
# Each target runs for SECONDS from its committed seeds (fuzz/corpus/T, read
# only) plus a working corpus ($FUZZ_WORK/T, default
# BUILD/fuzz-work/T, kept between runs so a campaign resumes), with its
# dictionary, -timeout=10 ($FUZZ_TIMEOUT: a loaded machine stalls a niced
# process for seconds, a false timeout) -rss_limit_mb=2048 (-malloc_limit_mb is the same
# figure: one allocation beyond it is a finding) and the target's output
# closed (-close_fd_mask=3; sanitizer reports still print). Extra libFuzzer
# flags go in $FUZZ_FLAGS (e.g. "-jobs=1 -workers=1"). A crash, leak,
# timeout or out-of-memory fails the run: the input is left in
# $FUZZ_WORK/artifacts/ (copy it to fuzz/regressions/T/ once fixed). Prints
# one line per target: executions, seconds, executions per second.
set -uo pipefail
build=${1:?usage: run.sh BUILD SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(keras keras_config keras_weights tfjs checkpoint corpus_bytes corpus_ints args plot predict_input)
work=${FUZZ_WORK:-$build/fuzz-work}
# allocator_may_return_null: a huge request fails as malloc's NULL, as it
# does without AddressSanitizer. It matters in the HDF5 reader's child
# process (frontends/keras/import_keras.c), where libhdf5 asks for
# petabytes on damaged files: the child is meant to fail there and the
# parent to report it, not the fuzzer to record a crash. recur's own
# requests are checked against the memory limit before they are made, and
# any that succeeds over 2 GB is still a finding (-malloc_limit_mb).
export ASAN_OPTIONS="allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
mkdir -p "$work/artifacts"
work=$(cd "$work" && pwd)
failed=0
for t in "${targets[@]}"; do
    exe=$build/fuzz/fuzz_$t
    if [ ! -x "$exe" ]; then
        echo "run.sh: $exe is missing (configure with -Dfuzzing=true)" >&2
        exit 2
    fi
    exe=$(realpath "$exe")
    mkdir -p "$work/$t" "$work/cwd-$t"
    log=$work/$t.log
    # Run in a directory of its own: a forked child's sanitizer report (the
    # HDF5 reader's, contained, frontends/keras/import_keras.c) is written
    # to ./.PID in the working directory, not to the log.
    # shellcheck disable=SC2086
    (cd "$work/cwd-$t" && exec "$exe" "$work/$t" "$src/corpus/$t" -dict="$src/dict/$t.dict" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" \
        -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
        ${FUZZ_FLAGS:-}) > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^stat::.*//p' "$log" >/dev/null; grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}')
    runs=${runs:-0} took=${took:-$secs}
    rate=$(( took > 0 ? runs / took : runs ))
    if [ $rc -ne 0 ]; then
        failed=1
        echo "FAIL $t: libFuzzer exit $rc after $runs executions; log $log, input(s):" >&2
        ls "$work/artifacts/" | grep "^$t-" >&2 || true
        grep -m 5 -E 'ERROR|SUMMARY|runtime error|fuzz:' "$log" >&2 || true
    else
        echo "ok $t: $runs executions in ${took}s ($rate/s)"
    fi
done
exit $failed
