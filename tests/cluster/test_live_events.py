"""The live round server (python -m live) between the site and story pages, over the real Redis
pub/sub: each event is the whole round, a phase change reaches an open stream without the page
fetching anything, and votes arriving together are sent as one."""
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.proxy.stack import free_port, stop, wait_until_answering

pytestmark = [pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live(live_server, broker, tmp_path):
    """The live server reading the round from the test's site, on the test's Redis prefix."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": broker.url, "REDIS_KEY_PREFIX": broker.prefix, "LIVE_SITE_URL": live_server,
           "LIVE_PORT": str(port), "LIVE_BATCH_SECONDS": "1", "LIVE_MAX_STREAMS": "3", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "live.log"
    process = subprocess.Popen([sys.executable, "-m", "live"], cwd=ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/livez", 30, log)
        yield port
    finally:
        stop(process)


class Stream:
    def __init__(self, port: int, story_id: int):
        # a read may wait as long as next_round's deadline: on a loaded host an event can take seconds
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", f"/api/v1/stories/{story_id}/live", headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()

    def next_round(self, within: float = 10.0) -> dict:
        """The next event's round (keep-alive comments and the retry line skipped)."""
        event, deadline = None, time.monotonic() + within
        while True:
            assert time.monotonic() < deadline, f"no round within {within} s"
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "round":
                return json.loads(line[6:])

    def close(self):
        self.conn.close()


def test_a_stream_begins_with_the_round_and_a_phase_change_arrives_whole(live, make_story, users):
    owner, story = make_story()
    stream = Stream(live, story["id"])
    try:
        assert stream.response.status == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        first = stream.next_round()
        assert first["story_id"] == story["id"] and first["phase"] == "proposing" and first["proposals"] == []
        assert users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals",
                                     {"keyword": "비", "sentences": 1}).status_code == 201
        assert [p["keyword"] for p in stream.next_round()["proposals"]] == ["비"]
        assert owner.post(f"/api/v1/stories/{story['id']}/round/advance").json["phase"] == "voting"
        changed = stream.next_round()
        assert changed["phase"] == "voting" and changed["guide"]["help"]  # all a page shows, no fetch needed
        assert changed["my_vote"] is None and not changed["can_advance"]  # nobody's own part
    finally:
        stream.close()


def test_votes_that_arrive_together_reach_the_page_as_one_round(live, story_in_phase, users):
    _owner, story, _people = story_in_phase("voting")
    stream = Stream(live, story["id"])
    try:
        proposal_id = stream.next_round()["proposals"][0]["id"]
        voters = [users.make(f"v{i}") for i in range(5)]
        for voter in voters:
            assert voter.post(f"/api/v1/stories/{story['id']}/round/votes", {"proposal_id": proposal_id}).status_code == 200
        seen = [stream.next_round()["proposals"][0]["votes"]]
        while seen[-1] < 5:
            seen.append(stream.next_round()["proposals"][0]["votes"])
        assert len(seen) < 5  # five votes, fewer rounds sent: they were batched
    finally:
        stream.close()


def test_an_unknown_story_is_404_and_a_full_server_tells_the_page_to_poll(live, make_story):
    _owner, story = make_story()
    conn = http.client.HTTPConnection("127.0.0.1", live, timeout=10)
    conn.request("GET", "/api/v1/stories/999999/live")
    assert conn.getresponse().status == 404
    conn.close()
    streams = [Stream(live, story["id"]) for _ in range(3)]  # LIVE_MAX_STREAMS
    try:
        assert all(s.response.status == 200 for s in streams)
        time.sleep(0.2)
        extra = Stream(live, story["id"])
        assert extra.response.status == 204  # EventSource gives up; the page polls
        extra.close()
    finally:
        for stream in streams:
            stream.close()


def test_a_change_the_web_answers_from_its_saved_round_still_reaches_the_page(live, app, make_story, users):
    """The web may answer the live server with the round it saved a moment before the change;
    the live server sees it is behind the story's revision and reads again."""
    app.config["ROUND_CACHE_SECONDS"] = 2.5
    _owner, story = make_story()
    stream = Stream(live, story["id"])
    try:
        assert stream.next_round()["proposals"] == []  # read, and saved by the web for 2.5 s
        assert users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals",
                                     {"keyword": "비", "sentences": 1}).status_code == 201
        assert [p["keyword"] for p in stream.next_round()["proposals"]] == ["비"]
    finally:
        stream.close()
