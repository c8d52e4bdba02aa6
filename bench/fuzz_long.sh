#!/usr/bin/env bash
# A long fuzzing campaign over the harnesses of tests/fuzz (docs/fuzzing.md):
# builds the fuzz flavour (clang, ASan + UBSan, libFuzzer) if needed, runs
# each target for SECONDS (default 3600) one after the other, growing a
# corpus kept in build-fuzz/fuzz-corpus/<target> across runs, and prints the
# executions per target. Exit 1 if any target had a finding (the input is in
# build-fuzz/findings, with the command that reproduces it in the log).
# Usage: bench/fuzz_long.sh [SECONDS] [TARGET...]   (targets: csv npy idx
#        idx_gz labels model checkpoint; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=(csv npy idx idx_gz labels model checkpoint); fi
./scripts/install-deps.sh
CC=clang-14 CXX=clang++-14 ./scripts/build.sh build-fuzz -Dfuzz=enabled -Dtests=false \
  -Dpython_tests=false -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
export OPENBLAS_NUM_THREADS=1

summary=()
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/fuzz-corpus/$t"
  start=$(date +%s)
  if out=$(FUZZ_CORPUS="build-fuzz/fuzz-corpus/$t" tests/fuzz/run_fuzz.sh \
             "build-fuzz/tests/fuzz/fuzz_$t" "tests/fuzz/corpus/$t" "$seconds" build-fuzz/findings); then
    verdict="no finding"
  else
    verdict="FINDING"
    status=1
  fi
  echo "$out" | grep -v "passed, .* failed" || true
  execs=$(echo "$out" | grep -o '[0-9?]* executions' | tail -n 1 | cut -d' ' -f1)
  units=$(find "build-fuzz/fuzz-corpus/$t" -type f | wc -l)
  summary+=("$(printf '%-12s %12s executions %7ss %6s corpus files  %s' "$t" "${execs:-?}" \
               "$(( $(date +%s) - start ))" "$units" "$verdict")")
done
echo
echo "== executions per target"
printf '%s\n' "${summary[@]}"
exit $status
