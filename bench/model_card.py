"""Ship a trained model: copy its artifact to `models/NAME` with a model card.

    python -m bench.model_card --run runs/m30k_tiny \\
        --artifacts float32=artifacts/m30k_float32 int8=artifacts/m30k_int8 \\
        --ship int8 --data ../shared/data/multi30k:en-de --out models/multi30k_en_de_transformer \\
        --title "Multi30k English→German Transformer" --data-terms "Multi30k: ..."

Every artifact and the Keras run are evaluated on the test split (sacreBLEU
cased and lowercased, greedy and beam 5, the numbers of `zoo eval`); the
shipped artifact is copied (atomically, verified by its manifest's sha256)
and `README.md` (the card) and `card.json` (its numbers) are written beside
it. The card says what the model was trained on and under which terms, the
recipe, the training time, BLEU per recipe and the file sizes.
"""

import argparse
import json
import os
import shutil
import sys

from ondevice.manifest import load_manifest
from zoo import atomic
from zoo.evaluation import evaluate

CARD_FILE = "README.md"
CARD_DATA = "card.json"


def measure(run_dir, artifacts, data, split="test", beam=5, max_sentences=None):
    """BLEU (greedy and beam) of the Keras run and of each artifact; sizes of the files."""
    rows = {}
    for name, path in [("keras", run_dir), *artifacts.items()]:
        results = evaluate(path, data=data, split=split, beams=(1, beam), max_sentences=max_sentences)
        greedy, beamed = results[0], results[-1]
        row = {
            "greedy_cased": greedy["bleu_cased"],
            "greedy_lowercased": greedy["bleu_lowercased"],
            f"beam{beam}_cased": beamed["bleu_cased"],
            f"beam{beam}_lowercased": beamed["bleu_lowercased"],
            "sentences": beamed["sentences"],
        }
        if name != "keras":
            row["model_bytes"] = os.path.getsize(os.path.join(path, "model.tflite"))
        rows[name] = row
        print(f"{name}: {row}", file=sys.stderr, flush=True)
    return rows


def render(title, run_info, epochs, rows, shipped, data_terms, split, beam, example, out):
    """The model card (Markdown)."""
    # The model and how it was trained (one flat `config` in runs made before the split).
    config = {"model": run_info["config"], **({"training": run_info["training"]} if "training" in run_info else {})}
    hours = run_info.get("train_seconds", 0) / 3600
    averaged = run_info.get("averaged_epochs")
    lines = [
        f"# {title}",
        "",
        f"A `{run_info['family']}` translator ({run_info.get('source_lang')}→{run_info.get('target_lang')}) "
        f"converted with the `{shipped}` recipe: `model.tflite` (encoder and decoder as separate signatures), "
        "`manifest.json`, vocabulary. It runs with numpy + LiteRT only:",
        "",
        "```bash",
        'pip install ".[edge]"',
        f'zoo translate {out} "{example}" --beam {beam}',
        "```",
        "",
        "## Data and terms",
        "",
        f"Trained on `{run_info.get('data')}` ({run_info.get('train_pairs')} training pairs); tuned on its val "
        f"split; the scores below are on its {split} split, which was not used for any decision.",
        "",
        data_terms,
        "",
        "## Recipe",
        "",
        f"`zoo train {run_info['family']} --preset {run_info.get('preset')}` "
        f"({epochs} epochs on 2 CPU cores, {hours:.1f} h of training"
        + (f"; the weights of epochs {averaged[0]}–{averaged[-1]} averaged" if averaged else "")
        + ")."
        + (f" {run_info['note']}" if run_info.get("note") else "")
        + " Configuration:",
        "",
        "```json",
        json.dumps(config, indent=1, sort_keys=True),
        "```",
        "",
        f"## Quality ({split}, {rows['keras']['sentences']} sentences, sacreBLEU, cased / lowercased)",
        "",
        f"| model | size | greedy | beam {beam} |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in rows.items():
        size = f"{row['model_bytes'] / 1e6:.1f} MB" if "model_bytes" in row else "(Keras, float32)"
        mark = " (this file)" if name == shipped else ""
        lines.append(
            f"| {name}{mark} | {size} | {row['greedy_cased']:.2f} / {row['greedy_lowercased']:.2f} "
            f"| {row[f'beam{beam}_cased']:.2f} / {row[f'beam{beam}_lowercased']:.2f} |"
        )
    lines += ["", "Written by `python -m bench.model_card`; the numbers are in `card.json`.", ""]
    return "\n".join(lines)


def ship(run_dir, artifacts, shipped, out, title, data_terms, data=None, split="test", beam=5, example="Hello.", max_sentences=None):
    """Evaluate, then write `out` = the `shipped` artifact + card (atomically)."""
    if shipped not in artifacts:
        raise ValueError(f"--ship {shipped!r} is not one of the --artifacts ({', '.join(artifacts)})")
    load_manifest(artifacts[shipped])  # verifies the files against the manifest
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        run_info = json.load(f)
    with open(os.path.join(run_dir, "history.csv"), encoding="utf-8") as f:
        epochs = sum(1 for _ in f) - 1  # one row per trained epoch, across resumes
    rows = measure(run_dir, artifacts, data, split, beam, max_sentences)
    card = render(title, run_info, epochs, rows, shipped, data_terms, split, beam, example, out.rstrip("/"))
    with atomic.staged_directory(out) as staged:  # an existing model stays until the new one is complete
        for name in os.listdir(artifacts[shipped]):
            shutil.copy2(os.path.join(artifacts[shipped], name), os.path.join(staged, name))
        atomic.write_text(os.path.join(staged, CARD_FILE), card)
        atomic.write_json(os.path.join(staged, CARD_DATA), {"run": run_info, "shipped": shipped, split: rows})
        load_manifest(staged)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.model_card", description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="the trained run directory")
    p.add_argument("--artifacts", nargs="+", required=True, metavar="RECIPE=DIR")
    p.add_argument("--ship", required=True, help="the recipe whose artifact is shipped")
    p.add_argument("--out", required=True, help="models/NAME")
    p.add_argument("--title", required=True)
    p.add_argument("--data-terms", required=True, help="where the training data comes from and its license terms")
    p.add_argument("--data", default=None, help="data spec (default: the run's)")
    p.add_argument("--split", default="test", choices=["test", "val"])
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--max-sentences", type=int, default=None, help="evaluate on the first N pairs only (smoke runs)")
    p.add_argument("--example", default="Hello.", help="sentence in the card's usage example")
    args = p.parse_args(argv)
    artifacts = dict(item.split("=", 1) for item in args.artifacts)
    try:
        ship(args.run, artifacts, args.ship, args.out, args.title, args.data_terms, args.data, args.split, args.beam, args.example, args.max_sentences)
    except (ValueError, FileNotFoundError) as e:
        print(f"model_card: error: {e}", file=sys.stderr)
        return 2
    print(f"model written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
