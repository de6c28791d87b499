"""Streams of round events, one per open story page, fed by Redis pub/sub (see live/__init__.py)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass, field

from aiohttp import ClientSession, ClientTimeout, web

log = logging.getLogger("live")

# app/rounds/events.py publishes each story's changes on "<prefix>relay:story:<id>:round".
CHANNEL = re.compile(r"relay:story:(\d+):round$")


@dataclass(frozen=True)
class Settings:
    redis_url: str
    site_url: str                    # the web (gunicorn), where the round is read
    key_prefix: str = ""             # REDIS_KEY_PREFIX, as the site's
    host: str = "127.0.0.1"
    port: int = 8001
    batch_seconds: float = 0.5       # a story's pages get its round at most this often
    max_streams: int = 20000         # beyond this many open pages, 204: the page polls
    heartbeat_seconds: float = 15.0  # a comment line this often keeps proxies from closing the stream

    @classmethod
    def from_config(cls, config) -> "Settings":
        """From config.py's Config (LIVE_*, REDIS_URL, REDIS_KEY_PREFIX): one place for each default."""
        if not config.REDIS_URL:
            raise SystemExit("the live server needs REDIS_URL: without Redis the pages poll")
        return cls(redis_url=config.REDIS_URL, site_url=config.LIVE_SITE_URL, key_prefix=config.REDIS_KEY_PREFIX,
                   host=config.LIVE_HOST, port=config.LIVE_PORT, batch_seconds=config.LIVE_BATCH_SECONDS,
                   max_streams=config.LIVE_MAX_STREAMS, heartbeat_seconds=config.LIVE_HEARTBEAT_SECONDS)


@dataclass
class Hub:
    """The open pages of every story, and the last round each story's pages were sent."""
    settings: Settings
    pages: dict[int, set[asyncio.Queue]] = field(default_factory=dict)
    latest: dict[int, tuple[dict, str]] = field(default_factory=dict)  # story -> (round less its clock, event text)
    changed: set[int] = field(default_factory=set)
    http: ClientSession | None = None
    redis: object | None = None                 # redis.asyncio client, for the stories' revisions

    @property
    def open_streams(self) -> int:
        return sum(len(queues) for queues in self.pages.values())

    async def read_round(self, story_id: int) -> tuple[dict, str] | None:
        """The story's round as an anonymous page reads it (None: no such story). The web may
        answer with the round it saved a moment ago (ROUND_CACHE_SECONDS); when that is older
        than the story's revision now, the story is read again at the next batch, so its last
        change is never left unsent."""
        async with self.http.get(f"{self.settings.site_url}/api/v1/stories/{story_id}/round",
                                 headers={"Accept": "application/json"}) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            text = await response.text()
            etag = response.headers.get("ETag", "")
        if await self.behind(story_id, etag):
            self.changed.add(story_id)
        round_ = json.loads(text)
        round_.pop("now", None)
        return round_, f"event: round\ndata: {text}\n\n"

    async def behind(self, story_id: int, etag: str) -> bool:
        """Whether an answer whose ETag is ``etag`` ("<story>.<revision>.<turn>.<who>", app/api/rounds.py)
        is older than the story's revision in Redis."""
        parts = etag.strip('W/"').split(".")
        if len(parts) < 2 or not parts[1].isdigit():
            return False  # a site without Redis: nothing to compare
        try:
            now = await self.redis.get(f"{self.settings.key_prefix}relay:story:{story_id}:revision")
        except Exception:
            return True
        return now is not None and int(now) > int(parts[1])

    async def send_changes(self) -> None:
        """Every batch: read each changed story's round once and hand it to its pages, unless
        it is what they already have."""
        while True:
            await asyncio.sleep(self.settings.batch_seconds)
            changed, self.changed = self.changed, set()
            for story_id in changed:
                if not self.pages.get(story_id):
                    continue
                try:
                    read = await self.read_round(story_id)
                except Exception:  # the web is away: the pages poll now and then anyway
                    log.warning("could not read the round of story %s", story_id, exc_info=True)
                    self.changed.add(story_id)
                    continue
                if read is None or (story_id in self.latest and self.latest[story_id][0] == read[0]):
                    continue
                self.latest[story_id] = read
                for queue in self.pages.get(story_id, ()):
                    if queue.full():  # a page that reads slowly only needs the newest round
                        queue.get_nowait()
                    queue.put_nowait(read[1])

    async def listen(self) -> None:
        """Note the stories whose rounds changed, from Redis pub/sub; reconnect when Redis goes."""
        import redis.asyncio as redis

        pattern = f"{self.settings.key_prefix}relay:story:*:round"
        while True:
            client = redis.Redis.from_url(self.settings.redis_url)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(pattern)
                    # what changed while nobody listened: read every watched story again
                    self.changed.update(self.pages)
                    async for message in pubsub.listen():
                        channel = message["channel"].decode()
                        found = CHANNEL.search(channel)
                        if found and int(found.group(1)) in self.pages:
                            self.changed.add(int(found.group(1)))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("lost Redis pub/sub; trying again", exc_info=True)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        digits = request.match_info["story_id"]
        if not digits.isdigit() or len(digits) > 10:
            raise web.HTTPNotFound()
        story_id = int(digits)
        if self.open_streams >= self.settings.max_streams:
            return web.Response(status=204)  # EventSource gives up; the page polls
        first = self.latest.get(story_id) if self.pages.get(story_id) else None
        if first is None:
            try:
                first = await self.read_round(story_id)
            except Exception:
                log.warning("could not read the round of story %s", story_id, exc_info=True)
                return web.Response(status=204)
            if first is None:
                return web.json_response({"error": {"code": "not_found", "message": "이야기를 찾을 수 없습니다."}},
                                         status=404)
            self.latest[story_id] = first
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)
        self.pages.setdefault(story_id, set()).add(queue)
        try:
            await response.write(("retry: 3000\n\n" + first[1]).encode())
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), self.settings.heartbeat_seconds)
                except asyncio.TimeoutError:
                    event = ": keep-alive\n\n"
                await response.write(event.encode())
        except ConnectionResetError:  # the page was closed
            pass
        finally:
            queues = self.pages.get(story_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self.pages[story_id]
                    self.latest.pop(story_id, None)
        return response

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"streams": self.open_streams, "stories": len(self.pages)})


def make_app(settings: Settings) -> web.Application:
    hub = Hub(settings)
    app = web.Application()
    app.router.add_get("/api/v1/stories/{story_id}/live", hub.stream)
    app.router.add_get("/livez", hub.health)

    async def background(app: web.Application):
        import redis.asyncio as redis

        hub.http = ClientSession(timeout=ClientTimeout(total=10))
        hub.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
        tasks = [asyncio.create_task(hub.listen()), asyncio.create_task(hub.send_changes())]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.http.close()
        await hub.redis.aclose()

    app.cleanup_ctx.append(background)
    app["hub"] = hub
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s live %(levelname)s %(message)s")
    from config import config_for_env

    settings = Settings.from_config(config_for_env())
    # On SIGTERM the open streams are cut after a second (a page reconnects to another server,
    # or polls), rather than held until their next heartbeat.
    web.run_app(make_app(settings), host=settings.host, port=settings.port, access_log=None, shutdown_timeout=1,
                print=lambda *_: log.info("serving round events on %s:%s", settings.host, settings.port))
