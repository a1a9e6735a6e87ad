#!/usr/bin/env bash
# Multi30k En->De Transformer, preset `multi30k` (the fairseq transformer_tiny recipe, cased, pre-norm):
# 4+4 layers of width 128, one joint WordPiece vocabulary and token table, no attention dropout,
# inverse-sqrt schedule, 130 epochs, the last 10 averaged. Trains, evaluates, converts
# every recipe, and ships the dynamic_int8 artifact with its model card to
# models/multi30k_en_de_transformer (since 2026-12-05 it is the teacher of
# recipes/multi30k_transformer_distilled.sh, whose student ships there instead).
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
for q in float32 float16 dynamic_int8 int8 int16x8; do
  zoo convert "$RUN" --quant "$q" --out "$OUT/artifacts/m30k_transformer_$q" --num-verify 1014
done
python -m bench.model_card --run "$RUN" \
  --artifacts float32="$OUT/artifacts/m30k_transformer_float32" dynamic_int8="$OUT/artifacts/m30k_transformer_dynamic_int8" \
    int8="$OUT/artifacts/m30k_transformer_int8" \
  --ship dynamic_int8 --out "$OUT/models/multi30k_en_de_transformer" --title "Multi30k English→German Transformer" \
  --data-terms "Multi30k En-De (Elliott et al., 2016; github.com/multi30k/dataset), partly derived from Flickr30K: provided for non-commercial research and educational use only. Cite Elliott, Frank, Sima'an, Specia (2016)." \
  --data "$DATA" --example "A man rides a bike."
