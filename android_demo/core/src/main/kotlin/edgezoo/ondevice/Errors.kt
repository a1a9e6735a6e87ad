package edgezoo.ondevice

/**
 * Errors the runtime raises for bad input and bad artifacts (mirrors `ondevice/errors.py`).
 *
 * The app shows each as a one-line message.
 */
open class ZooError(message: String) : Exception(message)

/** The text given to a model cannot be processed (empty, too long, ...). */
class InputError(message: String) : ZooError(message)

/** A converted model directory is missing, corrupt or inconsistent. */
class ArtifactError(message: String) : ZooError(message)
