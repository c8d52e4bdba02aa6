#!/bin/sh
# Compiles every public header alone, as C99 and as C++, with warnings as errors.
set -eu
inc=$1 cc=$2 cxx=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0
mpi_flags=$(pkg-config --cflags mpi-c 2>/dev/null || true)
for h in "$inc"/deepclust.h "$inc"/deepclust/*.h; do
  rel=${h#"$inc"/}
  extra=""
  if [ "$rel" = deepclust/mpi.h ]; then
    # needs MPI's own <mpi.h>; without an MPI installation it is not checked
    if [ -z "$mpi_flags" ]; then echo "skipped (no MPI): $rel"; continue; fi
    extra=$(printf "%s" "$mpi_flags" | sed "s/-I/-isystem /g") # MPI's own warnings are not ours
  fi
  printf '#include "%s"\nint dc_header_test_dummy;\n' "$rel" > "$tmp/t.c"
  cp "$tmp/t.c" "$tmp/t.cpp"
  if "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" $extra "$tmp/t.c"; then
    pass=$((pass+1)); else echo "FAIL (C99): $rel"; fail=$((fail+1)); fi
  if "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" $extra "$tmp/t.cpp"; then
    pass=$((pass+1)); else echo "FAIL (C++): $rel"; fail=$((fail+1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
