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
    from worker.counting import count_novel_sentences

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


@on_sqlite_and_postgres
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_a_text_with_a_bom_and_a_nul_byte_is_refused_on_both_databases(database_kind, encoding, uploader, db):
    text = "장터에는 사람이 많았다. " * 20 + "\x00" + "그리고 아무도 없었다."
    response = upload(uploader, text.encode(encoding))
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "binary_file" and re.search("[가-힣]", response.json["error"]["message"])
    assert novel_count(db) == 0


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


# --- default titles -----------------------------------------------------------------------

@pytest.mark.parametrize("filename, title", [
    ("01_Ms._B_and_Love_Letters.txt", "Ms. B and Love Letters"),
    ("03-편지.txt", "편지"),
    ("12 봄봄.txt", "봄봄"),
    ("7. 소나기.TXT", "소나기"),
    ("../../05_메밀꽃_필_무렵.txt", "메밀꽃 필 무렵"),  # a path: its last part only
    ("1984.txt", "1984"),  # only a number: kept, never empty
    ("01_.txt", "01"),
    (".txt", "제목 없음"),
])
def test_an_upload_without_a_title_is_named_after_its_file(uploader, filename, title):
    data = f"{filename}에서 온 글이다. 제목은 파일 이름에서 나온다.".encode("utf-8")
    form = {"file": (io.BytesIO(data), filename), "author": "작가", "licence": "저작권 만료"}
    response = uploader.client.post(UPLOAD, data=form, content_type="multipart/form-data", headers=uploader._headers())
    assert response.status_code == 201, response.json
    assert response.json["title"] == title
    assert "/" not in response.json["original_filename"] and "\\" not in response.json["original_filename"]


def test_default_titles_never_hold_a_path_and_are_never_empty():
    from app.novels.services import default_title

    assert default_title("C:\\소설\\05_메밀꽃_필_무렵.txt") == "메밀꽃 필 무렵"
    assert default_title(unicodedata.normalize("NFD", "04_운수_좋은_날.txt")) == "운수 좋은 날"
    assert [default_title(name) for name in (None, "", "  ", "/", "__.txt")] == ["제목 없음"] * 5
    assert len(default_title("01_" + "가" * 300 + ".txt")) == 200


def test_a_blank_title_is_no_title_and_a_given_one_wins(uploader):
    blank = upload(uploader, "빈 제목은 없는 제목이다.".encode("utf-8"), filename="02_빈_제목.txt", title="  ")
    assert blank.status_code == 201 and blank.json["title"] == "빈 제목"
    given = upload(uploader, "주어진 제목이 이긴다.".encode("utf-8"), filename="03_파일.txt", title="내 제목")
    assert given.status_code == 201 and given.json["title"] == "내 제목"


def test_an_upload_without_a_title_takes_the_one_its_text_starts_with(uploader, encodings_dir):
    """동백꽃's file begins with its title and author lines: its English-free title wins over a
    file name; a text without such a heading is still named after its file."""
    for name in ("dongbaekkkot.euc-kr.txt", "dongbaekkkot.utf8.txt"):
        response = upload(uploader, (encodings_dir / name).read_bytes(), filename="01_Camellia.txt", title="")
        assert response.status_code in (201, 409), response.json
    assert uploader.get(f"{UPLOAD}?q=동백꽃").json["total"] == 1
    labelled = upload(uploader, "제목: 봄봄\n지은이: 김유정\n\n장인님, 인제 나 성례시켜 주.".encode(), filename="02_Spring.txt", title="")
    assert labelled.json["title"] == "봄봄"
    prose = upload(uploader, "그는 걸었다.\n\n그리고 멈췄다.".encode(), filename="03_A_Walk.txt", title="")
    assert prose.json["title"] == "A Walk"


@pytest.mark.parametrize("text, title, author", [
    ("동백꽃\n\n김유정\n\n오늘도 또 우리 수탉이 막 쫓기었다.", "동백꽃", "김유정"),
    ("B사감과 러브레터\n현진건 지음\n\nC 여학교에서 교원 겸 기숙사 사감 노릇을 하는 B 여사라면", "B사감과 러브레터", "현진건"),
    ("운수 좋은 날\n\n새침하게 흐린 품이 눈이 올 듯하더니.", "운수 좋은 날", None),
    ("제목 : 메밀꽃 필 무렵\n작가 : 이효석\n\n여름 장이란 애시당초에 글러서.", "메밀꽃 필 무렵", "이효석"),
])
def test_a_heading_gives_a_title_and_maybe_an_author(text, title, author):
    from app.novels.headings import Heading, heading

    assert heading(text) == Heading(title, author)


