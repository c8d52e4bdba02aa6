#!/bin/sh
# The shared library exports only dc_-prefixed symbols (and at least some).
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
bad=$(printf '%s\n' "$syms" | grep -v '^dc_' || true)
count=$(printf '%s\n' "$syms" | grep -c '^dc_' || true)
if [ -n "$bad" ]; then echo "non-dc_ exports:"; echo "$bad"; echo "0 passed, 1 failed"; exit 1; fi
if [ "$count" -lt 10 ]; then echo "only $count dc_ exports"; echo "0 passed, 1 failed"; exit 1; fi
echo "exports: $count dc_ symbols"
echo "1 passed, 0 failed"
