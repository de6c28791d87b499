import re

from sqlalchemy import func, select


def test_signup_returns_id_username_and_a_working_token(anonymous, app):
    response = anonymous.post("/api/v1/auth/signup", {"username": "민지", "password": "secret-river-pass"})
    assert response.status_code == 201
    body = response.json
    assert body["username"] == "민지" and isinstance(body["id"], int) and len(body["token"]) > 20
    story = anonymous.client.post("/api/v1/stories", json={"title": "t", "opening": "열 글자가 넘는 첫 글입니다."},
                                  headers={"Authorization": f"Bearer {body['token']}"})
    assert story.status_code == 201
    assert story.json["passages"][0]["author"] == "민지"


def test_password_is_stored_hashed(anonymous, db):
    from app.accounts.models import ApiToken, User

    anonymous.post("/api/v1/auth/signup", {"username": "hashy", "password": "plain-password"})
    user = db.session.scalar(select(User).where(User.username == "hashy"))
    assert "plain-password" not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    token_row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert len(token_row.token_hash) == 64  # only the SHA-256 of the token is kept


def test_duplicate_username_is_a_conflict_and_writes_nothing(anonymous, db):
    from app.accounts.models import User

    assert anonymous.post("/api/v1/auth/signup", {"username": "same", "password": "autumn-letter-1"}).status_code == 201
    response = anonymous.post("/api/v1/auth/signup", {"username": "same", "password": "autumn-letter-2"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "username_taken"
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_bad_signup_fields_get_400_with_korean_messages(anonymous):
    for body, field in [({"username": "a", "password": "password1"}, "username"),
                        ({"username": "good_name", "password": "short"}, "password"),
                        ({"username": "bad name!", "password": "password1"}, "username"),
                        ({"password": "password1"}, "username")]:
        response = anonymous.post("/api/v1/auth/signup", body)
        assert response.status_code == 400, body
        error = response.json["error"]
        assert error["code"] == "invalid" and field in error["fields"]
        assert re.search("[가-힣]", error["message"])


def test_token_endpoint_checks_the_password(users, anonymous):
    users.make("kim", password="correct-horse")
    ok = anonymous.post("/api/v1/auth/token", {"username": "kim", "password": "correct-horse"})
    assert ok.status_code == 200 and ok.json["token"]
    bad = anonymous.post("/api/v1/auth/token", {"username": "kim", "password": "wrong-horse"})
    assert bad.status_code == 401 and bad.json["error"]["code"] == "bad_credentials"


def test_unknown_bearer_token_is_401_and_missing_login_is_401(anonymous, make_story):
    _owner, story = make_story()
    path = f"/api/v1/stories/{story['id']}/round/proposals"
    assert anonymous.post(path, {"keyword": "달", "sentences": 1}).status_code == 401
    response = anonymous.post(path, {"keyword": "달", "sentences": 1}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json["error"]["code"] == "bad_token"


def test_blocked_user_is_refused(users, db, make_story):
    from app.accounts.models import User

    _owner, story = make_story()
    mallory = users.make("mallory")
    db.session.get(User, mallory.user_id).blocked = True
    db.session.commit()
    response = mallory.post(f"/api/v1/stories/{story['id']}/round/proposals", {"keyword": "달", "sentences": 1})
    assert response.status_code == 403 and response.json["error"]["code"] == "blocked"


def test_page_signup_logs_in_and_profile_issues_a_token(client):
    page = client.get("/signup")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
    response = client.post("/signup", data={"csrf_token": token, "username": "새사람", "password": "가을-편지-123",
                                            "password2": "가을-편지-123"})
    assert response.status_code == 302
    profile = client.get("/profile")
    assert "새사람" in profile.get_data(as_text=True)
    form_token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', profile.data).group(1).decode()
    issued = client.post("/profile", data={"csrf_token": form_token}).get_data(as_text=True)
    api_token = re.search(r'<pre class="token" id="api-token">([^<]+)</pre>', issued).group(1)
    me = client.application.test_client().post(
        "/api/v1/stories", json={"title": "토큰으로", "opening": "토큰으로 쓰는 이야기의 첫 글입니다."},
        headers={"Authorization": f"Bearer {api_token}"})
    assert me.status_code == 201


def test_login_form_without_csrf_token_is_refused(users, client):
    users.make("kim", password="password123")
    response = client.post("/login", data={"username": "kim", "password": "password123"})
    assert response.status_code == 400
    assert "보안 토큰" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302  # still not logged in


def test_wrong_password_on_the_login_page_shows_a_korean_message(users, client):
    users.make("kim", password="password123")
    page = client.get("/login")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
    response = client.post("/login", data={"csrf_token": token, "username": "kim", "password": "nope-nope"})
    assert response.status_code == 200
    assert "아이디 또는 비밀번호가 올바르지 않습니다" in response.get_data(as_text=True)


def test_logout_needs_a_post_with_csrf(users):
    browser = users.signed_in("lee")
    assert browser.get("/profile").status_code == 200
    browser.post("/logout", data={"csrf_token": browser.csrf})
    assert browser.get("/profile").status_code == 302


def test_create_admin_creates_then_promotes(runner, users, db):
    from app.accounts.models import User

    result = runner.invoke(args=["create-admin", "root_admin", "--password", "admin-pass-1"])
    assert result.exit_code == 0 and "created" in result.output
    assert db.session.scalar(select(User.role).where(User.username == "root_admin")) == "admin"
    users.make("plain")
    result = runner.invoke(args=["create-admin", "plain"])
    assert result.exit_code == 0 and "promoted" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(User.role).where(User.username == "plain")) == "admin"
    assert runner.invoke(args=["create-admin", "nobody_yet"]).exit_code != 0  # a new admin needs a password


def test_a_participants_token_is_remembered_briefly_and_forgotten_when_replaced(users, app, db):
    from app.accounts import services
    from app.accounts.models import ApiToken, User

    kim = users.make("kim")
    assert services.user_for_token(kim.token).username == "kim"
    # Deleted behind the site's back: this process still remembers it, within the TTL...
    db.session.execute(db.delete(ApiToken).where(ApiToken.user_id == kim.user_id))
    db.session.commit()
    assert services.user_for_token(kim.token).id == kim.user_id
    # ...but the site's own way of revoking tokens forgets it at once.
    new_token = services.replace_tokens(db.session.get(User, kim.user_id))
    assert services.user_for_token(kim.token) is None
    assert services.user_for_token(new_token).id == kim.user_id


def test_admins_and_a_zero_ttl_are_never_served_from_memory(users, app, db):
    from app.accounts import services
    from app.accounts.models import ApiToken

    boss = users.make("boss", role="admin")
    assert services.user_for_token(boss.token).is_admin
    db.session.execute(db.delete(ApiToken).where(ApiToken.user_id == boss.user_id))
    db.session.commit()
    assert services.user_for_token(boss.token) is None

    app.config["TOKEN_CACHE_SECONDS"] = 0
    app.extensions.pop("relay.token_cache", None)
    lee = users.make("lee")
    assert services.user_for_token(lee.token).username == "lee"
    db.session.execute(db.delete(ApiToken).where(ApiToken.user_id == lee.user_id))
    db.session.commit()
    assert services.user_for_token(lee.token) is None
