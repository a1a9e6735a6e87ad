#!/usr/bin/env bash
# Multi30k En->De Transformer, preset `multi30k` (the fairseq transformer_tiny recipe, cased, pre-norm):
# 4+4 layers of width 128, one joint WordPiece vocabulary and token table,
# inverse-sqrt schedule, 60 epochs, the last 10 averaged. Trains, evaluates, converts
# every recipe, and copies the int8 artifact to models/.
# Usage: recipes/multi30k_transformer.sh [DATA_DIR] [OUT_PREFIX]
#   DATA_DIR holds train/val/test2016 .en/.de files (default ../shared/data/multi30k).
# Tuned on val only; test2016 is for reporting. Rerunning resumes training (BackupAndRestore);
# about 5 hours on 2 CPU cores (4-5 minutes per epoch).
set -euo pipefail
DATA="${1:-../shared/data/multi30k}:en-de"
OUT="${2:-.}"
RUN="$OUT/runs/m30k_tiny"

zoo train transformer --preset multi30k --data "$DATA" --out "$RUN"
zoo eval "$RUN" --split val --beam 5
zoo eval "$RUN" --split test --beam 5
for q in float32 float16 dynamic_int8 int8 int16x8; do
  zoo convert "$RUN" --quant "$q" --out "$OUT/artifacts/m30k_transformer_$q" --num-verify 1014
done
