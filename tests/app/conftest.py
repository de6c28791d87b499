"""Helpers for the site's tests: signed-in users, API calls, a story in a given phase."""
import re

import pytest


class ApiClient:
    """The Flask test client speaking JSON with one user's Bearer token (or none)."""

    def __init__(self, client, token: str | None = None):
        self.client, self.token = client, token

    def _headers(self, extra=None):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def get(self, path, **kwargs):
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.client.post(path, json=json if json is not None else {},
                                headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.client.patch(path, json=json or {}, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path, **kwargs):
        return self.client.delete(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


class Users:
    def __init__(self, app, client):
        self.app, self.client = app, client

    def make(self, username: str, role: str = "participant", password: str = "password123") -> ApiClient:
        """A user with an API token; returns a client that calls the API as them."""
        from contextlib import nullcontext

        from flask import has_app_context

        from app.accounts import services

        # Reuse the test's app context (and so its database session) when it has one.
        with nullcontext() if has_app_context() else self.app.app_context():
            user = services.sign_up(username, password, role=role)
            token = services.issue_token(user)
            user_id = user.id
        api = ApiClient(self.app.test_client(), token)
        api.user_id, api.username, api.password = user_id, username, password
        return api

    def signed_in(self, username: str, role: str = "participant", password: str = "password123"):
        """A test client signed in through the login page (session cookie + CSRF token)."""
        api = self.make(username, role, password)
        browser = self.app.test_client()
        page = browser.get("/login")
        response = browser.post("/login", data={"csrf_token": csrf_from(page), "username": username,
                                                "password": password})
        assert response.status_code == 302, response.data
        browser.csrf = csrf_from(browser.get("/"))
        browser.user_id = api.user_id
        return browser


def csrf_from(response) -> str:
    match = re.search(rb'name="csrf-token" content="([^"]+)"', response.data)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


@pytest.fixture
def users(app, client):
    return Users(app, client)


@pytest.fixture
def anonymous(client):
    return ApiClient(client)


OPENING = "그날 아침, 마을 어귀의 느티나무 아래에는 낯선 편지 한 통이 놓여 있었다. 아무도 그 편지를 먼저 열어 보려 하지 않았다."


@pytest.fixture
def make_story(users):
    def make(owner: ApiClient | None = None, **settings):
        owner = owner or users.make("owner")
        response = owner.post("/api/v1/stories", {"title": "느티나무 아래", "opening": OPENING, "settings": settings})
        assert response.status_code == 201, response.json
        return owner, response.json
    return make


@pytest.fixture
def story_in_phase(app, users, make_story):
    """story_in_phase("voting") -> (owner, story, participants): real API calls up to that phase.

    Voting has one keyword proposal (by p1) and one hand-written one (by p2); generating and
    choosing continue with the keyword proposal winning; choosing gets its candidates the way
    the worker stores them (machine.finish_generation), with the model left out."""

    def make(phase: str, k: int = 3):
        owner, story = make_story(candidates_k=k)
        p1, p2 = users.make("p1"), users.make("p2")
        base = f"/api/v1/stories/{story['id']}/round"
        if phase == "proposing":
            return owner, story, [p1, p2]
        assert p1.post(f"{base}/proposals", {"keyword": "편지", "sentences": 2}).status_code == 201
        assert p2.post(f"{base}/proposals", {"text": "바람이 불자 편지가 저절로 펼쳐졌다."}).status_code == 201
        assert owner.post(f"{base}/advance").status_code == 200
        if phase == "voting":
            return owner, story, [p1, p2]
        keyword_id = next(p["id"] for p in owner.get(base).json["proposals"] if p["keyword"])
        assert p1.post(f"{base}/votes", {"proposal_id": keyword_id}).status_code == 200
        assert owner.post(f"{base}/advance").status_code == 200
        if phase == "generating":
            return owner, story, [p1, p2]
        finish_generation(app, story["id"], [f"후보 {i} 편지가 말했다." for i in range(k)])
        assert owner.get(base).json["phase"] == "choosing"
        return owner, story, [p1, p2]

    return make


def finish_generation(app, story_id: int, texts: list[str], base: str = "/models/starter",
                      per_candidate: list[dict] | None = None) -> None:
    """Store candidates for the story's generating round as the worker does (``per_candidate``:
    what the worker records of each, such as the bible notes its prompt held)."""
    from app.extensions import db
    from app.rounds import machine
    from app.rounds.machine import current_round_query
    from app.training.models import ModelVersion

    with app.app_context():
        round_ = db.session.scalar(current_round_query(story_id))
        version = ModelVersion(story_id=None, name="기본 모델", base=base, data={}, metrics={})
        db.session.add(version)
        db.session.commit()
        assert machine.finish_generation(round_.job_id, texts, version, {"k": len(texts)}, per_candidate=per_candidate)
