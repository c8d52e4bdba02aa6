#!/bin/sh
# Every exported dc_ symbol of the library is documented somewhere in docs/,
# and docs/api.md matches the headers.
set -eu
lib=$1 root=$2
missing=0 found=0
for s in $(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 ~ /^dc_/ {print $3}'); do
  if grep -rqw -- "$s" "$root/docs"; then found=$((found+1)); else echo "undocumented: $s"; missing=$((missing+1)); fi
done
echo "$found passed, $missing failed"
[ "$missing" -eq 0 ] || exit 1
python3 "$root/scripts/gen_api_docs.py" --check
