"""A story's chapters and its end: list them, close the open chapter, finish the story, and
download the book as EPUB or plain text."""
import io

from flask import send_file
from flask_restful import Resource

from app.api import api, json_body, optional_body
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.stories import chapters
from app.stories.book import book_of
from app.stories.export import book_epub, book_text, download_name
from app.stories.schemas import ChapterInSchema, ChapterListSchema, ChapterSchema, FinishInSchema

WRITES = [rate_limit("RATELIMIT_WRITE"), login_required]


class ChapterList(Resource):
    method_decorators = {"post": WRITES}

    def get(self, story_id: int):
        return ChapterListSchema().dump(chapters.story_chapters(story_id))

    def post(self, story_id: int):
        data = ChapterInSchema().load(json_body())
        return ChapterSchema().dump(chapters.close_chapter(story_id, caller(), data["title"])), 201


class Finish(Resource):
    method_decorators = WRITES

    def post(self, story_id: int):
        data = FinishInSchema().load(optional_body())
        chapters.finish_story(story_id, caller(), data.get("title"))
        return ChapterListSchema().dump(chapters.story_chapters(story_id)), 200


def _download(data: bytes, mimetype: str, name: str):
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


class BookEpub(Resource):
    def get(self, story_id: int):
        book = book_of(story_id)
        return _download(book_epub(book), "application/epub+zip", download_name(book, "epub"))


class BookText(Resource):
    def get(self, story_id: int):
        book = book_of(story_id)
        # send_file adds "; charset=utf-8" to a text type
        return _download(book_text(book).encode("utf-8"), "text/plain", download_name(book, "txt"))


api.add_resource(ChapterList, "/stories/<int:story_id>/chapters")
api.add_resource(Finish, "/stories/<int:story_id>/finish")
api.add_resource(BookEpub, "/stories/<int:story_id>/book.epub")
api.add_resource(BookText, "/stories/<int:story_id>/book.txt")
