"""Reading an uploaded .txt file out of a multipart request (shared by the API and the page).

The site's body limit (MAX_CONTENT_LENGTH, 1 MB) stays for every other route; an upload route
raises it for its own request to NOVEL_MAX_BYTES plus room for the form fields. This must
happen before anything reads the body, including the CSRF check (which reads the form), so
``accepts_upload`` is the outermost decorator of those views. A body over even that limit
gets our 413 with the limit in Korean, not werkzeug's page."""
import functools

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import Invalid
from app.novels.services import too_large

FORM_ROOM = 64 * 1024  # multipart boundaries and the title, author and licence fields


def accepts_upload(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request.max_content_length = current_app.config["NOVEL_MAX_BYTES"] + FORM_ROOM
        try:
            return view(*args, **kwargs)
        except RequestEntityTooLarge:
            raise too_large()

    return wrapper


def uploaded_file() -> tuple[bytes, str | None, dict]:
    """(file bytes, its name, the other form fields) of the current request."""
    storage = request.files.get("file")
    if storage is None:
        raise Invalid("올릴 파일(file)을 골라 주세요.", code="file_required", fields={"file": ["필수 항목입니다."]})
    limit = current_app.config["NOVEL_MAX_BYTES"]
    data = storage.stream.read(limit + 1)  # never more than the limit (and one byte to know) in memory
    if len(data) > limit:
        raise too_large()
    form = {name: request.form[name] for name in ("title", "author", "licence") if name in request.form}
    return data, storage.filename, form
