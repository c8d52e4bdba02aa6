#!/bin/sh
# Runs examples/edcwrn_train, then examples/edcwrn_predict on the model it
# saved and the same data: training must reach a minimum ACC, and the
# reloaded model must reproduce the training scores exactly.
#   run_edcwrn_examples.sh TRAIN PREDICT WORKDIR [IMAGES LABELS]
# With readable IMAGES and LABELS (Fashion-MNIST IDX files): the first 3000
# images, k = 10, ACC >= 0.40 (k-means on the pixels: about 0.54; the
# example's network is tiny). Otherwise generated data: three blobs in
# [0, 1]^21, each high on its own block of 7 features, k = 3, ACC >= 0.99.
train=$1
predict=$2
work=$3
mkdir -p "$work" || exit 1

fail() {
    echo "run_edcwrn_examples: $*" >&2
    exit 1
}

if [ $# -ge 5 ] && [ -r "$4" ] && [ -r "$5" ]; then
    data=$4 labels=$5 k=10 rows=3000 min=0.40
else
    data=$work/blocks.csv labels=- k=3 rows=0 min=0.99
    awk 'BEGIN {
        srand(1)
        for (i = 0; i < 300; i++) {
            c = i % 3; line = ""
            for (j = 0; j < 21; j++)
                line = line sprintf("%.4f,", (int(j / 7) == c ? 0.85 : 0.1) + 0.2 * (rand() - 0.5))
            print line c
        }
    }' > "$data" || fail "cannot write $data"
fi
model=$work/edcwrn_example.dcm
rm -f "$model"

trained=$("$train" "$data" "$labels" "$k" "$model" "$rows" 2>&1)
rc=$?
printf '%s\n' "$trained"
[ "$rc" -eq 0 ] || fail "edcwrn_train exit status $rc"
[ -s "$model" ] || fail "edcwrn_train wrote no model to $model"

predicted=$("$predict" "$model" "$data" "$labels" "$rows" 2>&1)
rc=$?
printf '%s\n' "$predicted"
[ "$rc" -eq 0 ] || fail "edcwrn_predict exit status $rc"

scores=$(printf '%s\n' "$trained" | grep '^ACC ')
[ -n "$scores" ] || fail "edcwrn_train printed no scores"
[ "$scores" = "$(printf '%s\n' "$predicted" | grep '^ACC ')" ] ||
    fail "the reloaded model's scores differ from the fit's"
acc=$(printf '%s\n' "$scores" | awk '{ print $2 }')
awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }' || fail "ACC $acc < $min"

# LABELS "-" (the last CSV column) with data in another format: a usage
# error (exit 2) that says so, before any training or prediction.
idx=$work/tiny.idx # a 2 x 2 unsigned-byte IDX matrix
printf '\000\000\010\002\000\000\000\002\000\000\000\002\001\002\003\004' > "$idx" ||
    fail "cannot write $idx"
for prog in predict train; do
    if [ $prog = predict ]; then
        msg=$("$predict" "$model" "$idx" - 2>&1)
    else
        msg=$("$train" "$idx" - 2 "$work/never.dcm" 2>&1)
    fi
    rc=$?
    [ "$rc" -eq 2 ] || fail "edcwrn_$prog with LABELS - and IDX data: exit status $rc, want 2: $msg"
    printf '%s\n' "$msg" | grep -q "is not a CSV file" ||
        fail "edcwrn_$prog with LABELS - and IDX data: unclear message: $msg"
done
[ ! -e "$work/never.dcm" ] || fail "edcwrn_train wrote a model after a usage error"
