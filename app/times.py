"""Times on the pages: written in Asia/Seoul (DISPLAY_TIMEZONE), rewritten by the viewer's browser."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from markupsafe import Markup

# The text of a <time> per style; static/localtime.js writes the same shape with Intl.DateTimeFormat('ko-KR').
TIME_STYLES = {"date": "%Y. %m. %d.", "datetime": "%Y. %m. %d. %H:%M", "seconds": "%Y. %m. %d. %H:%M:%S"}


def display_zone() -> timezone | ZoneInfo:
    name = current_app.config["DISPLAY_TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # no tz database (a slim image): Korea keeps +09:00 all year
        return timezone(timedelta(hours=9), "KST")


def local_time(value: datetime | str | None, style: str = "datetime") -> Markup:
    """``{{ job.created_at | local_time }}``: a ``<time>`` whose ``datetime`` is ISO 8601 with
    the offset and whose text is already in Asia/Seoul, so the page reads right without
    JavaScript; static/localtime.js rewrites the text in the viewer's own time zone.
    ``value``: a naive UTC datetime (as the database stores them), an aware one, or an ISO
    string; ``style``: date, datetime (to the minute) or seconds. None gives an empty string."""
    if value is None or value == "":
        return Markup("")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(display_zone()).replace(microsecond=0)
    text = local.strftime(TIME_STYLES.get(style, TIME_STYLES["datetime"]))
    full = f"{local:%Y. %m. %d. %H:%M:%S} ({local.tzname()})"
    return Markup('<time datetime="{}" data-style="{}" title="{}">{}</time>').format(
        local.isoformat(), style if style in TIME_STYLES else "datetime", full, text)
