"""Server-sent events of round changes, over the real Redis pub/sub."""
import http.client
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.redis]


def open_events(base: str, story_id: int, token: str | None = None):
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {token}"} if token else {})}
    conn.request("GET", f"/api/v1/stories/{story_id}/events", headers=headers)
    return conn, conn.getresponse()


def test_a_phase_change_reaches_an_open_event_stream(app, live_server, make_story, users):
    owner, story = make_story()
    conn, response = open_events(live_server, story["id"])
    try:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        assert response.readline() == b"retry: 3000\n"  # subscribed: the stream has begun
        assert users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals",
                                     {"keyword": "비", "sentences": 1}).status_code == 201
        assert owner.post(f"/api/v1/stories/{story['id']}/round/advance").json["phase"] == "voting"
        lines = []
        while not lines or not lines[-1].startswith(b"data:"):
            lines.append(response.readline().strip())
        assert b"event: round" in lines and f'"story_id": {story["id"]}'.encode() in lines[-1]
    finally:
        conn.close()


def test_without_a_free_stream_the_page_is_told_to_poll(app, live_server, make_story):
    _owner, story = make_story()
    app.config["SSE_MAX_STREAMS"] = 0
    conn, response = open_events(live_server, story["id"])
    assert response.status == 204  # EventSource gives up; the page keeps polling
    conn.close()
    conn, response = open_events(live_server, 999999)
    assert response.status == 404
    conn.close()


def test_one_client_holds_at_most_its_share_of_streams_and_gets_them_back_when_they_end(app, live_server,
                                                                                         make_story, users):
    """Streams per client (a user, else an address) are capped over every process together: one
    client opening stream after stream no longer takes them all from everyone else."""
    _owner, story = make_story()
    app.config.update(SSE_MAX_STREAMS=10, SSE_MAX_STREAMS_PER_CLIENT=2, SSE_STREAM_SECONDS=3)
    reader = users.make("reader")
    opened = []
    try:
        for _ in range(2):  # anonymous, from this address
            opened.append(open_events(live_server, story["id"]))
            assert opened[-1][1].status == 200 and opened[-1][1].readline() == b"retry: 3000\n"
        conn, third = open_events(live_server, story["id"])
        assert third.status == 204  # the address has its two; the page polls
        conn.close()
        conn, theirs = open_events(live_server, story["id"], token=reader.token)
        assert theirs.status == 200  # a signed-in user is a client of their own, from the same address
        conn.close()
        for conn, response in opened:  # the streams end after SSE_STREAM_SECONDS
            response.read()
        conn, again = open_events(live_server, story["id"])
        assert again.status == 200  # their places were given back
        conn.close()
    finally:
        for conn, _response in opened:
            conn.close()
