import pytest

from app.jobs.models import Job


def test_openapi_is_generated_from_the_schemas(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/stories", "/api/v1/stories/{story_id}/round", "/api/v1/stories/{story_id}/round/votes",
                 "/api/v1/jobs/{job_id}", "/put_Human_txt", "/api/v1/auth/signup"]:
        assert path in spec["paths"], path
    vote_in = spec["components"]["schemas"]["VoteIn"]["properties"]
    assert set(vote_in) == {"proposal_id", "candidate_id"}
    proposal_in = spec["components"]["schemas"]["ProposalIn"]["properties"]
    assert proposal_in["sentences"]["minimum"] == 1 and proposal_in["sentences"]["maximum"] == 10
    round_props = spec["components"]["schemas"]["Round"]["properties"]
    assert {"id", "number", "phase", "deadline", "proposals", "candidates", "my_vote"} <= set(round_props)
    assert "409" in spec["paths"]["/api/v1/stories/{story_id}/round/votes"]["post"]["responses"]


def test_openapi_describes_novels_training_votes_and_admin_calls(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").json
    upload = spec["paths"]["/api/v1/novels"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"400", "409", "413"} <= set(upload["responses"])
    fields = spec["components"]["schemas"]["NovelUploadFields"]
    assert set(fields["required"]) == {"author", "licence"}
    assert "in_training_set" in spec["components"]["schemas"]["TrainingVoteOut"]["properties"]
    action = spec["paths"]["/api/v1/admin/users/{user_id}/{action}"]["post"]
    assert next(p for p in action["parameters"] if p["name"] == "action")["schema"]["enum"] == [
        "block", "unblock", "make-admin"]
    assert "403" in spec["paths"]["/api/v1/admin/novels/{novel_id}/{action}"]["post"]["responses"]


def test_healthz_wants_a_recent_worker_heartbeat(client, db):
    from app.health import beat

    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "ok"
    beat("test-worker")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["worker"] == "ok"


def test_method_not_allowed_is_json(anonymous):
    response = anonymous.client.delete("/api/v1/stories")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("site_overrides", [{"RATELIMIT_ENABLED": True, "RATELIMIT_VOTE": "3/minute"}])
def test_votes_are_rate_limited_per_user(story_in_phase, users, site_overrides):
    from app.extensions import limiter

    limiter.reset()
    _owner, story, (p1, p2) = story_in_phase("voting")
    path = f"/api/v1/stories/{story['id']}/round/votes"
    proposal_id = p1.get(f"/api/v1/stories/{story['id']}/round").json["proposals"][0]["id"]
    codes = [p1.post(path, {"proposal_id": proposal_id}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = p1.post(path, {"proposal_id": proposal_id})
    assert limited.json["error"]["code"] == "rate_limited" and "Retry-After" in limited.headers
    assert p2.post(path, {"proposal_id": proposal_id}).status_code == 200  # another user has their own budget


# --- put_Human_txt ---------------------------------------------------------------------------

def test_put_human_txt_answers_202_with_a_train_job(make_story, app, anonymous):
    owner, story = make_story()
    passage_id = story["passages"][0]["id"]
    response = owner.get(f"/put_Human_txt?contents_id={passage_id}&is_first=Y")
    assert response.status_code == 202
    job = anonymous.get(f"/api/v1/jobs/{response.json['job_id']}").json
    assert job["kind"] == "train" and job["status"] == "queued" and job["story_id"] == story["id"]
    # One training at a time per story: its lineage would fork otherwise.
    again = owner.post(f"/put_Human_txt?contents_id={passage_id}&is_first=N")
    assert again.status_code == 409 and again.json["error"]["code"] == "already_training"


def test_put_human_txt_refusals(make_story, users, anonymous, db):
    owner, story = make_story()
    passage_id = story["passages"][0]["id"]
    stranger = users.make("stranger")
    assert anonymous.get(f"/put_Human_txt?contents_id={passage_id}&is_first=Y").status_code == 401
    assert stranger.get(f"/put_Human_txt?contents_id={passage_id}&is_first=Y").status_code == 403
    assert owner.get("/put_Human_txt?contents_id=99999&is_first=Y").status_code == 404
    bad = owner.get(f"/put_Human_txt?contents_id={passage_id}&is_first=maybe")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_is_first"
    assert owner.get("/put_Human_txt?contents_id=abc&is_first=Y").status_code == 400
    assert db.session.query(Job).count() == 0


def test_put_human_txt_get_with_only_a_session_cookie_is_refused(make_story, users):
    owner, story = make_story(users.make("owner_page"))
    browser = users.signed_in("owner_page2")
    response = browser.get(f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=Y")
    assert response.status_code == 401  # a GET cannot carry CSRF protection, so cookies don't count


def test_a_database_that_does_not_answer_is_a_503_not_a_crash(make_story, anonymous, monkeypatch):
    from sqlalchemy.exc import OperationalError

    _owner, story = make_story()

    def locked(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr("app.rounds.services.snapshot", locked)
    monkeypatch.setattr("app.stories.views.rounds.snapshot", locked)
    response = anonymous.get(f"/api/v1/stories/{story['id']}/round")
    assert response.status_code == 503 and response.json["error"]["code"] == "unavailable"
    page = anonymous.client.get(f"/stories/{story['id']}")
    assert page.status_code == 503 and "잠시 후 다시 시도해 주세요" in page.get_data(as_text=True)


def test_limiter_middleware_runs_only_when_there_are_default_limits(tmp_path, database_url):
    from app import create_app
    from app.extensions import limiter
    from tests.conftest import site_config

    def hooks(**overrides):
        app = create_app(site_config(tmp_path, database_url, RATELIMIT_ENABLED=True, **overrides))
        return app.before_request_funcs.get(None, [])

    assert limiter._check_request_limit not in hooks()  # every limit here sits on its view
    assert limiter._check_request_limit in hooks(RATELIMIT_DEFAULT="1000/hour")
