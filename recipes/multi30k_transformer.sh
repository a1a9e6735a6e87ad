#!/usr/bin/env bash
# Multi30k En->De Transformer, preset `multi30k` (the fairseq transformer_tiny recipe, cased, pre-norm):
# 4+4 layers of width 128, one joint WordPiece vocabulary and token table, no attention dropout,
# inverse-sqrt schedule, 130 epochs, the last 10 averaged (test2016 beam 5: 40.01 / 40.43 cased /
# lowercased). Trains, evaluates, converts every recipe and writes the dynamic_int8 artifact with
# its model card to models/multi30k_en_de_transformer_preset. It is the teacher of
# recipes/multi30k_transformer_distilled.sh (pass it artifacts/m30k_transformer_float32), whose
# student is the shipped models/multi30k_en_de_transformer.
# Usage: recipes/multi30k_transformer.sh [DATA_DIR] [OUT_PREFIX]
#   DATA_DIR holds train/val/test2016 .en/.de files (default ../shared/data/multi30k).
# Tuned on val only; test2016 is for reporting. Rerunning resumes training (BackupAndRestore);
# 1.7 h of training on 2 idle cores of an AVX-512 AMD EPYC (about 47 s per epoch), about 11 h on
# 2 cores of an older AVX2 one (7.2 h for 60 epochs there).
set -euo pipefail
DATA="${1:-../shared/data/multi30k}:en-de"
OUT="${2:-.}"
RUN="$OUT/runs/m30k_tiny"

zoo train transformer --preset multi30k --data "$DATA" --out "$RUN"
zoo eval "$RUN" --split val --beam 5
zoo eval "$RUN" --split test --beam 5
"$(dirname "$0")/ship_multi30k.sh" "$RUN" "$OUT/artifacts/m30k_transformer" \
  "$OUT/models/multi30k_en_de_transformer_preset" "Multi30k English→German Transformer (preset, original data)" "$DATA" \
  float32 float16 dynamic_int8 int8 int16x8