@pytest.mark.parametrize("text", [
    "C 여학교에서 교원 겸 기숙사 사감 노릇을 하는 B 여사라면 딱장대요 독신주의자요.\n사십에 가까운 노처녀인 그는.",
    '"여기 좀 세워주게 저 약방 앞에."\n걸칙한 이 말에.', "제1장\n\n그날 아침.", "1\n\n그날 아침.", "봄\n오늘은 날이 좋다\n\n다음.",
    "한 줄뿐인 글", "",
])
def test_prose_dialogue_and_chapter_numbers_are_no_heading(text):
    from app.novels.headings import heading

    assert heading(text) is None


def test_no_novel_of_the_shared_corpus_is_taken_for_a_heading(novels_dir):
    """Those files start with their first sentence: a heading found there would be a wrong title."""
    from app.novels.headings import heading
    from model_server.text import clean

    assert [path.name for path in sorted(novels_dir.glob("*.txt")) if heading(clean(path.read_bytes()).text)] == []


# --- the library: search, order, pages ----------------------------------------------------

def add_novels(db, user_id: int, rows) -> list[int]:
    """Library rows written straight to the database (uploads would be slow): (title, author,
    chars) each, the last one newest."""
    import hashlib

    from app.novels.models import Novel

    novels = []
    for i, (title, author, chars) in enumerate(rows):
        novel = Novel(uploader_id=user_id, title=title, author=author, licence="저작권 만료",
                      original_filename=f"{i}.txt", sha256=hashlib.sha256(f"{i}:{title}".encode()).hexdigest(),
                      encoding="utf-8", size_bytes=3 * chars, chars=chars, sentences=None, dialogue_share=0.1,
                      text="가" * chars, status="visible")
        db.session.add(novel)
        db.session.flush()
        novels.append(novel.id)
    db.session.commit()
    return novels


def listed(api, query: str = "") -> list[str]:
    response = api.get(f"{UPLOAD}?{query}")
    assert response.status_code == 200, response.json
    return [n["title"] for n in response.json["novels"]]


def test_library_is_paged_newest_first(uploader, anonymous, db):
    add_novels(db, uploader.user_id, [(f"소설 {i:02d}", "작가", 100 + i) for i in range(1, 26)])
    first = anonymous.get(UPLOAD).json
    assert (first["total"], first["page"], first["pages"], first["per_page"]) == (25, 1, 2, 20)
    assert [n["title"] for n in first["novels"]] == [f"소설 {i:02d}" for i in range(25, 5, -1)]
    assert listed(anonymous, "page=2") == [f"소설 {i:02d}" for i in range(5, 0, -1)]
    assert listed(anonymous, "per_page=10&page=3") == [f"소설 {i:02d}" for i in range(5, 0, -1)]
    past = anonymous.get(f"{UPLOAD}?page=4").json  # past the last page: empty, not an error
    assert past["novels"] == [] and (past["total"], past["page"], past["pages"]) == (25, 4, 2)
    assert anonymous.get(f"{UPLOAD}?page=1000000").json["novels"] == []
    assert listed(anonymous, "_=1700000000") == listed(anonymous)  # unknown parameters are ignored


@on_sqlite_and_postgres
def test_library_search_ignores_case_and_normalisation(database_kind, uploader, anonymous, db):
    add_novels(db, uploader.user_id, [("Ms. B and Love Letters", "Kim Yujeong", 300), ("동백꽃", "김유정", 200),
                                      ("봄봄", "김유정", 100), ("100% 사랑", "이상", 50), ("운수 좋은 날", "현진건", 400)])
    assert listed(anonymous, "q=LOVE") == ["Ms. B and Love Letters"]
    assert listed(anonymous, "q=kim yujeong") == ["Ms. B and Love Letters"]
    assert listed(anonymous, "q=김유정") == ["봄봄", "동백꽃"]
    nfd = unicodedata.normalize("NFD", "동백")
    assert listed(anonymous, f"q={nfd}") == ["동백꽃"]
    response = anonymous.get(f"{UPLOAD}?q=%20%20{nfd}%20")
    assert response.json["q"] == "동백" and response.json["total"] == 1
    assert listed(anonymous, "q=김유정 봄") == ["봄봄"]  # every word, in the title or the author
    assert listed(anonymous, "q=%25") == ["100% 사랑"]  # % and _ are letters here, not wildcards
    assert listed(anonymous, "q=_") == []
    assert anonymous.get(f"{UPLOAD}?q=없는말").json["total"] == 0


