"""Security hardening: sessions that end at logout, headers, login abuse, usernames by case."""
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.app.conftest import csrf_from

ROOT = Path(__file__).resolve().parents[2]
STRONG = "느티나무-아래-편지"


def copy_cookies(source, names=("session", "remember_token")):
    """A second browser holding copies of the first one's cookies (a stolen cookie)."""
    thief = source.application.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def log_in(client, username, password, **kwargs):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page), "username": username, "password": password},
                       **kwargs)


# --- Sessions end at logout ----------------------------------------------------------------

@pytest.mark.parametrize("stolen", [("session",), ("remember_token",), ("session", "remember_token")])
def test_a_copied_cookie_stops_working_at_logout(users, stolen):
    browser = users.signed_in("lee")
    assert browser.get_cookie("remember_token") is not None
    thief = copy_cookies(browser, stolen)
    assert thief.get("/profile").status_code == 200
    browser.post("/logout", data={"csrf_token": browser.csrf})
    assert thief.get("/profile").status_code == 302
    assert thief.post("/api/v1/stories", json={"title": "t", "opening": "훔친 쿠키로 쓰는 첫 글입니다."},
                      headers={"X-CSRFToken": browser.csrf}).status_code == 401


def test_logout_leaves_api_tokens_alone(users):
    kim = users.make("kim")
    browser = kim.client
    log_in(browser, "kim", kim.password)
    browser.post("/logout", data={"csrf_token": csrf_from(browser.get("/"))})
    assert kim.post("/api/v1/stories", {"title": "토큰", "opening": "토큰은 로그아웃과 상관없이 씁니다."}).status_code == 201


def test_a_new_password_ends_every_session(users, runner):
    browser = users.signed_in("boss")
    assert runner.invoke(args=["create-admin", "boss", "--password", "새-비밀번호-2번"]).exit_code == 0
    assert browser.get("/profile").status_code == 302
    assert log_in(users.app.test_client(), "boss", "새-비밀번호-2번").status_code == 302


def test_the_remember_cookie_is_httponly_lax_and_lasts_two_weeks(users):
    browser = users.app.test_client()
    users.make("kim")
    response = log_in(browser, "kim", "password123")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=14)) < timedelta(minutes=1)


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.REMEMBER_COOKIE_SECURE and ProductionConfig.SESSION_COOKIE_SECURE
    assert ProductionConfig.REMEMBER_COOKIE_HTTPONLY and ProductionConfig.REMEMBER_COOKIE_SAMESITE == "Lax"


# --- Headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/stories", "/no-such-page"])
def test_every_answer_forbids_framing_and_sniffing(client, path):
    headers = client.get(path).headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["object-src"] == "'none'"


def test_answers_that_show_a_token_are_never_stored(anonymous, users):
    signup = anonymous.post("/api/v1/auth/signup", {"username": "saver", "password": STRONG})
    assert signup.status_code == 201 and signup.headers["Cache-Control"] == "no-store"
    token = anonymous.post("/api/v1/auth/token", {"username": "saver", "password": STRONG})
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    browser = users.signed_in("kim")
    profile = browser.post("/profile", data={"csrf_token": browser.csrf})
    assert 'id="api-token"' in profile.get_data(as_text=True)
    assert profile.headers["Cache-Control"] == "no-store"


def test_templates_run_no_inline_script_or_style():
    """The CSP allows scripts and styles from our own files only."""
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: inline {tag}"
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", text), template.name


# --- Login abuse -----------------------------------------------------------------------------

LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN_FAILURES": "3/minute", "RATELIMIT_ACCOUNT": "100/minute"}


