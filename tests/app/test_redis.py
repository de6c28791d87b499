"""Production wiring on Redis: a Celery broker between real processes, rate limits shared by
web processes."""
import uuid

import pytest

from tests.app.worker_process import start_worker, stop_worker, wait_for
from tests.conftest import reachable_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url():
    return reachable_redis()


def test_two_web_processes_share_one_rate_limit_in_redis(tmp_path, database_url, redis_url, users):
    from app import create_app
    from tests.app.conftest import ApiClient
    from tests.conftest import site_config

    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    settings = dict(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, REDIS_KEY_PREFIX=prefix,
                    RATELIMIT_WRITE="3/minute")
    first, second = (create_app(site_config(tmp_path, database_url, **settings)) for _ in range(2))
    owner = users.make("owner")
    codes = []
    for app in (first, second, first, second):
        client = ApiClient(app.test_client(), owner.token)
        codes.append(client.post("/api/v1/stories", {"title": "t", "opening": "레디스를 함께 쓰는 두 웹 프로세스의 글."}).status_code)
    assert codes == [201, 201, 201, 429]


def test_two_sites_on_one_redis_keep_their_rate_limits_apart_under_their_prefixes(tmp_path, database_url, redis_url,
                                                                                 users):
    """User 1 of one site is not user 1 of another: each site's limit keys start with its own
    REDIS_KEY_PREFIX (API writes, failed logins and the pages' limits alike)."""
    import redis

    from app import create_app
    from tests.app.conftest import ApiClient, csrf_from
    from tests.conftest import site_config

    prefixes = [f"test-{uuid.uuid4().hex[:8]}:" for _ in range(2)]
    owner = users.make("owner")  # the same user id on both sites (they share this test's database)
    body = {"title": "t", "opening": "두 사이트가 레디스 하나를 함께 쓴다."}
    codes = []
    for prefix in prefixes:  # one after the other: the limiter, like a web process, serves one app at a time
        site = create_app(site_config(tmp_path, database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url,
                                      REDIS_KEY_PREFIX=prefix, RATELIMIT_WRITE="2/minute"))
        api = ApiClient(site.test_client(), owner.token)
        codes.append([api.post("/api/v1/stories", body).status_code for _ in range(3)])
        ApiClient(site.test_client()).post("/api/v1/auth/token", {"username": "owner", "password": "wrong-guess"})
        browser = site.test_client()  # a page's limit (Flask-Limiter's own decorator)
        browser.post("/signup", data={"csrf_token": csrf_from(browser.get("/signup")), "username": "x"})
    assert codes == [[201, 201, 429], [201, 201, 429]]  # each site counted only its own writes
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [key.decode() for prefix in prefixes for key in client.scan_iter(match=f"{prefix}*", count=500)]
        assert any("RATELIMIT_WRITE" in key for key in keys) and any("login-failures" in key for key in keys)
        assert any("signup" in key for key in keys)
        strays = [key.decode() for key in client.scan_iter(match="LIMITS:*", count=500)
                  if any(prefix in key.decode() for prefix in prefixes)]
        assert not strays, strays
    finally:
        for prefix in prefixes:
            for key in client.scan_iter(match=f"{prefix}*", count=500):
                client.delete(key)


def test_failed_logins_for_one_account_are_counted_across_web_processes(tmp_path, database_url, redis_url, users):
    from app import create_app
    from tests.app.conftest import ApiClient
    from tests.conftest import site_config

    settings = dict(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url,
                    REDIS_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:", RATELIMIT_LOGIN_FAILURES="2/minute")
    first, second = (ApiClient(create_app(site_config(tmp_path, database_url, **settings)).test_client())
                     for _ in range(2))
    users.make("target", password="maple-letter-42")

    def login(client, password):
        return client.post("/api/v1/auth/token", {"username": "target", "password": password}).status_code

    assert [login(first, "wrong-guess-1"), login(first, "maple-letter-42")] == [401, 200]  # cleared
    assert [login(first, "wrong-guess-2"), login(second, "wrong-guess-3")] == [401, 401]
    assert login(second, "maple-letter-42") == 429 and login(first, "maple-letter-42") == 429


def test_a_real_worker_on_the_redis_broker(tmp_path, database_url, redis_url, make_story, users, db, app):
    from app.database import utcnow
    from app.rounds.models import Round
    from app.rounds.machine import current_round_query
    from config import celery_settings

    owner, story = make_story(proposing_minutes=1)
    users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals", {"keyword": "비", "sentences": 1})
    db.session.execute(Round.__table__.update().values(deadline=utcnow()))
    db.session.commit()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = celery_settings(redis_url, tmp_path, 5)
    settings["task_default_queue"] = queue
    celery = app.extensions["celery"]
    celery.conf.update(settings)
    worker = start_worker(app, tmp_path / "worker.log", queues=queue, REDIS_URL=redis_url)
    try:
        celery.send_task("relay.tick")

        def voting():
            phase = db.session.scalar(current_round_query(story["id"])).phase
            db.session.rollback()
            return phase == "voting"

        wait_for(voting, 60, "the tick sent through Redis", tmp_path / "worker.log")
    finally:
        stop_worker(worker)
        import redis

        redis.Redis.from_url(redis_url).delete(queue)
