"""Live round updates over Redis pub/sub: machine.py publishes every phase change once it has
committed; ``GET /api/v1/stories/<id>/events`` streams them to the story page as server-sent
events. Without REDIS_URL there is nothing to stream (204) and the page simply polls.

Every committed change to what a story's round shows (a phase change, a proposal, a vote, the
AI's progress) also moves the story's *revision*, a counter in Redis (``changed``). A page
polling the round sends the ETag it has; while the revision has not moved the answer is a 304
decided from Redis alone, before any query (``revision``). The part of the answer that is the
same for everyone is built once per revision and saved beside it (``cached_round``).

An open stream holds one gunicorn thread, so each process serves at most SSE_MAX_STREAMS of
them and answers 204 beyond that; a stream ends after SSE_STREAM_SECONDS and the browser
reconnects. Pages poll the round either way (more slowly while a stream is open).

One client (a signed-in user, else an address) holds at most SSE_MAX_STREAMS_PER_CLIENT
streams over every web process together: without that cap one client opening streams in a
loop took all of them and everyone else fell back to polling. The count lives in Redis, which
every stream needs anyway: a sorted set per client of its open streams, each scored with the
time it ends at the latest, so a stream whose process died is forgotten once that time has
passed."""
import json
import logging
import secrets
import threading
import time
import uuid

from flask import current_app

from app.extensions import rate_limit_key

log = logging.getLogger(__name__)

_clients: dict[str, object] = {}
_open_streams = {"count": 0}
_lock = threading.Lock()


def _client():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        client = _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return client


def channel(story_id: int) -> str:
    return f"{current_app.config.get('REDIS_KEY_PREFIX', '')}relay:story:{story_id}:round"


def revision_key(story_id: int) -> str:
    return f"{current_app.config.get('REDIS_KEY_PREFIX', '')}relay:story:{story_id}:revision"


def changed(story_id: int) -> None:
    """Move the story's revision: called once a change to its round has committed (before the
    commit, a poll could take the new revision with the old state and keep it)."""
    client = _client()
    if client is None:
        return
    try:
        key = revision_key(story_id)
        _start_revision(client, key)
        client.incr(key)
    except Exception:
        log.warning("could not move the revision of story %s", story_id, exc_info=True)


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


def cached_round(story_id: int, tag: str) -> dict | None:
    """The round's shared answer saved for this revision (``cache_round``), None when there is none."""
    client = _client()
    try:
        value = client.get(_round_key(story_id, tag)) if client is not None else None
    except Exception:
        log.warning("could not read the saved round of story %s", story_id, exc_info=True)
        return None
    return json.loads(value) if value else None


def cache_round(story_id: int, tag: str, answer: dict, seconds: int) -> None:
    """Save the round's shared answer for this revision: the first poll after a change builds it,
    every other page gets it from here."""
    client = _client()
    if client is None:
        return
    try:
        client.set(_round_key(story_id, tag), json.dumps(answer, ensure_ascii=False), ex=seconds)
    except Exception:
        log.warning("could not save the round of story %s", story_id, exc_info=True)


def _round_key(story_id: int, tag: str) -> str:
    return f"{current_app.config.get('REDIS_KEY_PREFIX', '')}relay:story:{story_id}:round:{tag}"


def _start_revision(client, key: str) -> None:
    # A revision starts at a random number, not 0: a key Redis lost then starts somewhere no
    # page's ETag has been, so no page is told "not modified" about a state it never saw.
    # It lasts a day past its start, so polls of stories nobody changes leave no keys behind.
    client.set(key, secrets.randbits(48), nx=True, ex=REVISION_SECONDS)


def publish(story_id: int, **event) -> None:
    """Tell open pages that the story's round changed (and move its revision). Never fails the
    change: a lost event costs a page one polling interval."""
    changed(story_id)
    client = _client()
    if client is None:
        return
    try:
        client.publish(channel(story_id), json.dumps({"story_id": story_id, **event}, ensure_ascii=False))
    except Exception:
        log.warning("could not publish the round change of story %s", story_id, exc_info=True)


# Atomically: forget the client's streams that have ended, then take a place if one is free.
# KEYS[1] the client's set; ARGV: now, the cap, this stream's latest end, its id, the key's TTL.
_CLAIM_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
REVISION_SECONDS = 24 * 3600
# A stream still open this long after its planned end is taken for dead.
STREAM_GRACE_SECONDS = 60


def _client_streams_key(client_key: str) -> str:
    return f"{current_app.config.get('REDIS_KEY_PREFIX', '')}relay:streams:{client_key}"


def _claim_client_place(client, key: str, stream_id: str, seconds: int) -> bool:
    now = time.time()
    lifetime = seconds + STREAM_GRACE_SECONDS
    cap = current_app.config["SSE_MAX_STREAMS_PER_CLIENT"]
    return bool(client.eval(_CLAIM_SCRIPT, 1, key, now, cap, now + lifetime, stream_id, int(lifetime)))


def open_stream(story_id: int):
    """A generator of SSE text for the story's round changes, or None when this process cannot
    stream (no Redis, Redis away, SSE_MAX_STREAMS already open here, or the caller already
    holds SSE_MAX_STREAMS_PER_CLIENT streams)."""
    client = _client()
    if client is None:
        return None
    with _lock:
        if _open_streams["count"] >= current_app.config["SSE_MAX_STREAMS"]:
            return None
        _open_streams["count"] += 1
    seconds = current_app.config["SSE_STREAM_SECONDS"]
    places, stream_id = _client_streams_key(rate_limit_key()), uuid.uuid4().hex
    try:
        if not _claim_client_place(client, places, stream_id, seconds):
            _release()
            return None
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel(story_id))
    except Exception:
        log.warning("no live stream for story %s: Redis unavailable", story_id, exc_info=True)
        _release(client, places, stream_id)
        return None

    def events():
        try:
            yield "retry: 3000\n\n: live\n\n"
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                message = pubsub.get_message(timeout=max(0.1, min(15, ends - time.monotonic())))
                if message is None:
                    yield ": keep-alive\n\n"  # also how a closed page is noticed
                    continue
                data = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
                yield f"event: round\ndata: {data}\n\n"
        except Exception:
            log.info("live stream of story %s ended", story_id, exc_info=True)
        finally:
            try:
                pubsub.close()
            finally:
                _release(client, places, stream_id)

    return events()


def _release(client=None, places: str | None = None, stream_id: str | None = None) -> None:
    """Give back this process's place and, when one was taken, the client's."""
    with _lock:
        _open_streams["count"] -= 1
    if places is not None:
        try:
            client.zrem(places, stream_id)
        except Exception:  # Redis away: the place is forgotten once the stream's time is up
            log.info("could not give back a live-stream place of %s", places, exc_info=True)
