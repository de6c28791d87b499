"""Uploading a novel in a real browser: choose the file, see its numbers without a reload,
and the sentence count once the worker has counted."""
import re

import pytest

pytestmark = pytest.mark.browser


def test_upload_page_shows_the_numbers_and_then_the_sentence_count(live_server, browser, app, encodings_dir):
    from app.extensions import db
    from app.novels.models import Novel
    from app.novels.services import count_novel_sentences

    page = browser.new_context(locale="ko-KR").new_page()
    page.goto(f"{live_server}/signup")
    page.fill("input[name=username]", "올리미")
    page.fill("input[name=password]", "password123")
    page.fill("input[name=password2]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    page.click("text=소설 서재")
    page.click("text=소설 올리기")
    page.set_input_files("#file-input", str(encodings_dir / "dongbaekkkot.euc-kr.txt"))
    assert page.input_value("input[name=title]") == "dongbaekkkot.euc-kr"  # suggested from the file name
    page.fill("input[name=title]", "동백꽃")
    page.fill("input[name=author]", "김유정")
    page.fill("input[name=licence]", "저작권 만료 (퍼블릭 도메인)")
    page.click("#upload-button")

    page.wait_for_selector("#upload-result:not([hidden])", timeout=10000)
    assert page.text_content("#stat-encoding") == "EUC-KR (CP949)"
    assert re.fullmatch(r"\d{1,2},\d{3}", page.text_content("#stat-chars"))
    assert page.text_content("#stat-sentences") == "세는 중…"
    assert page.text_content("#stat-dialogue").endswith("%")
    assert "동백꽃" in page.text_content("#result-link") and len(page.text_content("#result-preview")) > 100

    with app.app_context():  # what the light worker's task does
        novel_id = db.session.scalar(db.select(Novel.id))
        count = count_novel_sentences(novel_id)
        db.session.remove()
    page.wait_for_function(f"document.getElementById('stat-sentences').textContent === '{count:,}'", timeout=15000)

    # The same text again, from the UTF-8 file: refused in place, naming the first.
    page.set_input_files("#file-input", str(encodings_dir / "dongbaekkkot.utf8.txt"))
    page.fill("input[name=author]", "김유정")
    page.fill("input[name=licence]", "저작권 만료")
    page.click("#upload-button")
    page.wait_for_selector("#upload-error:has-text('이미 올라온 소설과 같은 글입니다')", timeout=10000)
    assert page.get_attribute("#upload-error a", "href") == f"/novels/{novel_id}"
