#!/usr/bin/env bash
# Runs the libFuzzer targets of a -Dfuzzing=true build (docs/security.md,
# "Fuzzing").
#
#   fuzz/run.sh BUILD SECONDS [TARGET...]     (default: every target)
#
# Each target runs for SECONDS from its committed seeds (fuzz/corpus/T, read
# only) plus a working corpus ($FUZZ_WORK/T, default
# BUILD/fuzz-work/T, kept between runs so a campaign resumes), with its
# dictionary, -timeout=10 (90 for keras and keras_weights, see below;
# $FUZZ_TIMEOUT: a loaded machine stalls a niced process for seconds, a false
# timeout) -rss_limit_mb=2048 (-malloc_limit_mb is the same
# figure: one allocation beyond it is a finding) and the target's output
# closed (-close_fd_mask=3; sanitizer reports still print). Extra libFuzzer
# flags go in $FUZZ_FLAGS (e.g. "-jobs=1 -workers=1"; the fuzzer runs in
# $FUZZ_WORK/cwd-T, so relative paths there are relative to it). A crash,
# leak, timeout or out-of-memory fails the run, also one that a forked
# child's sanitizer reports: the input is left in $FUZZ_WORK/artifacts/
# (copy it to fuzz/regressions/T/ once fixed). Prints one line per target:
# executions, seconds, executions per second.
set -uo pipefail
build=${1:?usage: run.sh BUILD SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(keras keras_config keras_weights tfjs checkpoint corpus_bytes corpus_ints args plot predict_input)
work=${FUZZ_WORK:-$build/fuzz-work}
mkdir -p "$work/artifacts" && work=$(cd "$work" && pwd) || { echo "run.sh: cannot use $work" >&2; exit 2; }
# A report of a forked child's sanitizer that is only this warning is a
# contained libhdf5 request (see allocator_may_return_null below).
contained='==[0-9]+==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes'
# Artifacts that are findings: crash-, leak-, timeout-, oom- (and a death
# hook's); not slow-unit-, which libFuzzer writes for an input that took
# over 10 s (-report_slow_units) and which a loaded machine produces; the
# timeout (-timeout) is the hang check.
findings() { ls "$work/artifacts" | grep "^$1-" | grep -v "^$1-slow-unit-"; }
failed=0
for t in "${targets[@]}"; do
    exe=$build/fuzz/fuzz_$t
    if [ ! -x "$exe" ]; then
        echo "run.sh: $exe is missing (configure with -Dfuzzing=true)" >&2
        exit 2
    fi
    exe=$(realpath "$exe")
    # keras, keras_weights: libhdf5 runs in a forked child
    # (frontends/keras/import_keras.c) and asks for petabytes on damaged
    # files (keras: for a well-formed file outside recur's own HDF5
    # reader's subset; keras_weights: under RECUR_HDF5=libhdf5 or auto, its
    # default being the own reader alone). allocator_may_return_null makes such a request fail there as
    # malloc's NULL, as the child's address-space limit makes it fail
    # without the sanitizer: the child fails, the parent reports it. Not for
    # the other targets: an oversized request of recur's own stays a finding.
    # Their timeout is above the reader's own 60 s deadline for the child
    # (whose CPU limit is 20 s): a file libhdf5 spins on is stopped there
    # and ends as a clean error, which is what the harness checks.
    asan=${ASAN_OPTIONS:-} timeout=${FUZZ_TIMEOUT:-10}
    case $t in keras | keras_weights) asan="allocator_may_return_null=1${asan:+:$asan}" timeout=${FUZZ_TIMEOUT:-90} ;; esac
    mkdir -p "$work/$t" "$work/cwd-$t"
    rm -f "$work/cwd-$t"/.[0-9]* # reports of an earlier run, examined then
    arts=$(findings "$t" | wc -l)
    log=$work/$t.log
    # Run in a directory of its own: a forked child's sanitizer report (the
    # HDF5 reader's) is written to ./.PID in the working directory, not to
    # the log, and its death hook may leave an artifact while the fuzzer
    # goes on; both are looked at below.
    # shellcheck disable=SC2086
    (cd "$work/cwd-$t" && ASAN_OPTIONS=$asan exec "$exe" "$work/$t" "$src/corpus/$t" -dict="$src/dict/$t.dict" -max_total_time="$secs" -timeout="$timeout" \
        -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
        ${FUZZ_FLAGS:-}) > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^stat::.*//p' "$log" >/dev/null; grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}')
    runs=${runs:-0} took=${took:-$secs}
    rate=$(( took > 0 ? runs / took : runs ))
    child=$(grep -l -v -x -E "$contained" "$work/cwd-$t"/.[0-9]* 2>/dev/null)
    if [ $rc -eq 0 ] && { [ -n "$child" ] || [ "$(findings "$t" | wc -l)" -gt "$arts" ]; }; then
        failed=1
        echo "FAIL $t: a forked child's sanitizer found something after $runs executions (the fuzzer went on); reports:" >&2
        for c in $child; do echo "$c:" >&2; grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$c" >&2; done
        findings "$t" >&2 || true
    elif [ $rc -ne 0 ]; then
        failed=1
        echo "FAIL $t: libFuzzer exit $rc after $runs executions; log $log, input(s):" >&2
        findings "$t" >&2 || true
        grep -m 5 -E 'ERROR|SUMMARY|runtime error|fuzz:' "$log" >&2 || true
    else
        echo "ok $t: $runs executions in ${took}s ($rate/s)"
    fi
done
exit $failed
