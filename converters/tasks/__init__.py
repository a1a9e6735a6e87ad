"""Per-task conversion logic: calibration data, manifest fields, parity.

`converters.convert` is the same pipeline for every model; what depends on
the *task* (not the family) lives here:

| task          | calibration (int8)                       | parity vs Keras |
| ------------- | ---------------------------------------- | --------------- |
| `translation` | source sentences, greedy decode states    | step argmax agreement along the Keras greedy path, logit diffs |
| `text_vae`    | sentences, posterior/prior z, decode states | z_mean/z_log_var diffs, step argmax agreement decoding from the same z, ELBO |
| `image_vae`   | images, posterior/prior z                | z diffs, decoded pixel diffs, reconstruction loss |

A task class is built with `(model, run_dir, run_info, data, num_calibration,
num_verify, batch_size)` and offers `representative_dataset()`,
`manifest_fields()`, `files()`, `parity(manifest, model_bytes)`,
`check(recipe, parity)` and `summary(parity)`.
"""

import importlib

TASKS = {
    "translation": "converters.tasks.translation:TranslationTask",
    "text_vae": "converters.tasks.text_vae:TextVAETask",
    "image_vae": "converters.tasks.image_vae:ImageVAETask",
}


def get_task(name):
    """The conversion task class for a task name."""
    if name not in TASKS:
        raise ValueError(f"no converter for task {name!r}; known tasks: {', '.join(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)
