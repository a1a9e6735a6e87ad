"""`zoo bench`: quality, size, speed and memory of every family x recipe.

A top-level package above `zoo/`, `converters/` and `ondevice/` (it may
import all three; none of them imports it). Its modules, each importing only
those listed after it:

- `runner`: orchestration (convert what is missing, run every stage, write
  the report atomically); the recipes are `converters.recipes.RECIPES`.
- `report`: `BENCHMARKS.md` and the PNG plots.
- `sections`: what is measured per task (`sections.TASK_SECTIONS`);
  translation families share one section.
- `vae_section`: the VAE section and its report tables.
- `quality`: sacreBLEU and exact match against the float32 Keras model.
- `common`: `run_worker` (one measurement in a `bench.worker` subprocess)
  and `run_summary` (the training run behind a family's rows).
- `worker`: the subprocess side: one measurement per process (latency, peak
  memory, training throughput), so TensorFlow in the parent does not
  pollute the figures. Started with `python -m bench.worker`; no other
  module imports it.
- `throughput`: training throughput (run inside the worker).
- `baselines`: the alternatives measured side by side (Keras tutorial
  decoding, Keras with the K/V cache, CTranslate2).
"""
