#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, then builds and runs
# `meson test` four times -- a normal release build, an ASan+UBSan debug
# build, a clang ASan+UBSan build that runs every libFuzzer harness of
# tests/fuzz for FUZZ_SECONDS (default 15) each, failing on any finding, and
# the MPI flavour (-Dmpi=enabled), whose distributed tests run under mpirun
# with 1, 2 and 4 ranks (suites mpi and api only: the rest is the release
# build's code).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

# Two cores: OpenBLAS threads inside tests running in parallel would oversubscribe.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() { # name build-dir timeout-multiplier [meson setup options...]
  local name=$1 dir=$2 slow=$3
  shift 3
  echo "== $name"
  ./scripts/build.sh "$dir" "$@"
  local suites=()
  for s in ${SUITES:-}; do suites+=(--suite "$s"); done
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier "$slow" \
    "${suites[@]}" | tee -a "$log"
}

status=0
run_suite "release build" build 1 || status=1
# Unoptimised code under the sanitizers runs several times slower than the
# release build the per-test timeouts are set for: they only catch hangs.
run_suite "ASan + UBSan build" build-asan 4 -Dbuildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false -Dpython_tests=false || status=1
# Optimised (fuzzing needs the speed), with assertions and sanitizers.
CC=clang-14 CXX=clang++-14 run_suite "fuzz build (clang, ASan + UBSan, libFuzzer)" build-fuzz 2 \
  -Dfuzz=enabled -Dtests=false -Dpython_tests=false -Dbuildtype=debugoptimized \
  -Db_sanitize=address,undefined -Db_lundef=false || status=1
# The distributed flavour: Open MPI + PARPACK, tests under mpirun --oversubscribe.
SUITES="mpi api" run_suite "MPI build (mpirun, 1/2/4 ranks)" build-mpi 1 -Dmpi=enabled \
  -Dpython_tests=false || status=1

# One closing line over the four builds, counted from meson's summaries.
ok=$(awk '/^Ok:/ {s += $2} END {print s + 0}' "$log")
bad=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {s += $2} END {print s + 0}' "$log")
skipped=$(awk '/^Skipped:/ {s += $2} END {print s + 0}' "$log")
echo "$ok passed, $bad failed, $skipped skipped"
if [[ $status -ne 0 || $bad -ne 0 || $ok -eq 0 ]]; then exit 1; fi
