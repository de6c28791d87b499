"""Extensions, created here and bound to an app in create_app()."""
from celery import Celery, Task
from flask import Flask, has_app_context, request
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy.orm import DeclarativeBase

from app.jobs.kinds import celery_routing


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()


def rate_limit_key() -> str:
    """Writes are limited per signed-in user (session or API token), else per address."""
    user = request.environ.get("relay.api_user")
    if user is None and current_user and current_user.is_authenticated:
        user = current_user
    return f"user:{user.id}" if user is not None else f"ip:{get_remote_address()}"


limiter = Limiter(key_func=rate_limit_key)


def init_limiter(app: Flask) -> None:
    """Bind the limiter with every key it stores under the site's REDIS_KEY_PREFIX.

    The prefix goes to the storage (limits' ``key_prefix``, "LIMITS" by default), not to
    Flask-Limiter's RATELIMIT_KEY_PREFIX: the API's writes and the login throttle call the
    storage directly (app/api/limits.py, app/accounts/throttle.py), past Flask-Limiter's own
    key building, and their keys were "LIMITS:LIMITER/api:…" whatever the prefix, so two sites
    on one Redis shared their users' counters."""
    options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    options.setdefault("key_prefix", f"{app.config.get('REDIS_KEY_PREFIX', '')}LIMITS")
    app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    limiter.init_app(app)


def celery_init_app(app: Flask) -> Celery:
    """Flask's Celery pattern: every task runs inside this app's context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # Called inline (tests, eager mode) an app context is already active; a second one
            # would hide the caller's session from the task. Either way the task's session ends
            # with it (the context's teardown removes it), so no task leaves a transaction open.
            if has_app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()
            with app.app_context():
                return self.run(*args, **kwargs)

    register_embedded_broker()
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object({**app.config["CELERY"], **celery_routing(app.config)})
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def register_embedded_broker() -> None:
    """``relayfs://``: kombu's file broker with atomic writes (app/jobs/broker.py)."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault("relayfs", "app.jobs.broker:Transport")


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/put_Human_txt")
