"""Pages: sign up, log in, log out, profile (with the API token)."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError

from app.accounts import services
from app.accounts.forms import EmptyForm, LoginForm, SignupForm
from app.accounts.models import User
from app.accounts.schemas import CredentialsSchema
from app.errors import AppError, first_validation_message
from app.extensions import db, limiter, login
from flask import current_app

bp = Blueprint("accounts", __name__)
login.login_view = "accounts.login_page"
login.login_message = "로그인이 필요합니다."
login.login_message_category = "info"
account_limit = limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"])


@login.user_loader
def load_user(user_id: str) -> User | None:
    # A user blocked while signed in is signed out by their next request.
    user = db.session.get(User, int(user_id))
    return None if user is None or user.blocked else user


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    return target if target.startswith("/") and not urlsplit(target).netloc and not target.startswith("//") else default


@bp.route("/signup", methods=["GET", "POST"])
@account_limit
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            data = CredentialsSchema().load({"username": form.username.data, "password": form.password.data})
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
            user = services.authenticate(form.username.data.strip(), form.password.data)
        except AppError as e:
            flash(e.message, "error")
        else:
            login_user(user, remember=True)
            return redirect(_safe_next(url_for("stories.index")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if EmptyForm().validate_on_submit():
        logout_user()
        flash("로그아웃했습니다.", "info")
    return redirect(url_for("stories.index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = EmptyForm()
    new_token = None
    if form.validate_on_submit():
        new_token = services.replace_tokens(current_user)
    token_count = len(current_user.tokens)
    return render_template("accounts/profile.html", form=form, new_token=new_token, token_count=token_count)
