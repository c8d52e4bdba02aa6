#!/bin/sh
# Runs one libFuzzer target for a bounded time, from its committed seeds,
# and fails on any finding (crash, sanitizer report, leak, timeout, out of
# memory). New inputs go to a scratch folder, never into the seeds, or to
# $FUZZ_CORPUS when set (a corpus kept across runs); a finding is kept in
# FINDINGS_DIR with the command that reproduces it.
# Usage: run_fuzz.sh FUZZER SEED_DIR SECONDS FINDINGS_DIR [libFuzzer options...]
# $FUZZ_SECONDS, when set, overrides SECONDS (scripts/test.sh passes it on).
set -u
fuzzer=$1 seeds=$2 seconds=${FUZZ_SECONDS:-$3} findings=$4
shift 4
name=$(basename "$fuzzer")
mkdir -p "$findings"
work=$(mktemp -d "${TMPDIR:-/tmp}/${name}_XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/log"
corpus=${FUZZ_CORPUS:-$work/corpus}
mkdir -p "$corpus"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$findings/$name-" "$@" "$corpus" "$seeds" >"$log" 2>&1
status=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ $status -ne 0 ]; then
  tail -n 60 "$log"
  echo "$name: FINDING after ${execs:-?} executions (exit $status); inputs in $findings;"
  echo "reproduce with: $fuzzer $findings/$name-<file>"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$name: ${execs:-0} executions in ${seconds} s, no finding"
echo "1 passed, 0 failed"
