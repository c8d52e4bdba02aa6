#!/bin/sh
# Runs an example program and checks its exit status and output.
#   run_example.sh STATUS PATTERN PROGRAM [ARGS...]
# Passes when PROGRAM exits with STATUS and its output (stdout + stderr)
# has a line matching the extended regular expression PATTERN.
status=$1
pattern=$2
shift 2
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne "$status" ]; then
    echo "run_example: exit status $rc, expected $status" >&2
    exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
    echo "run_example: no output line matches: $pattern" >&2
    exit 1
fi