@on_sqlite_and_postgres
def test_library_sorts_by_title_author_length_and_votes(database_kind, uploader, anonymous, make_story, db):
    ids = add_novels(db, uploader.user_id, [("다리", "나작가", 300), ("가방", "다작가", 100), ("나무", "가작가", 200)])
    assert listed(anonymous) == ["나무", "가방", "다리"]
    assert listed(anonymous, "sort=newest") == ["나무", "가방", "다리"]
    assert listed(anonymous, "sort=title") == ["가방", "나무", "다리"]
    assert listed(anonymous, "sort=author") == ["나무", "다리", "가방"]
    assert listed(anonymous, "sort=chars") == ["다리", "나무", "가방"]
    owner, story = make_story()
    for voter in (owner, uploader):
        assert voter.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": ids[0]}).status_code == 200
    assert owner.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": ids[1]}).status_code == 200
    assert listed(anonymous, "sort=votes") == ["다리", "가방", "나무"]
    assert listed(anonymous, "sort=title&per_page=2&page=2") == ["다리"]


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=abc", "page"), ("page=1.5", "page"), (f"page={10**30}", "page"), ("page=-3", "page"),
    ("per_page=0", "per_page"), ("per_page=101", "per_page"), ("per_page=x", "per_page"),
    ("sort=random", "sort"), ("q=" + "가" * 101, "q"),
])
def test_bad_library_arguments_are_a_korean_400(anonymous, query, field):
    response = anonymous.get(f"{UPLOAD}?{query}")
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert re.search("[가-힣]", error["message"])


def test_hidden_novels_count_for_admins_only(uploader, users, anonymous, db):
    from app.novels.models import Novel

    ids = add_novels(db, uploader.user_id, [("보이는 글", "작가", 10), ("숨긴 글", "작가", 10)])
    db.session.get(Novel, ids[1]).status = "hidden"
    db.session.commit()
    assert (anonymous.get(UPLOAD).json["total"], listed(anonymous, "q=숨긴")) == (1, [])
    admin = users.make("boss", role="admin")
    assert admin.get(UPLOAD).json["total"] == 2 and listed(admin, "q=숨긴") == ["숨긴 글"]


@pytest.mark.parametrize("path", [
    "/api/v1/novels/" + "9" * 30, "/api/v1/novels/4294967296", "/api/v1/stories/" + "9" * 30 + "/training-set",
    "/api/v1/stories/" + "9" * 30 + "/training-set/votes", "/novels/" + "9" * 30, "/stories/" + "9" * 30 + "/novels",
])
def test_ids_past_any_row_are_404_not_500(anonymous, path):
    assert anonymous.get(path).status_code == 404


def test_a_vote_for_a_novel_id_past_any_row_is_400(make_story):
    owner, story = make_story()
    response = owner.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": 10**30})
    assert response.status_code == 400 and "novel_id" in response.json["error"]["fields"]


# --- the training-set tally the story's novels page polls ---------------------------------

def test_the_tally_follows_everyones_votes_and_answers_304_while_unchanged(make_story, users, db):
    owner, story = make_story(training_quorum=2)
    ids = add_novels(db, owner.user_id, [("첫째", "작가", 10), ("둘째", "작가", 10)])
    path = f"/api/v1/stories/{story['id']}/training-set/votes"
    reader = users.make("reader")
    empty = reader.get(path)
    assert empty.status_code == 200 and empty.json == {"story_id": story["id"], "quorum": 2, "novels": []}
    owner.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": ids[0]})
    first = reader.get(path, headers={"If-None-Match": empty.headers["ETag"]})
    assert first.status_code == 200
    assert first.json["novels"] == [{"novel_id": ids[0], "votes": 1, "my_vote": False, "in_training_set": False}]
    assert reader.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    reader.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": ids[0]})
    mine = reader.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert mine.status_code == 200
    assert mine.json["novels"] == [{"novel_id": ids[0], "votes": 2, "my_vote": True, "in_training_set": True}]
    assert owner.get(path).json["novels"][0]["my_vote"] is True and "private" in mine.headers["Cache-Control"]


@pytest.mark.parametrize("site_overrides", [{"RATELIMIT_ENABLED": True}])
def test_five_files_at_once_fit_the_default_write_limit(uploader, app, site_overrides):
    # The upload page sends one request per file; RATELIMIT_WRITE's default must let a batch through.
    from app.extensions import limiter
    from config import Config

    assert app.config["RATELIMIT_WRITE"] == Config.RATELIMIT_WRITE
    limiter.reset()
    codes = [upload(uploader, f"{i}번째 파일의 글입니다.".encode("utf-8"), filename=f"{i:02d}_글.txt").status_code
             for i in range(5)]
    assert codes == [201] * 5


def test_openapi_describes_the_library_query_and_page(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").json
    listing = spec["paths"]["/api/v1/novels"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == {"q", "sort", "page", "per_page"} and all(p["in"] == "query" for p in params.values())
    assert params["sort"]["schema"]["enum"] == ["newest", "title", "author", "chars", "votes"]
    assert params["per_page"]["schema"]["maximum"] == 100 and "400" in listing["responses"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/NovelPage")
    assert {"novels", "total", "page", "pages", "per_page"} <= set(spec["components"]["schemas"]["NovelPage"]["properties"])
    assert "title" not in spec["components"]["schemas"]["NovelUploadFields"]["required"]
    assert "/api/v1/stories/{story_id}/training-set/votes" in spec["paths"]
