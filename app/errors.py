"""Errors that services raise and every front end (API, pages) turns into a clear answer."""


class AppError(Exception):
    """A request the site refuses, with an HTTP status, a stable code and a Korean message."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, code: str | None = None, fields: dict | None = None,
                 details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields
        # Extra keys a client acts on, e.g. the id of the job that is already running.
        self.details = details or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message, **self.details}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class Invalid(AppError):
    status, code = 400, "invalid"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class TooLarge(AppError):
    status, code = 413, "too_large"


class TooManyRequests(AppError):
    """Answered with a Retry-After header of ``retry_after`` seconds (API and pages)."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


def first_validation_message(messages) -> str:
    """The first message of a marshmallow error tree, for pages that show one line."""
    while isinstance(messages, dict):
        if not messages:
            return "입력값이 올바르지 않습니다."
        messages = next(iter(messages.values()))
    if isinstance(messages, list) and messages:
        return first_validation_message(messages[0])
    return str(messages)
