#!/usr/bin/env bash
# Copy converted model directories (written by `zoo convert`) into the app's assets:
#
#   android_demo/copy_artifact.sh artifacts/m30k_int8 [artifacts/m30k_float32 ...]
#   android_demo/copy_artifact.sh --clean            # remove every bundled model
#
# Each ARTIFACT_DIR becomes app/src/main/assets/models/<basename>/ with its manifest.json and
# the files it names (model file, vocabularies). With several, the app shows a chooser.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dest_root="$here/app/src/main/assets/models"

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
if [[ "$1" == "--clean" ]]; then
  rm -rf "$dest_root"
  echo "removed $dest_root"
  exit 0
fi
[[ "$1" == -* ]] && usage

# The files a manifest names (model_file + vocabularies + SentencePiece models), one per line.
named_files() {
  python3 - "$1" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    m = json.load(f)
print(m["model_file"])
for key in ("source_vocabulary", "target_vocabulary", "source_model", "target_model"):
    if key in m["tokenizer"]:
        print(m["tokenizer"][key])
PY
}

seen=()
for src in "$@"; do
  src="${src%/}"
  name="$(basename "$src")"
  if [[ ! -f "$src/manifest.json" ]]; then
    echo "copy_artifact.sh: $src: no manifest.json (not a converted model directory?)" >&2
    exit 2
  fi
  for other in "${seen[@]+"${seen[@]}"}"; do
    if [[ "$other" == "$name" ]]; then
      echo "copy_artifact.sh: two artifacts are named $name; rename one directory" >&2
      exit 2
    fi
  done
  seen+=("$name")
  if ! files="$(named_files "$src/manifest.json")"; then
    echo "copy_artifact.sh: $src/manifest.json: unreadable or incomplete" >&2
    exit 2
  fi
  for f in $files; do
    [[ -f "$src/$f" ]] || { echo "copy_artifact.sh: $src/$f is missing" >&2; exit 2; }
  done
  dest="$dest_root/$name"
  tmp="$dest_root/.$name.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp "$src/manifest.json" "$tmp/"
  for f in $files; do cp "$src/$f" "$tmp/"; done
  rm -rf "$dest"
  mv "$tmp" "$dest"
  echo "bundled $src -> ${dest#"$here"/} ($(du -sh "$dest" | cut -f1))"
done
