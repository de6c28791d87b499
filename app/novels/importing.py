"""Bulk import of novels (``flask import-novels DIR|ZIP``): every .txt file of a folder or a ZIP
archive, read exactly as an upload is (services.decode_upload: any supported encoding, the same
refusals and size limit) and stored one by one, each in its own transaction.

Title, author and licence of each file come from, in this order: a metadata file beside it
(``metadata.csv`` or ``metadata.json``: file, title, author, licence), the heading its text
starts with (headings.py), the command's defaults, and for the title the file's name. Files
already in the library (the same text) are reported and skipped, so running the import again
changes nothing.

A ZIP archive is read in memory, never extracted: members whose names are absolute or climb out
with "..", encrypted ones, and ones that would unpack past the size limit or compress
suspiciously well are refused without being inflated; an archive with too many members or too
much text in all is refused whole."""
import csv
import io
import json
import os
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from flask import current_app
from marshmallow import ValidationError

from app.errors import AppError, first_validation_message
from app.novels.headings import heading
from app.novels.schemas import NovelUploadSchema
from app.novels.services import DuplicateNovel, decode_upload, default_title, file_size, store_novel, too_large

METADATA_NAMES = ("metadata.csv", "metadata.json")
TEXT_SUFFIXES = (".txt", ".text")
# What a metadata file may call its columns (English or Korean).
COLUMNS = {"file": ("file", "filename", "파일", "파일명"), "title": ("title", "제목"),
           "author": ("author", "지은이", "작가", "저자"), "licence": ("licence", "license", "저작권")}
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # of text read out of one archive, in all
# Prose compresses four to ten times; a member that shrank more than this is a bomb, not a novel.
ZIP_MAX_RATIO = 100


class ImportRefused(Exception):
    """The whole import cannot go on (no such file, a broken archive or metadata file)."""


@dataclass(frozen=True)
class Source:
    """One file to import: its name inside the folder or archive (POSIX, NFC), its size as
    declared, and how to read it (at most the size limit and one byte)."""

    name: str
    size: int
    read: Callable[[], bytes]
    refusal: str | None = None  # a reason to refuse it without reading


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # imported, duplicate, refused or skipped
    message: str
    novel_id: int | None = None


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


# --- reading a folder or an archive ------------------------------------------------------------

def folder_sources(root: Path, limit: int) -> Iterator[Source]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for filename in sorted(files):
            path = Path(folder) / filename
            name = _nfc(path.relative_to(root).as_posix())
            if path.is_symlink() or not path.is_file():
                yield Source(name, 0, bytes, refusal="링크나 특수 파일은 읽지 않습니다.")
                continue

            def read(path=path):
                with path.open("rb") as file:
                    return file.read(limit + 1)

            yield Source(name, path.stat().st_size, read)


