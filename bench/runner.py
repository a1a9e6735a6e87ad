"""Orchestration of `zoo bench`: convert what is missing, measure, report.

Stages (one progress bar over all of them, one line per stage in a log): per family, the missing artifacts
are converted (`converters.convert.convert`), a CTranslate2 model is mapped
where the family allows it, quality is scored in this process, and every
latency/memory figure and the training throughput are measured in their own
subprocess (`bench.worker`, started by `bench.common.run_worker`). Each
measurement that fails is recorded with its error, so the report says what
could not be measured instead of stopping. The recipes are those of
`converters.recipes.RECIPES`.
"""

import copy
import json
import os
import platform
import traceback

from bench import report, sections
from converters.recipes import RECIPES
from converters.stage_progress import StageProgress
from zoo import atomic

RESULTS_FILE = "results.json"


def environment():
    """Machine and library versions, for the report header."""
    import importlib.metadata as md

    def version(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "versions": {n: version(n) for n in ("tensorflow", "keras", "keras-hub", "ai-edge-litert", "ctranslate2", "sacrebleu")},
    }


class Bench:
    """One benchmark run; see `run_benchmark` for the arguments."""

    def __init__(self, runs, out_dir, data, artifacts, work_dir, recipes, options):
        self.runs, self.out_dir, self.data = runs, out_dir, data
        self.artifacts = dict(artifacts or {})
        self.work_dir = work_dir or os.path.join(out_dir, "work")
        self.recipes, self.o = recipes, options
        os.makedirs(self.work_dir, exist_ok=True)
        self.log_path = os.path.join(self.work_dir, "workers.log")
        self.results = {"options": dict(options, recipes=list(recipes), data=data), "environment": environment(), "families": {}}
        self.previous = {}
        if options.get("resume") and os.path.exists(os.path.join(self.work_dir, RESULTS_FILE)):
            with open(os.path.join(self.work_dir, RESULTS_FILE), encoding="utf-8") as f:
                self.previous = json.load(f)
            # Start from everything measured before, so a run interrupted again
            # (or one measuring fewer families) never drops earlier figures.
            self.results["families"] = copy.deepcopy(self.previous.get("families", {}))
        self.bar = None

    def _previous(self, family, path):
        value = self.previous.get("families", {}).get(family, {})
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value if isinstance(value, dict) and "error" not in value else None

    def stage(self, family, name, fn, path=None):
        """Run one stage (or restore it with `resume`); a failure is recorded.

        The failure goes to `results[families][family][*path]` as
        `{"error": ...}` (and its traceback to `workers.log`), so the report
        says what could not be measured and the run goes on.
        """
        self.bar.set_description(f"{family}: {name}")
        target = self.results["families"].setdefault(family, {})
        previous = self._previous(family, path) if path and self.o.get("resume") else None
        if previous is not None:
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = previous
        else:
            try:
                fn()
            except Exception as e:  # recorded in the report: "could not be measured"
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(f"--- {family}: {name}\n{traceback.format_exc()}\n")
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                error = {"error": f"{name}: {type(e).__name__}: {first[:300]}"}
                if path:
                    for key in path[:-1]:
                        target = target.setdefault(key, {})
                    target[path[-1]] = error
                else:
                    target.setdefault("errors", []).append(error)
        self.bar.update(1)
        self.save()

    def save(self):
        atomic.write_json(os.path.join(self.work_dir, RESULTS_FILE), self.results)

    def artifact(self, family, recipe):
        key = f"{family}:{recipe}"
        if key not in self.artifacts:
            from converters.convert import convert

            out = os.path.join(self.work_dir, "artifacts", f"{family}_{recipe}")
            if not os.path.exists(os.path.join(out, "manifest.json")):
                convert(self.runs[family], out, recipe=recipe, data=self.data, num_verify=self.o["num_verify"], verbose=False)
            self.artifacts[key] = out
        return self.artifacts[key]


def run_benchmark(
    runs,
    out_dir,
    data=None,
    artifacts=None,
    work_dir=None,
    recipes=tuple(RECIPES),
    quick=False,
    max_sentences=None,
    latency_sentences=None,
    batch_size=32,
    beams=(1, 5),
    throughput_steps=None,
    latency_rounds=None,
    skip=(),
    resume=False,
):
    """Measure every family x recipe and the alternatives; write the report.

    Args:
        runs: dict family -> run directory (`zoo train` output).
        out_dir: str. Receives `BENCHMARKS.md`, the PNG plots and
            `results.json` (each written atomically).
        data: str or None. Data spec (default: each run's own data); BLEU
            is measured on its `test` split.
        artifacts: dict `"family:recipe"` -> existing artifact directory;
            missing recipes are converted into `work_dir`.
        work_dir: str or None. Converted models, logs and partial results
            (default `out_dir/work`).
        recipes: recipe names to measure (default: every recipe of
            `converters.recipes.RECIPES`).
        quick: bool. A smoke run: few sentences, few training steps.
        max_sentences: int or None. Test sentences for BLEU (default all;
            8 in quick mode).
        latency_sentences: int or None. Fixed sample of test sentences for
            latency (default 100; 6 in quick mode).
        batch_size: int. The larger batch for latency and BLEU decoding.
        beams: beam sizes for BLEU and latency.
        throughput_steps: int or None. Measured training steps per
            pipeline (default 60; 3 in quick mode).
        latency_rounds: int or None. Rounds of latency measurements; each
            decoder keeps its fastest (default 3; 1 in quick mode).
        resume: bool. Restore the stages already measured in
            `work_dir/results.json` (a rerun after an interruption, or after
            adding a family) instead of measuring them again.
        skip: stage names to leave out: `baselines`, `ctranslate2`,
            `throughput`, `jit` (training throughput without XLA only).

    Returns:
        The results dict (also in `results.json`).
    """
    options = {
        "quick": quick,
        "max_sentences": max_sentences or (8 if quick else None),
        "latency_sentences": latency_sentences or (6 if quick else 100),
        "batch_size": batch_size,
        "beams": list(beams),
        "throughput_steps": throughput_steps or (3 if quick else 60),
        "throughput_warmup": 2 if quick else 8,
        "num_verify": 16 if quick else 64,
        "warmup": 1 if quick else 3,
        "latency_rounds": latency_rounds or (1 if quick else 3),
        "resume": resume,
        "skip": list(skip),
    }
    bench = Bench(runs, out_dir, data, artifacts, work_dir, recipes, options)
    plans = {family: sections.plan(bench, family) for family in runs}
    total = sum(len(stages) for stages in plans.values()) + 1
    with StageProgress(total, "bench") as bench.bar:
        for family, stages in plans.items():
            for name, fn, path in stages:
                bench.stage(family, name, fn, path)
        bench.bar.set_description("report")
        report.write_report(bench.results, out_dir)
        bench.bar.update(1)
    atomic.write_json(os.path.join(out_dir, RESULTS_FILE), bench.results)
    return bench.results
