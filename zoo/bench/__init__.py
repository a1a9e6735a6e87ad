"""`zoo bench`: quality, size, speed and memory of every family x recipe.

- `runner`: orchestration (convert what is missing, run every stage, write
  the report atomically).
- `quality`: sacreBLEU and exact match against the float32 Keras model.
- `worker`: one measurement per subprocess (latency, peak memory, training
  throughput), so TensorFlow in the parent does not pollute the figures.
- `baselines`: the alternatives measured side by side (Keras tutorial
  decoding, Keras with the K/V cache, CTranslate2).
- `report`: `BENCHMARKS.md` and the PNG plots.

A task's section is one function (see `runner.TASK_SECTIONS`): translation
families share one; a VAE section plugs in the same way.
"""
