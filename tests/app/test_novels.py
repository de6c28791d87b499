"""Uploading novels: what is stored, what is refused and why, and that a refusal writes nothing."""
import codecs
import io
import random
import re
import unicodedata

import pytest
from sqlalchemy import func, select

UPLOAD = "/api/v1/novels"
# Duplicate detection leans on the database's UNIQUE constraint: those tests run on both.
on_sqlite_and_postgres = pytest.mark.parametrize(
    "database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])


def upload(api, data: bytes, filename="novel.txt", title="동백꽃", author="김유정", licence="저작권 만료 (퍼블릭 도메인)"):
    form = {"file": (io.BytesIO(data), filename), "title": title, "author": author, "licence": licence}
    return api.client.post(UPLOAD, data=form, content_type="multipart/form-data", headers=api._headers())


def novel_count(db) -> int:
    from app.novels.models import Novel

    count = db.session.scalar(select(func.count()).select_from(Novel))
    db.session.rollback()
    return count


@pytest.fixture
def uploader(users):
    return users.make("uploader")


def test_utf8_upload_is_stored_with_its_numbers_and_a_preview(uploader, encodings_dir, db):
    from app.novels.models import Novel
    from app.novels.services import count_novel_sentences

    data = (encodings_dir / "dongbaekkkot.utf8.txt").read_bytes()
    response = upload(uploader, data, filename="dongbaekkkot.utf8.txt")
    assert response.status_code == 201, response.json
    novel = response.json
    assert novel["encoding"] == "utf-8" and novel["size_bytes"] == len(data)
    assert novel["title"] == "동백꽃" and novel["uploader"] == "uploader" and novel["status"] == "visible"
    assert 4000 < novel["chars"] < 10000 and 0.05 < novel["dialogue_share"] < 0.6
    assert novel["sentences"] is None  # counted by a light worker, not in the web process
    assert novel["original_filename"] == "dongbaekkkot.utf8.txt"

    count = count_novel_sentences(novel["id"])  # what the worker's task does
    assert count > 50
    assert uploader.get(f"{UPLOAD}/{novel['id']}").json["sentences"] == count
    stored = db.session.get(Novel, novel["id"])
    assert unicodedata.is_normalized("NFC", stored.text) and "\r" not in stored.text
    assert len(novel["preview"]) == 600 and stored.text.startswith(novel["preview"])


@on_sqlite_and_postgres
def test_euc_kr_upload_is_a_duplicate_of_its_utf8_twin(database_kind, uploader, users, encodings_dir, db):
    first = upload(uploader, (encodings_dir / "dongbaekkkot.utf8.txt").read_bytes()).json
    other = users.make("other")
    response = upload(other, (encodings_dir / "dongbaekkkot.euc-kr.txt").read_bytes(), title="동백꽃 (EUC-KR)")
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "duplicate_novel" and error["novel"] == {"id": first["id"], "title": "동백꽃"}
    assert str(first["id"]) in error["message"] and "동백꽃" in error["message"]
    assert novel_count(db) == 1


def test_binary_file_named_txt_is_refused(uploader, db):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    response = upload(uploader, png, filename="picture.txt")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "binary_file" and re.search("[가-힣]", response.json["error"]["message"])
    assert novel_count(db) == 0


@pytest.mark.parametrize("data", [b"", b"  \r\n\t\n", "\ufeff".encode("utf-8"), b"###\n\n#\n"])
def test_empty_file_is_refused(uploader, db, data):
    response = upload(uploader, data)
    assert response.status_code == 400 and response.json["error"]["code"] == "empty_file"
    assert novel_count(db) == 0


@pytest.mark.parametrize("site_overrides", [{"NOVEL_MAX_BYTES": 2000}])
def test_file_over_the_limit_is_413_in_json(uploader, db, site_overrides):
    just_over = ("가" * 700).encode("utf-8")  # 2,100 bytes: over the file limit, under the body limit
    response = upload(uploader, just_over)
    assert response.status_code == 413 and response.json["error"]["code"] == "file_too_large"
    assert "2KB까지" in response.json["error"]["message"]  # a limit under 1 MB is said in KB, never "0MB"
    far_over = ("가" * 100_000).encode("utf-8")  # over the body limit too: werkzeug stops reading it
    response = upload(uploader, far_over)
    assert response.status_code == 413 and response.json["error"]["code"] == "file_too_large"
    assert response.content_type.startswith("application/json")
    assert novel_count(db) == 0
    assert upload(uploader, ("나" * 600).encode("utf-8")).status_code == 201  # under it is fine


def test_sizes_are_said_in_kb_below_a_megabyte_and_in_mb_above():
    from app.novels.services import file_size

    assert [file_size(n) for n in (300, 50 * 1024, 1024 * 1024, 1536 * 1024, 5 * 1024 * 1024)] == \
        ["1KB", "50KB", "1MB", "1.5MB", "5MB"]


def test_an_upload_larger_than_the_sites_body_limit_is_accepted(uploader, app):
    # 1.5 MB: over MAX_CONTENT_LENGTH (1 MB), which stays the limit of every other route.
    paragraph = "그는 천천히 걸었다. \"어디 가니?\" 하고 누이가 물었다.\n\n"
    data = (paragraph * (1_500_000 // len(paragraph.encode()) + 1)).encode("utf-8")
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    response = upload(uploader, data)
    assert response.status_code == 201, response.json
    assert response.json["size_bytes"] == len(data)


def test_nfd_hangul_is_stored_as_nfc_and_its_nfc_twin_is_a_duplicate(uploader, db):
    from app.novels.models import Novel

    text = "봄이 오면 산에 들에 진달래가 핀다.\n\n\"정말이니?\" 하고 소녀가 물었다."
    nfd = unicodedata.normalize("NFD", text).encode("utf-8")
    response = upload(uploader, nfd, title=unicodedata.normalize("NFD", "진달래"))
    assert response.status_code == 201
    stored = db.session.get(Novel, response.json["id"])
    assert stored.text == text and stored.title == "진달래"
    db.session.rollback()
    again = upload(uploader, text.encode("utf-8"))
    assert again.status_code == 409 and again.json["error"]["novel"]["id"] == response.json["id"]
    assert novel_count(db) == 1


def test_utf16_with_bom_is_read_and_its_encoding_reported(uploader):
    text = "장터에는 사람이 많았다. \"얼마요?\" 하고 물으니 주인이 웃었다."
    response = upload(uploader, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert response.status_code == 201
    assert response.json["encoding"] == "utf-16" and response.json["preview"] == text


def test_undecodable_bytes_are_refused(uploader, db):
    # No NUL or control byte, so nothing says "binary", yet no codec turns them into text.
    garbage = bytes(b | 0x80 for b in random.Random(7).randbytes(4096))
    response = upload(uploader, garbage)
    assert response.status_code == 400 and response.json["error"]["code"] == "undecodable"
    assert "UTF-8" in response.json["error"]["message"]
    lone_surrogate = b"\xff\xfe" + "\ud800".encode("utf-16-le", "surrogatepass") + b"A\x00"
    assert upload(uploader, lone_surrogate).json["error"]["code"] == "undecodable"
    assert novel_count(db) == 0


def test_fields_are_required_and_validated(uploader, db):
    data = "짧은 글이지만 글은 글이다.".encode("utf-8")
    no_licence = uploader.client.post(UPLOAD, data={"file": (io.BytesIO(data), "a.txt"), "title": "t", "author": "a"},
                                      content_type="multipart/form-data", headers=uploader._headers())
    assert no_licence.status_code == 400 and "licence" in no_licence.json["error"]["fields"]
    no_file = uploader.client.post(UPLOAD, data={"title": "t", "author": "a", "licence": "허락받음"},
                                   content_type="multipart/form-data", headers=uploader._headers())
    assert no_file.status_code == 400 and no_file.json["error"]["code"] == "file_required"
    assert upload(uploader, data, title="t" * 201).status_code == 400
    assert novel_count(db) == 0


def test_the_filename_is_kept_for_display_only(uploader):
    response = upload(uploader, "경로가 아닌 이름이다.".encode("utf-8"), filename="../../etc/passwd")
    assert response.status_code == 201 and response.json["original_filename"] == "passwd"


def test_anonymous_and_blocked_users_cannot_upload(anonymous, users, db):
    from app.accounts.models import User

    data = "누구나 올릴 수는 없다.".encode("utf-8")
    assert upload(anonymous, data).status_code == 401
    blocked = users.make("blocked")
    db.session.get(User, blocked.user_id).blocked = True
    db.session.commit()
    response = upload(blocked, data)
    assert response.status_code == 403 and response.json["error"]["code"] == "blocked"
    assert novel_count(db) == 0


@on_sqlite_and_postgres
def test_a_duplicate_that_races_past_the_lookup_hits_the_unique_constraint(database_kind, uploader, db, monkeypatch):
    from app.novels import services

    data = "동시에 올린 같은 글.".encode("utf-8")
    first = upload(uploader, data).json
    real_scalar = db.session.scalar
    calls = {"n": 0}

    def lookup_misses_once(statement, *args, **kwargs):
        calls["n"] += 1
        return None if calls["n"] == 1 else real_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(services.db.session, "scalar", lookup_misses_once)
    response = upload(uploader, data)
    assert response.status_code == 409 and response.json["error"]["novel"]["id"] == first["id"]
    assert calls["n"] >= 2  # the look-up missed, the insert failed, the second look-up named the novel
    monkeypatch.undo()
    assert novel_count(db) == 1


@pytest.mark.parametrize("site_overrides", [{"RATELIMIT_ENABLED": True, "RATELIMIT_WRITE": "2/minute"}])
def test_uploads_are_rate_limited(uploader, site_overrides):
    from app.extensions import limiter

    limiter.reset()
    codes = [upload(uploader, f"{i}번째 글입니다.".encode("utf-8")).status_code for i in range(3)]
    assert codes == [201, 201, 429]


def test_the_upload_asks_a_light_worker_to_count_sentences(uploader, monkeypatch):
    from app.jobs import services as jobs
    from worker import tasks

    sent = []
    monkeypatch.setattr(jobs, "send_light_task", lambda name, *args: sent.append((name, args)))
    novel = upload(uploader, "하나. 둘. 셋.".encode("utf-8")).json
    assert sent == [("relay.count_novel_sentences", (novel["id"],))]
    assert tasks.count_novel_sentences.name == "relay.count_novel_sentences"
    assert "relay.count_novel_sentences" not in tasks.count_novel_sentences.app.conf.task_routes  # default queue
