/**
 * Errors the runtime raises for bad input and bad artifacts (mirrors `ondevice/errors.py`).
 *
 * The page shows each as a one-line message.
 */

/** Base class: a problem the user can fix, reported without a stack trace. */
export class ZooError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** The text given to a model cannot be processed (empty, too long, ...). */
export class InputError extends ZooError {}

/** A converted model directory is missing, corrupt or inconsistent. */
export class ArtifactError extends ZooError {}

/**
 * An argument has the right type but a bad value (Python's `ValueError`, Kotlin's
 * `IllegalArgumentException`): a duplicate vocabulary token, an unknown id, an unknown beam
 * stop rule.
 */
export class ValueError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}
