"""Novels: uploading one and reading the library. The votes that pick which ones a story's
model learns from (its training set) are in training_set.py; ``flask import-novels`` in
importing.py."""
import hashlib
import re
import unicodedata

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.database import transaction
from app.errors import Conflict, Invalid, NotFound, TooLarge
from app.extensions import db
from app.fields import MAX_ID
from app.jobs import services as jobs
from app.novels.models import Novel, TrainingVote
from app.stories.models import Story


class DuplicateNovel(Conflict):
    """The same text is already in the library; the answer names the novel that has it, unless
    an admin hid it and the uploader is no admin (a hidden novel exists only for admins)."""

    code = "duplicate_novel"

    def __init__(self, novel: Novel, uploader):
        if novel.status == "hidden" and not _is_admin(uploader):
            super().__init__("이미 올라온 소설과 같은 글입니다. 관리자가 숨긴 소설이라 다시 올릴 수 없습니다.")
            self.novel_id = self.novel_title = None
        else:
            super().__init__(f"이미 올라온 소설과 같은 글입니다: {novel.id}번 「{novel.title}」")
            self.novel_id, self.novel_title = novel.id, novel.title

    def to_dict(self) -> dict:
        body = super().to_dict()
        if self.novel_id is not None:
            body["error"]["novel"] = {"id": self.novel_id, "title": self.novel_title}
        return body


# model_server.text's refusals (messages in English, for developers) as the site says them.
TEXT_REFUSALS = {
    "binary": ("binary_file", "텍스트 파일이 아닙니다. 이미지나 압축 파일 같은 이진 파일은 올릴 수 없습니다. .txt 파일을 올려 주세요."),
    "undecodable": ("undecodable", "글자 인코딩을 알 수 없는 파일입니다. UTF-8이나 EUC-KR(CP949)로 저장한 .txt 파일을 올려 주세요."),
    "empty": ("empty_file", "파일이 비어 있습니다."),
}


def file_size(size: int) -> str:
    """A size as people read it: KB below a megabyte (a 50 KB limit is not "0MB"), else MB."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))}KB"
    return f"{size / (1024 * 1024):.1f}MB".replace(".0MB", "MB")


def too_large() -> TooLarge:
    limit = current_app.config["NOVEL_MAX_BYTES"]
    return TooLarge(f"파일이 너무 큽니다. {file_size(limit)}까지 올릴 수 있습니다.", code="file_too_large")


def _base_name(filename: str | None) -> str:
    """The last part of a path, NFC, printable characters only ("" when nothing is left)."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable()).strip()[:255]


def display_filename(filename: str | None) -> str:
    """The name as the uploader's computer called it, for people to read: never a path."""
    return _base_name(filename) or "이름 없음"


# "01_", "03-", "12 ", "7. ", "02) ": the running number a collection's files start with.
NUMBER_PREFIX = re.compile(r"^\d+[\s_\-.)\]]+")
TEXT_EXTENSION = re.compile(r"\.(txt|text)$", re.IGNORECASE)


def default_title(filename: str | None) -> str:
    """The title a novel gets when the uploader gives none, made from its file name:
    "01_Ms._B_and_Love_Letters.txt" → "Ms. B and Love Letters", "03-편지.txt" → "편지".
    Never empty and never a path; a name that is only a number ("1984.txt") stays itself."""
    stem = TEXT_EXTENSION.sub("", _base_name(filename))

    def tidy(text: str) -> str:
        return " ".join(text.replace("_", " ").split())

    title = tidy(NUMBER_PREFIX.sub("", stem)) or tidy(stem) or "제목 없음"
    return title[:200].rstrip()


def decode_upload(data: bytes):
    """An upload's bytes as cleaned text (``model_server.text.DecodedText``), or the refusal
    (a 4xx AppError) that says why in Korean: too large, binary, undecodable or empty. The web
    upload and ``flask import-novels`` both read files through here."""
    from model_server.text import TextError, clean

    if len(data) > current_app.config["NOVEL_MAX_BYTES"]:
        raise too_large()
    try:
        decoded = clean(data)
    except TextError as e:
        code, message = TEXT_REFUSALS.get(e.code, ("not_text", "텍스트로 읽을 수 없는 파일입니다."))
        raise Invalid(message, code=code) from e
    if not decoded.text:
        raise Invalid("정리하고 나니 남는 글이 없습니다 (장면 구분 기호나 빈 줄뿐입니다).", code="empty_file")
    return decoded


def upload_novel(uploader: User, data: bytes, filename: str | None, title: str | None, author: str,
                 licence: str) -> Novel:
    """Decode, clean and store an uploaded .txt file, or refuse it saying why. Without a
    title, the text's own heading gives one (app/novels/headings.py), else the file's name
    (``default_title``)."""
    from app.novels.headings import heading

    decoded = decode_upload(data)
    if not title:
        found = heading(decoded.text)
        title = found.title if found else default_title(filename)
    return store_novel(uploader, decoded, len(data), filename, title, author, licence)