@pytest.mark.parametrize("site_overrides", [LIMITED])
def test_failed_logins_are_throttled_per_account_from_any_address(users, anonymous, site_overrides):
    from app.extensions import limiter

    limiter.reset()
    users.make("target", password=STRONG)
    users.make("bystander", password=STRONG)
    for i in range(3):  # each guess from another address
        bad = anonymous.post("/api/v1/auth/token", {"username": "TARGET", "password": f"guess-{i}-wrong"},
                             environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        assert bad.status_code == 401
    refused = anonymous.post("/api/v1/auth/token", {"username": "target", "password": STRONG},
                             environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) >= 1 and re.search("[가-힣]", refused.json["error"]["message"])
    page = log_in(users.app.test_client(), "target", STRONG, environ_base={"REMOTE_ADDR": "10.0.0.10"})
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "로그인 시도가 너무 많습니다" in page.get_data(as_text=True)
    assert anonymous.post("/api/v1/auth/token", {"username": "bystander", "password": STRONG}).status_code == 200


@pytest.mark.parametrize("site_overrides", [LIMITED])
def test_a_successful_login_forgets_earlier_mistakes(users, anonymous, site_overrides):
    from app.extensions import limiter

    limiter.reset()
    users.make("typo", password=STRONG)
    attempts = ["wrong-password", "wrong-password", STRONG] * 2
    codes = [anonymous.post("/api/v1/auth/token", {"username": "typo", "password": p}).status_code for p in attempts]
    assert codes == [401, 401, 200, 401, 401, 200]


@pytest.mark.parametrize("site_overrides", [{"RATELIMIT_ENABLED": True, "RATELIMIT_ACCOUNT": "2/minute"}])
def test_a_page_over_its_limit_says_when_to_come_back(client, site_overrides):
    from app.extensions import limiter

    limiter.reset()
    codes = [log_in(client, "x", "wrong-password").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = log_in(client, "x", "wrong-password")
    assert int(limited.headers["Retry-After"]) >= 1
    assert "요청이 너무 많습니다" in limited.get_data(as_text=True)


@pytest.mark.parametrize("password", ["qwer1234", "1q2w3e4r", "password", "12345678", "Password123", "minji2024",
                                      "4202ijnim", "xMinji2024x"])
def test_common_passwords_and_the_username_are_refused_at_signup(anonymous, password):
    response = anonymous.post("/api/v1/auth/signup", {"username": "Minji2024", "password": password})
    assert response.status_code == 400, password
    assert "password" in response.json["error"]["fields"]
    assert re.search("[가-힣]", response.json["error"]["message"])


@pytest.mark.parametrize("username, password", [
    ("새사람", "        "), ("새사람", "Passw0rd!"), ("새사람", "qazwsx12"), ("새사람", "letmein!!"),
    ("kim", "kimkim12"), ("kim", "kim19900101"), ("Minji", "M1nj1!2024"), ("joon", "j00n1234!"),
])
def test_passwords_the_estimator_finds_guessable_are_refused_in_korean(anonymous, db, username, password):
    """Spaces, l33t, keyboard walks, dates and names the old hand list let through."""
    from app.accounts.models import User

    response = anonymous.post("/api/v1/auth/signup", {"username": username, "password": password})
    assert response.status_code == 400, password
    assert "짐작하기 쉬운 비밀번호" in response.json["error"]["fields"]["password"][0]
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("username, password", [("김민지", "rlaalswl12"), ("민지", "alswl2024!"), ("하늘", "gksmf-rlcl-7")])
def test_a_hangul_username_typed_in_latin_mode_counts_as_the_username(anonymous, username, password):
    response = anonymous.post("/api/v1/auth/signup", {"username": username, "password": password})
    assert response.status_code == 400 and "아이디가 들어간" in response.json["error"]["fields"]["password"][0]


@pytest.mark.parametrize("password", ["maple-letter-42", "가을-편지-123", "느티나무-아래-편지", "autumn-letter-1"])
def test_passphrases_are_accepted(anonymous, password):
    assert anonymous.post("/api/v1/auth/signup", {"username": "새사람", "password": password}).status_code == 201


def test_the_signup_page_refuses_a_guessable_password_in_korean(client):
    page = client.get("/signup")
    response = client.post("/signup", data={"csrf_token": csrf_from(page), "username": "새사람",
                                            "password": "Passw0rd!", "password2": "Passw0rd!"})
    assert response.status_code == 200 and "짐작하기 쉬운 비밀번호입니다" in response.get_data(as_text=True)


def test_the_signup_page_refuses_a_common_password_in_korean(client):
    page = client.get("/signup")
    response = client.post("/signup", data={"csrf_token": csrf_from(page), "username": "새사람",
                                            "password": "1q2w3e4r", "password2": "1q2w3e4r"})
    assert response.status_code == 200 and "너무 흔한 비밀번호입니다" in response.get_data(as_text=True)


def test_a_new_admin_password_follows_the_same_rules(runner):
    result = runner.invoke(args=["create-admin", "root_admin", "--password", "qwer1234"])
    assert result.exit_code != 0 and "흔한" in result.output


def test_an_unknown_user_costs_a_password_check_too(users, anonymous, monkeypatch):
    from app.accounts import passwords

    checked = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    users.make("known")
    assert anonymous.post("/api/v1/auth/token", {"username": "known", "password": "wrong-password"}).status_code == 401
    assert anonymous.post("/api/v1/auth/token", {"username": "nobody", "password": "wrong-password"}).status_code == 401
    assert len(checked) == 2 and checked[1].split(":")[0] == checked[0].split(":")[0]


@pytest.mark.parametrize("site_overrides", [{"PROXY_HOPS": 1}])
def test_behind_the_proxy_the_client_address_comes_from_x_forwarded_for(app, site_overrides):
    from flask import request

    app.add_url_rule("/_addr", "addr", lambda: request.remote_addr)
    answer = app.test_client().get("/_addr", headers={"X-Forwarded-For": "203.0.113.7"},
                                   environ_base={"REMOTE_ADDR": "172.18.0.2"})
    assert answer.get_data(as_text=True) == "203.0.113.7"


def test_without_a_proxy_x_forwarded_for_is_ignored(app):
    from flask import request

    app.add_url_rule("/_addr", "addr", lambda: request.remote_addr)
    answer = app.test_client().get("/_addr", headers={"X-Forwarded-For": "203.0.113.7"},
                                   environ_base={"REMOTE_ADDR": "172.18.0.2"})
    assert answer.get_data(as_text=True) == "172.18.0.2"


# --- Usernames, case-insensitively ---------------------------------------------------------

def test_usernames_that_differ_only_in_case_are_one_name(anonymous, db):
    from app.accounts.models import User

    assert anonymous.post("/api/v1/auth/signup", {"username": "Minji", "password": STRONG}).status_code == 201
    taken = anonymous.post("/api/v1/auth/signup", {"username": "minji", "password": STRONG})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "username_taken"
    assert "이미 사용 중인 아이디" in taken.json["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_the_database_refuses_a_name_that_differs_only_in_case(db):
    from sqlalchemy.exc import IntegrityError

    from app.accounts.models import User

    db.session.add_all([User(username="Seojun", password_hash="x"), User(username="SEOJUN", password_hash="x")])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_signup_page_says_the_name_is_taken_whatever_its_case(users, client):
    users.make("Haneul")
    page = client.get("/signup")
    response = client.post("/signup", data={"csrf_token": csrf_from(page), "username": "haneul",
                                            "password": STRONG, "password2": STRONG})
    assert response.status_code == 200 and "이미 사용 중인 아이디입니다" in response.get_data(as_text=True)


def test_login_ignores_the_case_of_the_username(users, anonymous, client):
    users.make("Doyun", password=STRONG)
    assert anonymous.post("/api/v1/auth/token", {"username": "doyun", "password": STRONG}).status_code == 200
    assert log_in(client, "DOYUN", STRONG).status_code == 302
    assert "Doyun" in client.get("/profile").get_data(as_text=True)
