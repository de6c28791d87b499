"""Every API error is ``{"error": {"code", "message"}}`` with a status users can rely on."""
import time

from flask import current_app, jsonify
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.errors import AppError, first_validation_message

HTTP_MESSAGES = {
    400: ("bad_request", "요청이 올바르지 않습니다."),
    401: ("unauthorized", "로그인이 필요합니다."),
    403: ("forbidden", "권한이 없습니다."),
    404: ("not_found", "찾을 수 없습니다."),
    405: ("method_not_allowed", "허용되지 않는 메서드입니다."),
    409: ("conflict", "요청이 현재 상태와 맞지 않습니다."),
    413: ("too_large", "요청이 너무 큽니다."),
    415: ("unsupported_media_type", "JSON으로 보내 주세요."),
    429: ("rate_limited", "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."),
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def retry_after(e: Exception) -> int:
    """Seconds until a refused (429) request may come again."""
    seconds = getattr(e, "retry_after", None)
    if seconds is None:
        from app.extensions import limiter

        try:  # a limit of Flask-Limiter's own decorator (pages, legacy)
            seconds = int(limiter.current_limit.reset_at - time.time())
        except Exception:  # no limit information: a minute is the longest window we use
            seconds = 60
    return max(1, seconds)


def api_error_response(e: Exception):
    if isinstance(e, AppError):
        response = jsonify(e.to_dict())
        if e.status == 429:
            response.headers["Retry-After"] = str(retry_after(e))
        return response, e.status
    if isinstance(e, ValidationError):
        return jsonify(error_body("invalid", first_validation_message(e.messages), e.messages)), 400
    if isinstance(e, CSRFError):
        return jsonify(error_body("csrf", "보안 토큰(CSRF)이 없거나 만료되었습니다. 페이지를 새로 고쳐 주세요.")), 400
    if isinstance(e, HTTPException):
        code, message = HTTP_MESSAGES.get(e.code, ("http_error", e.description or "오류가 발생했습니다."))
        response = jsonify(error_body(code, message))
        response.status_code = e.code
        if e.code == 429:
            response.headers["Retry-After"] = str(retry_after(e))
        return response
    if isinstance(e, OperationalError):  # database down, or SQLite busy past its timeout
        current_app.logger.warning("database unavailable: %s", e)
        response = jsonify(error_body("unavailable", "데이터베이스가 잠시 응답하지 않습니다. 잠시 후 다시 시도해 주세요."))
        response.headers["Retry-After"] = "2"
        return response, 503
    current_app.logger.exception("unhandled error in API request")
    return jsonify(error_body("internal", "서버 오류가 발생했습니다.")), 500
