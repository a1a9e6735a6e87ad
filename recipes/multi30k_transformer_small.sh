#!/usr/bin/env bash
# Multi30k En->De Transformer (`small`: 4+4 layers, width 256): train, evaluate, convert every recipe.
# Usage: recipes/multi30k_transformer.sh [DATA_DIR] [OUT_PREFIX]
#   DATA_DIR holds train/val/test2016 .en/.de files (default ../shared/data/multi30k).
# Tuned on val only; test2016 is for reporting. Rerunning resumes training (BackupAndRestore).
set -euo pipefail
DATA="${1:-../shared/data/multi30k}:en-de"
OUT="${2:-.}"
RUN="$OUT/runs/m30k_transformer"

zoo train transformer --preset small --data "$DATA" --out "$RUN" --epochs 25
zoo eval "$RUN" --split val --beam 5
zoo eval "$RUN" --split test --beam 5
for q in float32 float16 dynamic_int8 int8 int16x8; do
  zoo convert "$RUN" --quant "$q" --out "$OUT/artifacts/m30k_transformer_$q"
done
