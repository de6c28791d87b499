"""A story as a book: the EPUB and text exports with their credits (checked by Debian's
epubcheck), the reading view, the owner's chapter forms and the home page's finished stories."""
import io
import os
import re
import shutil
import subprocess
import zipfile
from urllib.parse import unquote

import pytest

from tests.app.conftest import OPENING

EPUBCHECK_JAR = os.environ.get("EPUBCHECK_JAR", "/usr/share/java/epubcheck.jar")
SCRIPT_PASSAGE = "그때 누군가 <script>alert(1)</script> & 이라고 적힌 쪽지를 내밀었다."
HIDDEN_PASSAGE = "관리자가 가린 험한 글이다."


def path(story, tail=""):
    return f"/api/v1/stories/{story['id']}{tail}"


def add_passage(app, story_id: int, text: str, username: str) -> int:
    from app.accounts.models import User
    from app.extensions import db
    from app.rounds import machine
    from app.stories.models import Story

    with app.app_context():
        author = db.session.scalar(db.select(User).where(User.username == username))
        passage = machine.append_passage(db.session.get(Story, story_id), text, author=author)
        db.session.commit()
        return passage.id


@pytest.fixture
def book(story_in_phase, users, app):
    """A story of two chapters: the owner's opening and the AI's passage written for p1's
    keyword (chapter 1), then p2's passage, one an admin hid and the owner's (chapter 2, open)."""
    owner, story, (p1, p2) = story_in_phase("choosing")
    candidate = owner.get(path(story, "/round")).json["candidates"][0]["id"]
    assert p1.post(path(story, "/round/votes"), {"candidate_id": candidate}).status_code == 200
    assert owner.post(path(story, "/round/advance")).status_code == 200
    assert owner.post(path(story, "/chapters"), {"title": "느티나무 아래"}).status_code == 201
    add_passage(app, story["id"], SCRIPT_PASSAGE, "p2")
    hidden = add_passage(app, story["id"], HIDDEN_PASSAGE, "p2")
    add_passage(app, story["id"], "편지는 다시 접혀 느티나무 아래로 돌아갔다.\n\n그리고 아무도 말하지 않았다.", "owner")
    assert users.make("boss", role="admin").post(f"/api/v1/admin/passages/{hidden}/hide").status_code == 200
    return owner, story


