#!/usr/bin/env bash
# Converts a trained Multi30k En->De run with each recipe (each checked against Keras on all 1,014
# val sentences) and writes the dynamic_int8 artifact with its model card (BLEU of float32,
# dynamic_int8 and int8 on test2016, the data's terms) to MODEL_DIR. Shared by the multi30k_*
# recipes.
# Usage: recipes/ship_multi30k.sh RUN ARTIFACT_PREFIX MODEL_DIR TITLE DATA_SPEC [QUANT...]
#   Artifacts go to ARTIFACT_PREFIX_QUANT; QUANT defaults to float32 dynamic_int8 int8 (the card's
#   three, which must be among them).
set -euo pipefail
RUN="$1"
ART="$2"
MODEL="$3"
TITLE="$4"
DATA="$5"
shift 5
QUANTS=(float32 dynamic_int8 int8)
if [ $# -gt 0 ]; then QUANTS=("$@"); fi

for q in "${QUANTS[@]}"; do
  zoo convert "$RUN" --quant "$q" --out "${ART}_$q" --num-verify 1014
done
python -m bench.model_card --run "$RUN" \
  --artifacts float32="${ART}_float32" dynamic_int8="${ART}_dynamic_int8" int8="${ART}_int8" \
  --ship dynamic_int8 --out "$MODEL" --title "$TITLE" \
  --data-terms "Multi30k En-De (Elliott et al., 2016; github.com/multi30k/dataset), partly derived from Flickr30K: provided for non-commercial research and educational use only. Cite Elliott, Frank, Sima'an, Specia (2016)." \
  --data "$DATA" --example "A man rides a bike."
