"""Failed logins, counted per account (RATELIMIT_LOGIN_FAILURES) in Flask-Limiter's storage.

The per-address limit on the login routes (RATELIMIT_ACCOUNT) does not stop a guesser who
spreads over many addresses; this one does. It counts failures only, a correct password
clears the count, and an account over its budget is refused even the right password until
the window ends, so that a guess cannot be told right by its answer."""
import functools
import logging
import time

from flask import current_app
from limits import RateLimitItem, parse_many

from app.errors import TooManyRequests
from app.extensions import limiter

log = logging.getLogger(__name__)
SCOPE = "login-failures"


@functools.lru_cache(maxsize=8)
def _parsed(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def _items() -> tuple[RateLimitItem, ...]:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return ()
    return _parsed(current_app.config["RATELIMIT_LOGIN_FAILURES"])


def _storage_call(method, item: RateLimitItem, account: str):
    try:
        return method(item, SCOPE, account)
    except Exception:
        # Storage (Redis) away: let logins through, as every other limit does (RATELIMIT_SWALLOW_ERRORS).
        if not current_app.config.get("RATELIMIT_SWALLOW_ERRORS"):
            raise
        log.warning("rate-limit storage unavailable; logins not throttled", exc_info=True)
        return None


def check(account: str) -> None:
    """Refuse (429) an account that has used up its failed logins."""
    for item in _items():
        if _storage_call(limiter.limiter.test, item, account) is False:
            stats = _storage_call(limiter.limiter.get_window_stats, item, account)
            wait = max(1, int(stats.reset_time - time.time()) + 1) if stats else 60
            raise TooManyRequests("로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요.",
                                  retry_after=wait, code="too_many_attempts")


def failed(account: str) -> None:
    for item in _items():
        _storage_call(limiter.limiter.hit, item, account)


def succeeded(account: str) -> None:
    for item in _items():
        _storage_call(limiter.limiter.clear, item, account)
