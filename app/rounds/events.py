"""What the site says when a story's round changes, in Redis: a revision and a notice.

Every committed change to what a story's round shows (a phase change, a proposal, a vote, the
AI's progress) calls ``changed``: it moves the story's *revision*, a counter, and publishes the
story's id on its pub/sub channel. The live round server (live/) reads the channel and sends
the story's open pages the new round. A page polling the round (no live server, or its stream
lost) sends the ETag it has; while the revision has not moved the answer is a 304 decided
from Redis alone, before any query (``revision``). The part of the answer that is the same
for everyone is built at most once in a short while and saved (``cached_round``). Without
REDIS_URL there is none of this and pages poll answers hashed whole (app/api/rounds.py)."""
import json
import logging
import secrets

from flask import current_app

log = logging.getLogger(__name__)

REVISION_SECONDS = 24 * 3600
_clients: dict[str, object] = {}


def _client():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        client = _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return client


def _key(story_id: int, what: str) -> str:
    return f"{current_app.config.get('REDIS_KEY_PREFIX', '')}relay:story:{story_id}:{what}"


def channel(story_id: int) -> str:
    # live/server.py listens on the pattern of this name
    return _key(story_id, "round")


def revision_key(story_id: int) -> str:
    return _key(story_id, "revision")


def changed(story_id: int) -> None:
    """The story's round changed: move its revision and tell the live server. Called once the
    change has committed (before, a poll could take the new revision with the old state and
    keep it). Never fails the change: a lost notice costs a page one polling interval."""
    client = _client()
    if client is None:
        return
    try:
        key = revision_key(story_id)
        _start_revision(client, key)
        client.incr(key)
        client.publish(channel(story_id), str(story_id))
    except Exception:
        log.warning("could not announce the round change of story %s", story_id, exc_info=True)


def revision(story_id: int) -> int | None:
    """The story's revision, None without Redis (or with Redis away): then nothing is cached."""
    client = _client()
    if client is None:
        return None
    try:
        key = revision_key(story_id)
        value = client.get(key)
        if value is None:
            _start_revision(client, key)
            value = client.get(key)
        return int(value)
    except Exception:
        log.warning("could not read the revision of story %s", story_id, exc_info=True)
        return None


def _start_revision(client, key: str) -> None:
    # A revision starts at a random number, not 0: a key Redis lost then starts somewhere no
    # page's ETag has been, so no page is told "not modified" about a state it never saw.
    # It lasts a day past its start, so polls of stories nobody changes leave no keys behind.
    client.set(key, secrets.randbits(48), nx=True, ex=REVISION_SECONDS)


def cached_round(story_id: int, turn: int) -> dict | None:
    """The round's shared answer as last saved (``cache_round``), None when there is none."""
    client = _client()
    try:
        value = client.get(_key(story_id, f"round:{turn}")) if client is not None else None
    except Exception:
        log.warning("could not read the saved round of story %s", story_id, exc_info=True)
        return None
    return json.loads(value) if value else None


def cache_round(story_id: int, turn: int, answer: dict, seconds: float) -> None:
    """Save the round's shared answer for ``seconds``: the first poll builds it, the others in
    that time get it from here."""
    client = _client()
    if client is None or seconds <= 0:
        return
    try:
        client.set(_key(story_id, f"round:{turn}"), json.dumps(answer, ensure_ascii=False), px=int(1000 * seconds))
    except Exception:
        log.warning("could not save the round of story %s", story_id, exc_info=True)
