"""Decoders measured side by side, all behind `translate_ids(id_lists, beam_size)`.

- `LiteRTDecoder`: the split-signature artifact (numpy + LiteRT).
- `KerasCachedDecoder`: the Keras model's `encode` / `decode_step` with the
  K/V cache (`zoo.keras_step_model.KerasStepModel`), same search code
  (`ondevice.search.decode`).
- `KerasTutorialDecoder`: the Keras/TensorFlow tutorial approach: the whole
  teacher-forced model `model(...)` re-run on the growing prefix for every
  new token (greedy), the encoder included. Eager, as the tutorials run it
  interactively, or compiled with `tf.function` (relaxed shapes), the
  approach's fastest form.
- `converters.ctranslate2_converter.CTranslate2Decoder`: CTranslate2.

Only `LiteRTDecoder` is importable without TensorFlow.
"""

import numpy as np

from ondevice.search import decode
from ondevice.translator import pad_batch


class _SearchDecoder:
    """`translate_ids` over a step model with `ondevice.search`.

    Args:
        step_model: a step model (`LiteRTStepModel`, `KerasStepModel`).
        special: dict with `pad`, `start`, `end` ids.
        max_steps: int. Most decode steps.
    """

    def __init__(self, step_model, special, max_steps):
        self.step_model = step_model
        self.special = special
        self.max_steps = max_steps

    def translate_ids(self, id_lists, beam_size=1, length_penalty=1.0):
        """Greedy (`beam_size` 1) or beam-search token ids of each source."""
        special = self.special
        source = pad_batch(id_lists, special["pad"])
        return decode(
            self.step_model,
            source,
            special["start"],
            special["end"],
            self.max_steps,
            pad_id=special["pad"],
            beam_size=beam_size,
            length_penalty=length_penalty,
        )


class LiteRTDecoder(_SearchDecoder):
    """A converted artifact directory, decoded by the device runtime."""

    def __init__(self, artifact_dir, threads=1):
        from ondevice.litert_model import LiteRTStepModel
        from ondevice.manifest import load_manifest

        manifest = load_manifest(artifact_dir)
        super().__init__(LiteRTStepModel(manifest, num_threads=threads), manifest.special_tokens, manifest.max_target_length)


class KerasCachedDecoder(_SearchDecoder):
    """The Keras model's split graphs with the K/V cache (or LSTM state)."""

    def __init__(self, model):
        from zoo.keras_step_model import KerasStepModel
        from zoo.text_tokenizer import SPECIAL_TOKENS

        super().__init__(KerasStepModel(model), SPECIAL_TOKENS, model.max_target_length)


class KerasTutorialDecoder:
    """Greedy decoding that re-runs the full teacher-forced model per token.

    Args:
        model: a zoo Keras model (`call` takes `encoder_inputs` and
            `decoder_inputs`).
        compiled: bool. Wrap the per-token call in `tf.function`.
    """

    def __init__(self, model, compiled=True):
        import tensorflow as tf

        from zoo.text_tokenizer import SPECIAL_TOKENS

        self.special = SPECIAL_TOKENS
        self.max_steps = model.max_target_length

        def last_logits(source_ids, decoder_ids):
            logits = model({"encoder_inputs": source_ids, "decoder_inputs": decoder_ids}, training=False)
            return logits[:, -1, :]  # (batch, vocab)

        self._last_logits = tf.function(last_logits, reduce_retracing=True) if compiled else last_logits

    def translate_ids(self, id_lists, beam_size=1, length_penalty=1.0):
        if beam_size != 1:
            raise ValueError("the tutorial baseline decodes greedily only")
        source = pad_batch(id_lists, self.special["pad"])
        batch = source.shape[0]
        prefix = np.full((batch, 1), self.special["start"], np.int32)
        done = np.zeros((batch,), bool)
        outputs = [[] for _ in range(batch)]
        for _ in range(self.max_steps):
            token = np.argmax(np.asarray(self._last_logits(source, prefix)), axis=-1).astype(np.int32)
            for b in np.flatnonzero(~done):
                if token[b] == self.special["end"]:
                    done[b] = True
                else:
                    outputs[b].append(int(token[b]))
            if done.all():
                break
            token = np.where(done, self.special["pad"], token).astype(np.int32)
            prefix = np.concatenate([prefix, token[:, None]], axis=1)
        return outputs
