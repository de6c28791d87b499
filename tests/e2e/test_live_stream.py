"""A story page behind the proxy with the live round server, as production runs it: changes
arrive on the stream with no polling, and when the live server goes the page polls and misses
nothing."""
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import missing_service, reachable_redis
from tests.e2e.conftest import sign_up, wait_for
from tests.proxy.stack import free_port, nginx_binary, start_nginx, stop, wait_until_answering

pytestmark = [pytest.mark.browser, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]
OPENING = "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다. 주인은 오래된 원고 한 묶음을 꺼내 먼지를 털었다."


@pytest.fixture
def site_overrides():
    redis_url = reachable_redis()
    if nginx_binary() is None:
        missing_service("nginx is not installed (run `make proxy` as root)")
    return {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}:", "LIVE_EVENTS": True}


@pytest.fixture
def stack(app, live_server, tmp_path):
    """nginx in front of the test's site, with the live round server beside it."""
    live_port = free_port()
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"], "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"],
           "LIVE_SITE_URL": live_server, "LIVE_PORT": str(live_port), "PYTHONPATH": str(ROOT)}
    log = tmp_path / "live.log"
    live = subprocess.Popen([sys.executable, "-m", "live"], cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    wait_until_answering(f"http://127.0.0.1:{live_port}/livez", 30, log)
    proxy = start_nginx(tmp_path / "nginx", int(live_server.rsplit(":", 1)[1]), live_port=live_port)
    try:
        yield f"http://127.0.0.1:{proxy.http_port}", live_port, live
    finally:
        stop(proxy.process)
        stop(live)


def open_streams(live_port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{live_port}/livez", timeout=5) as response:
        return json.load(response)["streams"]


def test_changes_arrive_on_the_stream_and_polling_takes_over_when_it_goes(app, stack, browser):
    from app.accounts import services as accounts
    from app.accounts.models import User
    from app.extensions import db
    from app.rounds import machine, services as rounds
    from app.stories import services

    site, live_port, live = stack
    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, site, "앨리스")
    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == "앨리스"))
        story_id = services.create_story(owner, "책방의 원고", OPENING).id
        writer_id = accounts.sign_up("보라", "password123").id
        db.session.remove()
    polls = []
    page.on("request", lambda r: polls.append(time.monotonic()) if r.url.endswith(f"/stories/{story_id}/round") else None)
    page.goto(f"{site}/stories/{story_id}")
    page.wait_for_selector("#propose-form:not([hidden])")
    deadline = time.monotonic() + 10
    while open_streams(live_port) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_streams(live_port) == 1
    time.sleep(1.5)  # past the page's first poll, which may have been due before its stream opened
    quiet_from = time.monotonic()

    with app.app_context():  # from elsewhere: another person, the owner's phone, the deadline
        rounds.propose(story_id, db.session.get(User, writer_id), text="책방 주인은 첫 장을 넘기다 말고 숨을 멈췄다.")
        machine.advance(story_id)
        db.session.remove()
    page.wait_for_selector("#round-phase:has-text('투표')", timeout=5000)
    page.wait_for_selector("#proposals li:has-text('숨을 멈췄다')", timeout=5000)
    assert [t for t in polls if t > quiet_from] == []  # it came on the stream; the page fetched nothing

    page.click("#proposals li:has-text('숨을 멈췄다') button.vote")  # the page's own vote, kept with the stream's tallies
    page.wait_for_selector("#proposals li:has-text('숨을 멈췄다') .choice-meta:has-text('1표')", timeout=5000)
    assert "내 선택" in page.inner_text("#proposals li:has-text('숨을 멈췄다') button.vote")

    stop(live)  # the live server goes: the proxy tells the page so, and it polls
    lost_at = time.monotonic()
    with app.app_context():
        rounds.vote(story_id, db.session.get(User, writer_id),
                    proposal_id=rounds.snapshot(story_id, None)["proposals"][0]["id"])
        db.session.remove()
    page.wait_for_selector("#proposals li:has-text('숨을 멈췄다') .choice-meta:has-text('2표')", timeout=10000)
    assert [t for t in polls if t > lost_at]
