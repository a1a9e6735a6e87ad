#!/usr/bin/env bash
# Multi30k En->De LSTM (`small`: 2-layer bi-LSTM encoder, 2-layer decoder with Luong attention and
# input feeding): train, evaluate, convert every recipe.
# Usage: recipes/multi30k_lstm.sh [DATA_DIR] [OUT_PREFIX]
#   DATA_DIR holds train/val/test2016 .en/.de files (default ../shared/data/multi30k).
# Tuned on val only; test2016 is for reporting. Rerunning resumes training (BackupAndRestore).
set -euo pipefail
DATA="${1:-../shared/data/multi30k}:en-de"
OUT="${2:-.}"
RUN="$OUT/runs/m30k_lstm"

zoo train lstm --preset small --data "$DATA" --out "$RUN" --epochs 12
zoo eval "$RUN" --split val --beam 5
zoo eval "$RUN" --split test --beam 5
for q in float32 float16 dynamic_int8 int8 int16x8; do
  zoo convert "$RUN" --quant "$q" --out "$OUT/artifacts/m30k_lstm_$q"
done
