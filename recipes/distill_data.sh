#!/usr/bin/env bash
# Builds a distilled copy of a parallel corpus: sequence-level knowledge distillation (Kim & Rush,
# 2016) with the original pairs kept ("data diversification", Nguyen et al., 2020). The teacher
# translates every training source with beam 5; train.{en,de} then hold each source twice,
# interleaved: once with its reference, once with the teacher's translation. Val and test2016 are
# copied unchanged. Does nothing if DATA_OUT/train.de exists; writes train.* last, atomically.
# Usage: recipes/distill_data.sh TEACHER_ARTIFACT SRC_DIR DATA_OUT
#   29,000 Multi30k sources take about 3 min with a Transformer teacher on 2 cores.
set -euo pipefail
TEACHER="$1"
SRC="$2"
DATA="$3"

if [ -f "$DATA/train.de" ]; then exit 0; fi
mkdir -p "$DATA"
zoo translate "$TEACHER" --beam 5 --batch-size 32 < "$SRC/train.en" > "$DATA/teacher.de.tmp"
mv "$DATA/teacher.de.tmp" "$DATA/teacher.de"
paste -d'\n' "$SRC/train.en" "$SRC/train.en" > "$DATA/train.en.tmp"
paste -d'\n' "$SRC/train.de" "$DATA/teacher.de" > "$DATA/train.de.tmp"
for f in val.en val.de test2016.en test2016.de README.md; do cp "$SRC/$f" "$DATA/"; done
mv "$DATA/train.en.tmp" "$DATA/train.en" && mv "$DATA/train.de.tmp" "$DATA/train.de"
