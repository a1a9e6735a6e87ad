"""Errors the runtime raises for bad input and bad artifacts.

The CLI turns each into a one-line message and exit status 2.
"""


class ZooError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""


class InputError(ZooError, ValueError):
    """The text given to a model cannot be processed (empty, too long, ...)."""


class ArtifactError(ZooError):
    """A converted model directory is missing, corrupt or inconsistent."""
