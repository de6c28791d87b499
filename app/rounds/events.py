"""Live round updates over Redis pub/sub: machine.py publishes every phase change once it has
committed; ``GET /api/v1/stories/<id>/events`` streams them to the story page as server-sent
events. Without REDIS_URL there is nothing to stream (204) and the page simply polls.

An open stream holds one gunicorn thread, so each process serves at most SSE_MAX_STREAMS of
them and answers 204 beyond that; a stream ends after SSE_STREAM_SECONDS and the browser
reconnects. Pages poll the round either way (more slowly while a stream is open)."""
import json
import logging
import threading
import time

from flask import current_app

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


def publish(story_id: int, **event) -> None:
    """Tell open pages that the story's round changed. Never fails the change: a lost event
    costs a page one polling interval."""
    client = _client()
    if client is None:
        return
    try:
        client.publish(channel(story_id), json.dumps({"story_id": story_id, **event}, ensure_ascii=False))
    except Exception:
        log.warning("could not publish the round change of story %s", story_id, exc_info=True)


def open_stream(story_id: int):
    """A generator of SSE text for the story's round changes, or None when this process cannot
    stream (no Redis, Redis away, or SSE_MAX_STREAMS already open)."""
    client = _client()
    if client is None:
        return None
    with _lock:
        if _open_streams["count"] >= current_app.config["SSE_MAX_STREAMS"]:
            return None
        _open_streams["count"] += 1
    try:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel(story_id))
    except Exception:
        log.warning("no live stream for story %s: Redis unavailable", story_id, exc_info=True)
        _release()
        return None
    seconds = current_app.config["SSE_STREAM_SECONDS"]

    def events():
        try:
            yield "retry: 3000\n\n: live\n\n"
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                message = pubsub.get_message(timeout=15)
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
                _release()

    return events()


def _release() -> None:
    with _lock:
        _open_streams["count"] -= 1
