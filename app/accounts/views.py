"""Pages: sign up, log in, log out, profile (with the API token)."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError

from app.accounts import services
from app.accounts.forms import EmptyForm, LoginForm, SignupForm
from app.accounts.models import User
from app.accounts.schemas import SignupSchema
from app.errors import AppError, TooManyRequests, first_validation_message
from app.extensions import db, limiter, login
from flask import current_app

bp = Blueprint("accounts", __name__)
login.login_view = "accounts.login_page"
login.login_message = "로그인이 필요합니다."
login.login_message_category = "info"
account_limit = limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"])


@login.user_loader
def load_user(session_id: str) -> User | None:
    """``session_id`` is User.get_id(): "id.generation". A session from before the user's last
    logout or new password (or from before generations existed) no longer matches; a user
    blocked while signed in is signed out by their next request."""
    user_id, _, generation = session_id.partition(".")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or user.blocked or generation != str(user.session_generation):
        return None
    return user


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    return target if target.startswith("/") and not urlsplit(target).netloc and not target.startswith("//") else default


@bp.route("/signup", methods=["GET", "POST"])
@account_limit
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            data = SignupSchema().load({"username": form.username.data, "password": form.password.data})
            user = services.sign_up(data["username"], data["password"])
        except ValidationError as e:
            flash(first_validation_message(e.messages), "error")
        except AppError as e:
            flash(e.message, "error")
        else:
            login_user(user)
            flash("가입을 환영합니다!", "success")
            return redirect(_safe_next(url_for("stories.index")))
    return render_template("accounts/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@account_limit
def login_page():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data)
        except TooManyRequests as e:
            flash(e.message, "error")
            return render_template("accounts/login.html", form=form), 429, {"Retry-After": str(e.retry_after)}
        except AppError as e:
            flash(e.message, "error")
        else:
            login_user(user, remember=True)
            return redirect(_safe_next(url_for("stories.index")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if EmptyForm().validate_on_submit():
        if current_user.is_authenticated:
            services.end_sessions(current_user.id)
        logout_user()
        flash("로그아웃했습니다. 이 계정으로 로그인한 다른 브라우저에서도 로그아웃되었습니다.", "info")
    return redirect(url_for("stories.index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = EmptyForm()
    new_token = None
    if form.validate_on_submit():
        new_token = services.replace_tokens(current_user)
    token_count = len(current_user.tokens)
    response = make_response(render_template("accounts/profile.html", form=form, new_token=new_token,
                                              token_count=token_count))
    response.headers["Cache-Control"] = "no-store"  # it may show a new token
    return response
