"""The passages column of a story page, rendered once for each state of the story's passages.

A long story's page is mostly its passages: a thousand of them took about 30 ms of Jinja on
every request, while they change only when one is added, hidden or restored. The cache is
checked against the database on every request (one count over the story's rows), so every
process serves what is stored, whichever process wrote it.
"""
import threading

from cachetools import LRUCache
from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import func, select

from app.extensions import db
from app.stories.models import Passage
from app.stories.services import passages_of

# Rendered passages take about half a kilobyte each: room for a few dozen long stories.
CACHE_BYTES = 16 * 1024 * 1024


class RenderedPassages:
    def __init__(self) -> None:
        self._html: LRUCache = LRUCache(maxsize=CACHE_BYTES, getsizeof=len)
        self._lock = threading.Lock()  # gunicorn's threads share one cache per process

    def get(self, story_id: int, show_hidden: bool) -> Markup:
        count, last_change = db.session.execute(
            select(func.count(), func.max(Passage.updated_at)).where(Passage.story_id == story_id)
        ).one()
        key = (story_id, show_hidden, count, last_change)
        with self._lock:
            html = self._html.get(key)
        if html is None:
            # Rendered with autoescape like any template; Markup only says it is HTML already.
            html = render_template("stories/_passages.html", show_hidden=show_hidden,
                                   passages=passages_of(story_id, show_hidden=show_hidden))
            with self._lock:
                self._html[key] = html
        return Markup(html)


def passages_html(story_id: int, show_hidden: bool) -> Markup:
    extensions = current_app.extensions
    if "relay.rendered_passages" not in extensions:
        extensions.setdefault("relay.rendered_passages", RenderedPassages())
    return extensions["relay.rendered_passages"].get(story_id, show_hidden)
