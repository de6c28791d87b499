"""Who is calling the API: a Bearer token, or the signed-in session of the site's own pages.

Session calls that write must carry the CSRF token (the pages' JS sends X-CSRFToken);
Bearer calls need none, since a browser never attaches that header by itself."""
from functools import wraps

from flask import request
from flask_login import current_user

from app.accounts.models import User
from app.accounts.services import user_for_token
from app.errors import Forbidden, Unauthorized
from app.extensions import csrf

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
API_USER = "relay.api_user"


def caller(required: bool = True, allow_session: bool = True) -> User | None:
    # Kept on the request (not on g, which lives as long as the app context).
    if API_USER in request.environ:
        user = request.environ[API_USER]
    else:
        user = _resolve(allow_session)
        request.environ[API_USER] = user
    if user is None and required:
        raise Unauthorized("로그인이 필요합니다.", code="login_required")
    return user


def _resolve(allow_session: bool) -> User | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        user = user_for_token(header[7:].strip())
        if user is None:
            raise Unauthorized("API 토큰이 올바르지 않습니다.", code="bad_token")
    elif allow_session and current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            csrf.protect()
        user = current_user._get_current_object()
    else:
        return None
    if user.blocked:
        raise Forbidden("차단된 계정입니다.", code="blocked")
    return user


def login_required(view):
    """Resolve the caller before anything else runs (the rate limit keys on it)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        caller(required=True)
        return view(*args, **kwargs)

    return wrapper
