"""Errors the worker and the CLI turn into a failed job or a one-line message. Every error
model_server raises on purpose is a ModelServerError (a wrong input also a ValueError), and this
module imports nothing, so web processes may match them with ``isinstance``."""


class ModelServerError(Exception):
    """Base of the errors model_server raises on purpose."""


class GenerationError(ModelServerError):
    """No candidate met the keyword and sentence-count guarantees within the allowed tries."""