def _unsafe_member(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts


def _zip_refusal(info: zipfile.ZipInfo, limit: int) -> str | None:
    if _unsafe_member(info.filename):
        return "압축 파일 밖을 가리키는 경로라 읽지 않습니다."
    if info.flag_bits & 0x1:
        return "암호가 걸린 파일은 읽을 수 없습니다."
    if info.file_size > limit:
        return too_large().message
    if info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO:
        return "비정상적으로 많이 압축된 파일이라 풀지 않습니다 (압축 폭탄)."
    return None


def zip_sources(archive: zipfile.ZipFile, limit: int) -> list[Source]:
    """The archive's files, each refused or readable. zipfile never inflates a member past the
    size its header declares (and checks the CRC at the end), so the declared sizes bound what
    is read: the whole archive is refused before anything is imported when they add up too high."""
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise ImportRefused(f"압축 파일에 든 파일이 너무 많습니다 ({len(members):,}개, {ZIP_MAX_MEMBERS:,}개까지).")
    sources = []
    for info in sorted(members, key=lambda i: i.filename):
        refusal = _zip_refusal(info, limit)

        def read(info=info):
            with archive.open(info) as member:
                return member.read(limit + 1)

        sources.append(Source(_nfc(info.filename.replace("\\", "/")), info.file_size, read, refusal))
    if sum(source.size for source in sources if not source.refusal) > ZIP_MAX_TOTAL_BYTES:
        raise ImportRefused(f"압축을 풀면 글이 {file_size(ZIP_MAX_TOTAL_BYTES)}를 넘습니다. 나누어 올려 주세요.")
    return sources


# --- metadata ------------------------------------------------------------------------------------

def _metadata_rows(source: Source) -> list[dict]:
    from model_server.text import TextError, decode

    try:
        text = decode(source.read())
        if source.name.endswith(".json"):
            loaded = json.loads(text)
            rows = ([{"file": k, **v} for k, v in loaded.items()] if isinstance(loaded, dict) else loaded)
            if not all(isinstance(row, dict) for row in rows):
                raise ValueError("not a list of objects")
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
    except (TextError, ValueError, csv.Error) as e:
        raise ImportRefused(f"{source.name}을(를) 읽을 수 없습니다: {e}") from e
    return rows


def read_metadata(sources: list[Source]) -> dict[str, dict]:
    """{file name inside the folder or archive: {title, author, licence}} from every metadata
    file; a row's file is relative to the metadata file's own folder."""
    found = {}
    for source in sources:
        if PurePosixPath(source.name).name.lower() not in METADATA_NAMES or source.refusal:
            continue
        folder = PurePosixPath(source.name).parent
        for row in _metadata_rows(source):
            row = {str(k).strip().lstrip("\ufeff").lower(): v for k, v in row.items() if k is not None}
            fields = {key: next((str(row[n]).strip() for n in names if row.get(n) not in (None, "")), None)
                      for key, names in COLUMNS.items()}
            if fields["file"]:
                found[_nfc((folder / fields.pop("file")).as_posix().removeprefix("./"))] = fields
    return found


# --- importing -------------------------------------------------------------------------------------

def _import_one(source: Source, uploader, meta: dict, default_author: str | None, default_licence: str | None) -> Outcome:
    if source.refusal:
        return Outcome(source.name, "refused", source.refusal)
    try:
        data = source.read()
        if len(data) > current_app.config["NOVEL_MAX_BYTES"]:
            raise too_large()
        decoded = decode_upload(data)
        found = heading(decoded.text)
        title = meta.get("title") or (found.title if found else None)
        fields = NovelUploadSchema().load({
            "title": title or default_title(source.name),
            "author": meta.get("author") or (found.author if found and found.author else None) or default_author or "",
            "licence": meta.get("licence") or default_licence or "",
        })
        novel = store_novel(uploader, decoded, len(data), PurePosixPath(source.name).name, fields["title"],
                            fields["author"], fields["licence"])
    except DuplicateNovel as e:
        return Outcome(source.name, "duplicate", e.message, e.novel_id)
    except ValidationError as e:
        field = next(iter(e.messages), "")
        label, hint = {"title": ("제목", ""), "author": ("지은이", " (metadata의 author, 글 첫머리의 지은이 줄, 또는 --author)"),
                       "licence": ("저작권", " (metadata의 licence, 또는 --licence)")}.get(field, (field, ""))
        return Outcome(source.name, "refused", f"{label}: {first_validation_message(e.messages)}{hint}")
    except AppError as e:
        return Outcome(source.name, "refused", e.message)
    note = "" if title else " · 제목은 파일 이름에서 (metadata.csv로 바꿀 수 있습니다)"
    return Outcome(source.name, "imported", f"{novel.id}번 「{novel.title}」 ({novel.author}){note}", novel.id)


def import_novels(path: Path, uploader, default_author: str | None = None,
                  default_licence: str | None = None) -> Iterator[Outcome]:
    """Import every .txt file under ``path`` (a folder or a .zip), one Outcome per file."""
    limit = current_app.config["NOVEL_MAX_BYTES"]
    if path.is_dir():
        yield from _import_all(list(folder_sources(path, limit)), uploader, default_author, default_licence)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                yield from _import_all(zip_sources(archive, limit), uploader, default_author, default_licence)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as e:
            raise ImportRefused(f"압축 파일을 읽을 수 없습니다: {e}") from e
    elif path.exists():
        raise ImportRefused(f"{path}: 폴더나 ZIP 파일이 아닙니다.")
    else:
        raise ImportRefused(f"{path}: 없는 경로입니다.")


def _import_all(sources: list[Source], uploader, default_author, default_licence) -> Iterator[Outcome]:
    metadata = read_metadata(sources)
    texts = {source.name for source in sources}
    for name in sorted(set(metadata) - texts):
        yield Outcome(name, "skipped", "metadata에 적혀 있지만 그런 파일이 없습니다.")
    for source in sources:
        base = PurePosixPath(source.name).name
        if base.lower() in METADATA_NAMES:
            continue
        if base.startswith("._") or source.name.startswith("__MACOSX/"):
            yield Outcome(source.name, "skipped", "macOS가 덧붙인 파일입니다.")
            continue
        if not base.lower().endswith(TEXT_SUFFIXES):
            yield Outcome(source.name, "skipped", ".txt 파일이 아닙니다.")
            continue
        yield _import_one(source, uploader, metadata.get(source.name, {}), default_author, default_licence)