def store_novel(uploader: User, decoded, size_bytes: int, filename: str | None, title: str, author: str,
                licence: str) -> Novel:
    """Store a decoded novel in one transaction, or raise DuplicateNovel.

    Duplicates are found by the SHA-256 of the cleaned text, so the same novel in another
    encoding, with other line ends or in NFD is the same novel. The sentence count is left to
    a light worker (the Korean analyser costs a web process ~300 MB and a 5 MB novel about a
    minute); ``sentences`` is None until it has counted."""
    from model_server.text import dialogue_share

    text = decoded.text
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    existing = db.session.scalar(select(Novel).where(Novel.sha256 == sha256))
    if existing is not None:
        raise DuplicateNovel(existing, uploader)
    novel = Novel(
        uploader_id=uploader.id, title=title, author=author, licence=licence,
        original_filename=display_filename(filename), sha256=sha256, encoding=decoded.encoding,
        size_bytes=size_bytes, chars=sum(1 for ch in text if not ch.isspace()),  # as model_server.text.stats counts
        sentences=None, dialogue_share=dialogue_share(text), text=text, status="visible",
    )
    try:
        with transaction():
            db.session.add(novel)
    except IntegrityError:
        # Someone uploaded the same text between our look-up and our insert.
        existing = db.session.scalar(select(Novel).where(Novel.sha256 == sha256))
        if existing is None:
            raise
        raise DuplicateNovel(existing, uploader)
    jobs.send_light_task("relay.count_novel_sentences", novel.id)
    return novel


def preview(novel: Novel) -> str:
    return novel.text[: current_app.config["NOVEL_PREVIEW_CHARS"]]


# --- reading the library ---------------------------------------------------------------

def _is_admin(viewer) -> bool:
    return viewer is not None and viewer.is_admin


def get_novel(novel_id: int, viewer) -> Novel:
    """A novel as the viewer may see it: hidden novels exist only for admins."""
    novel = db.session.get(Novel, novel_id) if 0 < novel_id <= MAX_ID else None
    if novel is None or (novel.status == "hidden" and not _is_admin(viewer)):
        raise NotFound("소설을 찾을 수 없습니다.")
    return novel


def _votes_by_story(novel_ids: list[int], viewer, story_id: int | None = None) -> dict[int, list[dict]]:
    """{novel id: [{story_id, story_title, quorum, votes, my_vote}]} for stories with votes."""
    if not novel_ids:
        return {}
    mine = func.max(case((TrainingVote.user_id == (viewer.id if viewer else -1), 1), else_=0))
    query = (
        select(TrainingVote.novel_id, Story.id, Story.title, Story.training_quorum,
               func.count(TrainingVote.id), mine)
        .join(Story, Story.id == TrainingVote.story_id)
        .where(TrainingVote.novel_id.in_(novel_ids))
        .group_by(TrainingVote.novel_id, Story.id, Story.title, Story.training_quorum)
        .order_by(Story.id)
    )
    if story_id is not None:
        query = query.where(TrainingVote.story_id == story_id)
    found: dict[int, list[dict]] = {}
    for novel_id, sid, title, quorum, votes, my_vote in db.session.execute(query):
        found.setdefault(novel_id, []).append(
            {"story_id": sid, "story_title": title, "quorum": quorum, "votes": votes, "my_vote": bool(my_vote)})
    return found


def _row(novel: Novel, uploader: str, training: list[dict]) -> dict:
    visible = novel.status == "visible"
    for entry in training:
        entry["in_training_set"] = visible and entry["votes"] >= entry["quorum"]
    return {"novel": novel, "uploader": uploader, "training": training}


def _visible_novels(viewer) -> list[tuple[Novel, str]]:
    query = select(Novel, User.username).join(User, User.id == Novel.uploader_id).order_by(Novel.id.desc())
    if not _is_admin(viewer):
        query = query.where(Novel.status == "visible")
    return [tuple(row) for row in db.session.execute(query)]


def list_novels(viewer) -> list[dict]:
    """Every novel the viewer may see (admins: hidden ones too), newest first, with its votes
    per story. The text itself stays in the database."""
    rows = _visible_novels(viewer)
    votes = _votes_by_story([novel.id for novel, _ in rows], viewer)
    return [_row(novel, name, votes.get(novel.id, [])) for novel, name in rows]


def novel_detail(novel_id: int, viewer) -> dict:
    novel = get_novel(novel_id, viewer)
    return _row(novel, novel.uploader.username, _votes_by_story([novel.id], viewer).get(novel.id, []))
