"""Rate limits on API writes: Flask-Limiter's storage and strategy, checked by a lean decorator.

Flask-Limiter's own decorator resolves and filters every limit again on each request (about
1.5 ms of CPU on the vote path, measured with bench/site_bench.py, where the whole vote costs
4 ms); here the limit strings are parsed once and each request makes one ``hit`` per limit on
the same storage (memory when embedded, Redis in production)."""
import functools
import logging
import time

from flask import current_app
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from app.extensions import limiter, rate_limit_key

log = logging.getLogger(__name__)


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


@functools.lru_cache(maxsize=64)
def _parsed(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def rate_limit(config_key: str):
    """Limit the decorated view per caller (user, else address) by ``app.config[config_key]``."""

    def decorator(view):
        scope = f"api:{config_key}"

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if current_app.config.get("RATELIMIT_ENABLED", True):
                key = rate_limit_key()
                for item in _parsed(current_app.config[config_key]):
                    try:
                        allowed = limiter.limiter.hit(item, scope, key)
                    except Exception:
                        # The storage (Redis) is away, e.g. restarting: as Flask-Limiter's
                        # RATELIMIT_SWALLOW_ERRORS does for pages, let the write through rather
                        # than refuse a vote because of the limiter.
                        if not current_app.config.get("RATELIMIT_SWALLOW_ERRORS"):
                            raise
                        log.warning("rate-limit storage unavailable; %s not limited", scope, exc_info=True)
                        break
                    if not allowed:
                        reset = limiter.limiter.get_window_stats(item, scope, key).reset_time
                        raise RateLimited(max(1, int(reset - time.time()) + 1))
            return view(*args, **kwargs)

        return wrapper

    return decorator
