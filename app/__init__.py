"""릴레이 소설: the web site. ``create_app()`` wires things up and does nothing else."""
from pathlib import Path

from flask import Flask, render_template

from app.extensions import celery_init_app, csrf, db, init_limiter, is_api_request, limiter, login, migrate
from app.fields import IdConverter, use_korean_messages
from app.json_provider import RelayJSONProvider
from app.particles import particle
from app.times import local_time
from app.security import init_security
from app.sessions import CookieSessionInterface
from config import INSTANCE_DIR, config_for_env

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type | dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_for_env())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.session_interface = CookieSessionInterface()
    app.json = RelayJSONProvider(app)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.setdefault("RESTFUL_JSON", {"ensure_ascii": False})
    use_korean_messages()

    db.init_app(app)
    with app.app_context():
        from app.database import configure_engines

        configure_engines(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login.init_app(app)
    csrf.init_app(app)
    init_limiter(app)
    skip_limiter_middleware(app)
    celery_init_app(app)
    init_security(app)

    from app import models  # noqa: F401  (every table, for Alembic and relationships)
    from app.accounts.views import bp as accounts_bp
    from app.admin.views import bp as admin_bp
    from app.accounts.cli import register_cli
    from app.novels.cli import register_cli as register_novel_cli
    from app.api import bp as api_bp
    from app.api.legacy import bp as legacy_bp
    from app.health import bp as health_bp
    from app.novels.views import bp as novels_bp
    from app.stories.bible_views import bp as bible_bp
    from app.stories.views import bp as stories_bp
    from app.training.views import bp as training_bp

    csrf.exempt(api_bp)  # session calls check CSRF themselves (app/api/auth.py); Bearer calls need none
    limiter.exempt(api_bp)  # the API's writes are limited by app/api/limits.py; reads are not limited
    for blueprint in (accounts_bp, admin_bp, api_bp, legacy_bp, health_bp, novels_bp, stories_bp, bible_bp,
                      training_bp):
        app.register_blueprint(blueprint)
    register_cli(app)
    register_novel_cli(app)
    register_error_pages(app)
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(particle, "particle")  # 「{{ t }}」{{ t | particle("으로") }}

    @app.teardown_request
    def _end_transaction(_exc):
        # Release the database (on SQLite: its write lock) as soon as the response is built,
        # even when a caller keeps the app context alive (tests, CLI).
        if db.session.registry.has():
            db.session.rollback()

    return app


def skip_limiter_middleware(app: Flask) -> None:
    """Flask-Limiter checks every request before it runs, but that check only applies default
    and application-wide limits; ours are all on the views (``limiter.limit`` here, the API's
    own decorator in app/api/limits.py), which check for themselves. Without either kind, the
    check found nothing to do and still cost a noticeable share of a vote's CPU."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        return
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # absent when RATELIMIT_ENABLED is off
        hooks.remove(limiter._check_request_limit)


def register_error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from marshmallow import ValidationError
    from sqlalchemy.exc import OperationalError
    from werkzeug.exceptions import HTTPException

    from app.api.errors import HTTP_MESSAGES, api_error_response, retry_after
    from app.errors import AppError

    @app.errorhandler(AppError)
    @app.errorhandler(ValidationError)
    @app.errorhandler(HTTPException)
    @app.errorhandler(OperationalError)
    def _error(e):
        if is_api_request():
            return api_error_response(e)
        if isinstance(e, OperationalError):
            status, message = 503, "데이터베이스가 잠시 응답하지 않습니다. 잠시 후 다시 시도해 주세요."
        elif isinstance(e, CSRFError):
            status, message = 400, "보안 토큰이 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."
        elif isinstance(e, AppError):
            status, message = e.status, e.message
        elif isinstance(e, HTTPException):
            status, message = e.code or 500, HTTP_MESSAGES.get(e.code, ("", e.description))[1]
        else:
            status, message = 400, "입력값이 올바르지 않습니다."
        headers = {"Retry-After": str(retry_after(e))} if status == 429 else {}
        return render_template("error.html", status=status, message=message), status, headers
