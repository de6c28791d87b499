"""Errors the worker and the CLI turn into a failed job or a one-line message."""


class ModelServerError(Exception):
    """Base of the errors model_server raises on purpose."""


class GenerationError(ModelServerError):
    """No candidate met the keyword and sentence-count guarantees within the allowed tries."""