def test_the_text_export_has_its_chapters_and_the_credits(book, anonymous):
    owner, story = book
    assert owner.post(path(story, "/finish"), {"title": "돌아온 편지"}).status_code == 200
    response = anonymous.get(path(story, "/book.txt"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/plain; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and unquote(disposition).endswith("느티나무 아래.txt")
    text = response.data.decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "느티나무 아래" and lines[2].startswith("owner의 이야기 · 릴레이 소설 · ") and "완결" in lines[2]
    assert text.index("제1장 느티나무 아래") < text.index(OPENING) < text.index("후보 0 편지가 말했다.")
    assert text.index("후보 0 편지가 말했다.") < text.index("제2장 돌아온 편지") < text.index(SCRIPT_PASSAGE)
    assert HIDDEN_PASSAGE not in text
    credits = text[text.index("함께 쓴 사람들"):]
    assert "글을 쓴 사람: owner (2편), p2 (1편)" in credits
    assert "제안이 뽑힌 사람: p1 (1번)" in credits and "글을 쓴 AI 모델: 기본 모델 (1편)" in credits


def test_the_epub_has_a_title_page_a_file_per_chapter_a_toc_and_the_credits(book, anonymous):
    owner, story = book
    assert owner.post(path(story, "/finish")).status_code == 200
    response = anonymous.get(path(story, "/book.epub"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/epub+zip"
    assert unquote(response.headers["Content-Disposition"]).endswith("느티나무 아래.epub")
    epub = zipfile.ZipFile(io.BytesIO(response.data))
    first = epub.infolist()[0]
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert epub.read("mimetype") == b"application/epub+zip"
    names = set(epub.namelist())
    assert {"EPUB/title.xhtml", "EPUB/chapter-001.xhtml", "EPUB/chapter-002.xhtml", "EPUB/credits.xhtml",
            "EPUB/nav.xhtml", "EPUB/content.opf"} <= names and "EPUB/chapter-003.xhtml" not in names
    read = lambda name: epub.read(f"EPUB/{name}").decode("utf-8")  # noqa: E731
    opf = read("content.opf")
    assert "<dc:language>ko</dc:language>" in opf and "<dc:title>느티나무 아래</dc:title>" in opf
    assert re.findall(r"<dc:creator[^>]*>([^<]+)<", opf) == ["owner", "p2"]
    assert "제1장 느티나무 아래" in read("nav.xhtml") and "제2장 마지막 장" in read("nav.xhtml")
    assert "함께 쓴 사람들" in read("nav.xhtml")
    first_chapter, second_chapter = read("chapter-001.xhtml"), read("chapter-002.xhtml")
    assert 'lang="ko"' in first_chapter and OPENING in first_chapter and "후보 0 편지가 말했다." in first_chapter
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in second_chapter and "<script>" not in second_chapter
    assert HIDDEN_PASSAGE not in "".join(read(n[5:]) for n in names if n.endswith(".xhtml"))
    assert "<p>그리고 아무도 말하지 않았다.</p>" in second_chapter  # one paragraph per line
    credits = read("credits.xhtml")
    assert "owner (2편), p2 (1편)" in credits and "p1 (1번)" in credits and "기본 모델 (1편)" in credits


def test_a_story_still_being_written_exports_its_open_chapter(make_story, anonymous):
    _owner, story = make_story()
    text = anonymous.get(path(story, "/book.txt")).data.decode("utf-8")
    assert "연재 중" in text.split("\n")[2] and "제1장 쓰는 중" in text and OPENING in text
    epub = zipfile.ZipFile(io.BytesIO(anonymous.get(path(story, "/book.epub")).data))
    assert "제1장 쓰는 중" in epub.read("EPUB/chapter-001.xhtml").decode("utf-8")


def test_epubcheck_finds_no_error_in_an_exported_book(book, app, anonymous, tmp_path):
    java = shutil.which("java")
    if java is None or not os.path.exists(EPUBCHECK_JAR):
        from tests.conftest import missing_service

        missing_service(f"epubcheck is not installed ({EPUBCHECK_JAR} and java; `make epubcheck` as root "
                        "installs Debian's epubcheck)")
    owner, story = book
    # Characters XML cannot hold, as a pasted passage may bring them: left out of the file.
    add_passage(app, story["id"], "탭\t다음에 세로 탭\x0b과 제어 문자\x01가 섞인 글.", "owner")
    assert owner.post(path(story, "/finish"), {"title": "끝 & <마지막>\x01"}).status_code == 200
    target = tmp_path / "book.epub"
    target.write_bytes(anonymous.get(path(story, "/book.epub")).data)
    # Debian's /usr/bin/epubcheck is the jar itself, which needs binfmt_misc: call java instead.
    result = subprocess.run([java, "-jar", EPUBCHECK_JAR, str(target)], capture_output=True, text=True, timeout=120)
    report = result.stdout + result.stderr
    print(report)
    assert result.returncode == 0, report
    assert "0 fatals / 0 errors" in report and "No errors or warnings detected" in report, report


def test_the_reading_view_has_chapters_marks_a_switch_and_the_credits(book, client):
    owner, story = book
    html = client.get(f"/stories/{story['id']}/read").get_data(as_text=True)
    first, second = ('<h2 class="chapter-heading">제1장 느티나무 아래</h2>',
                     '<h2 class="chapter-heading">제2장 쓰는 중</h2>')
    assert html.index(first) < html.index(OPENING) < html.index(second) < html.index("편지는 다시 접혀")
    assert '<a href="#chapter-2">제2장 쓰는 중</a>' in html and "연재 중" in html  # the table of contents
    assert '<input type="checkbox" id="hide-marks"' in html and '<label for="hide-marks"' in html
    assert html.count('<p class="mark">') == 4  # every passage shown carries its mark
    assert '<span class="badge ai">AI</span> 기본 모델 · 키워드 편지 · 제안 p1' in html
    assert '<span class="badge human">사람</span> p2' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert HIDDEN_PASSAGE not in html and "관리자가 숨긴 글입니다." not in html
    credits = html[html.index('id="credits"'):]
    assert "<dt>글을 쓴 사람</dt><dd>owner (2편), p2 (1편)</dd>" in credits
    assert f'href="/api/v1/stories/{story["id"]}/book.epub"' in html
    assert f'href="/api/v1/stories/{story["id"]}/book.txt"' in html
    assert client.get("/stories/999/read").status_code == 404


def page_form(browser, url: str, data: dict):
    return browser.post(url, data={"csrf_token": browser.csrf, **data}, follow_redirects=True)


def test_the_owner_closes_a_chapter_and_finishes_from_the_story_page(users):
    browser = users.signed_in("writer")
    made = browser.post("/stories/new", data={"csrf_token": browser.csrf, "title": "페이지 이야기", "opening": OPENING})
    story_page = made.headers["Location"]
    story_id = int(story_page.rsplit("/", 1)[1])
    html = browser.get(story_page).get_data(as_text=True)
    assert 'id="chapter-tools"' in html and "제1장 닫기" in html and "글 1편 (1~1번째 글)" in html

    closed = page_form(browser, f"/stories/{story_id}/chapters", {"title": "봄날"})
    assert "제1장 「봄날」을 닫았습니다." in closed.get_data(as_text=True)
    assert "제1장까지 닫았습니다" in closed.get_data(as_text=True)
    empty = page_form(browser, f"/stories/{story_id}/chapters", {"title": "빈 장"}).get_data(as_text=True)
    assert "닫을 장이 없습니다" in empty
    too_long = page_form(browser, f"/stories/{story_id}/chapters", {"title": "가" * 101}).get_data(as_text=True)
    assert "장 제목: 100자 이하로 입력해 주세요." in too_long

    unconfirmed = page_form(browser, f"/stories/{story_id}/finish", {}).get_data(as_text=True)
    assert "완결하려면 확인란에 표시해 주세요." in unconfirmed and 'id="chapter-tools"' in unconfirmed
    finished = page_form(browser, f"/stories/{story_id}/finish", {"confirm": "1"})
    assert finished.request.path == f"/stories/{story_id}/read"
    assert "이야기를 완결했습니다." in finished.get_data(as_text=True)
    after = browser.get(story_page).get_data(as_text=True)
    assert 'id="finished"' in after and "완결된 이야기" in after
    assert "story.js" not in after and 'id="chapter-tools"' not in after and 'id="round-state"' not in after
    again = page_form(browser, f"/stories/{story_id}/finish", {"confirm": "1"}).get_data(as_text=True)
    assert "완결된 이야기입니다." in again


def test_others_see_no_chapter_forms_and_cannot_use_them(make_story, users, client):
    _owner, story = make_story()
    stranger = users.signed_in("stranger")
    assert 'id="chapter-tools"' not in stranger.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert 'id="chapter-tools"' not in client.get(f"/stories/{story['id']}").get_data(as_text=True)
    refused = stranger.post(f"/stories/{story['id']}/chapters", data={"csrf_token": stranger.csrf, "title": "남의 장"})
    assert refused.status_code == 403 and "이야기 주인이나 관리자만" in refused.get_data(as_text=True)
    refused = stranger.post(f"/stories/{story['id']}/finish", data={"csrf_token": stranger.csrf, "confirm": "1"})
    assert refused.status_code == 403
    no_token = stranger.post(f"/stories/{story['id']}/finish", data={"confirm": "1"})
    assert no_token.status_code == 400  # no CSRF token
    anonymous = client.post(f"/stories/{story['id']}/finish", data={"confirm": "1"})
    assert anonymous.status_code == 400  # no session, so no CSRF token either
    assert client.get(f"/api/v1/stories/{story['id']}").json["finished"] is False


def test_the_home_page_lists_finished_stories_apart(make_story, users, client):
    owner, first = make_story()
    make_story(users.make("other"))
    assert owner.post(path(first, "/finish")).status_code == 200
    html = client.get("/").get_data(as_text=True)
    ongoing, finished = html.split('id="finished-stories"')
    assert "<h2>연재 중인 이야기</h2>" in ongoing and "<h2>완결된 이야기</h2>" in finished
    assert f'href="/stories/{first["id"]}/read"' in finished and f'/stories/{first["id"]}"' not in ongoing
    assert finished.count('class="card"') == 1 and ongoing.count('class="card"') == 1
