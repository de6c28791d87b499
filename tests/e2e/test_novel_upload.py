"""Uploading novels in a real browser: choose (or drop) several files, see a result for each
without a reload, the numbers of each accepted one and then its sentence count, and a Korean
reason for each refused one."""
import re

import pytest

from tests.e2e.conftest import sign_up, wait_for

pytestmark = pytest.mark.browser


def test_upload_page_shows_the_numbers_and_then_the_sentence_count(live_server, browser, app, encodings_dir):
    from app.extensions import db
    from app.novels.models import Novel
    from worker.counting import count_novel_sentences

    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "올리미")
    page.click("text=소설 서재")
    page.click("text=소설 올리기")
    page.set_input_files("#file-input", str(encodings_dir / "dongbaekkkot.euc-kr.txt"))
    # Left blank, the title comes from the text's first lines (동백꽃 / 김유정), not the file's name.
    assert page.input_value("#upload-files .file-title") == ""
    assert "dongbaekkkot.euc-kr" in page.get_attribute("#upload-files .file-title", "placeholder")
    page.fill("#upload-files .file-author", "김유정")
    page.fill("#upload-files .file-licence", "저작권 만료 (퍼블릭 도메인)")
    page.click("#upload-button")

    page.wait_for_selector("#upload-results .upload-outcome[data-state=accepted]", timeout=10000)
    outcome = page.locator("#upload-results .upload-outcome").first
    assert outcome.locator(".outcome-head a").inner_text() == "동백꽃"
    assert outcome.locator(".outcome-encoding").inner_text() == "EUC-KR (CP949)"
    assert re.fullmatch(r"\d{1,2},\d{3}", outcome.locator(".outcome-chars").inner_text())
    assert outcome.locator(".outcome-sentences").inner_text() == "문장 세는 중…"
    assert outcome.locator(".outcome-dialogue").inner_text().endswith("%")
    assert len(outcome.locator(".preview").text_content()) > 100
    assert "모두 올렸습니다" in page.inner_text("#upload-summary")

    with app.app_context():  # what the light worker's task does
        novel_id = db.session.scalar(db.select(Novel.id))
        count = count_novel_sentences(novel_id)
        db.session.remove()
    wait_for(page, f"document.querySelector('#upload-results .outcome-sentences').textContent === '{count:,}문장'",
             timeout=15000)

    # The same text again, from the UTF-8 file: refused in place, naming the first.
    page.set_input_files("#file-input", str(encodings_dir / "dongbaekkkot.utf8.txt"))
    page.fill("#upload-files .file-author", "김유정")
    page.fill("#upload-files .file-licence", "저작권 만료 (퍼블릭 도메인)")
    page.click("#upload-button")
    page.wait_for_selector("#upload-results .upload-outcome[data-state=refused]", timeout=10000)
    refusal = page.locator("#upload-results .upload-outcome[data-state=refused]")
    assert "이미 올라온 소설과 같은 글입니다" in refusal.inner_text()
    assert refusal.locator("a").get_attribute("href") == f"/novels/{novel_id}"


def test_several_files_are_each_accepted_or_refused_on_their_own(live_server, browser, app, tmp_path):
    from app.extensions import db
    from app.novels.models import Novel

    good = tmp_path / "01_Ms._B_and_Love_Letters.txt"
    good.write_text("B 양은 편지를 받았다. \"누가 보냈을까?\" 그녀는 창가에 앉아 봉투를 열었다.", encoding="utf-8")
    other = tmp_path / "03-편지.txt"
    other.write_bytes("편지는 사흘 만에 닿았다. 우체부는 모자를 벗고 인사했다.".encode("cp949"))
    picture = tmp_path / "picture.txt"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)

    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "올리미")
    page.goto(f"{live_server}/novels/upload")
    assert page.is_hidden("#single-file-fields")  # each file has its own title, author and licence instead
    page.set_input_files("#file-input", [str(good), str(picture)])
    # A third file dropped onto the zone joins the two chosen ones.
    page.evaluate("""(text) => {
        const data = new DataTransfer();
        data.items.add(new File([text], "03-편지.txt", { type: "text/plain" }));
        document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
    }""", other.read_bytes().decode("cp949"))
    hints = page.eval_on_selector_all("#upload-files .file-title", "inputs => inputs.map(i => i.placeholder)")
    assert hints == ["비워 두면 글 첫머리의 제목, 없으면 「Ms. B and Love Letters」", "비워 두면 글 첫머리의 제목, 없으면 「picture」",
                     "비워 두면 글 첫머리의 제목, 없으면 「편지」"]
    rows = page.locator("#upload-files .upload-file")
    rows.nth(0).locator(".file-title").fill("B사감과 러브레터")
    rows.nth(0).locator(".file-author").fill("현진건")
    rows.nth(0).locator(".file-licence").fill("저작권 만료 (1943년 사망)")
    rows.nth(0).locator(".copy-to-all").click()  # the same author and licence for the other two...
    rows.nth(2).locator(".file-author").fill("")  # ...but the third one's author is left out
    page.click("#upload-button")
    assert page.inner_text("#upload-error") == "지은이와 저작권은 파일마다 적어야 합니다."
    assert rows.nth(2).locator(".file-error").inner_text() == "지은이를 적어 주세요."
    assert rows.nth(0).locator(".file-error").inner_text() == ""
    assert page.is_hidden("#upload-result")  # nothing was sent
    rows.nth(2).locator(".file-author").fill("작자 미상")
    rows.nth(2).locator(".file-licence").fill("직접 쓴 글")
    page.click("#upload-button")

    wait_for(page, "document.getElementById('upload-summary').textContent.includes('못했습니다')", timeout=15000)
    assert page.inner_text("#upload-summary") == "3개 가운데 2개를 올렸고, 1개는 올리지 못했습니다."
    states = page.eval_on_selector_all("#upload-results .upload-outcome", "rows => rows.map(r => r.dataset.state)")
    assert states == ["accepted", "refused", "accepted"]
    accepted = page.locator("#upload-results .upload-outcome[data-state=accepted] .outcome-head a")
    assert accepted.all_inner_texts() == ["B사감과 러브레터", "편지"]
    refusal = page.inner_text("#upload-results .upload-outcome[data-state=refused]")
    assert "picture.txt" in refusal and "텍스트 파일이 아닙니다" in refusal and "올리지 못했습니다" in refusal
    assert page.is_hidden("#upload-files")  # the chosen list is emptied for the next batch

    with app.app_context():
        stored = db.session.execute(db.select(Novel.title, Novel.author, Novel.licence).order_by(Novel.id)).all()
        db.session.remove()
    assert [tuple(row) for row in stored] == [("B사감과 러브레터", "현진건", "저작권 만료 (1943년 사망)"),
                                             ("편지", "작자 미상", "직접 쓴 글")]  # each file its own


@pytest.mark.parametrize("site_overrides", [{"NOVEL_MAX_BYTES": 2000}])
def test_a_file_over_the_limit_is_refused_without_stopping_the_next(live_server, browser, tmp_path, site_overrides):
    big = tmp_path / "01_큰_글.txt"
    big.write_text("가" * 1000, encoding="utf-8")  # 3,000 bytes
    small = tmp_path / "02_작은_글.txt"
    small.write_text("작은 글은 올라간다.", encoding="utf-8")

    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "올리미")
    page.goto(f"{live_server}/novels/upload")
    page.set_input_files("#file-input", [str(big), str(small)])
    page.fill("#upload-files .file-author >> nth=0", "작가")
    page.fill("#upload-files .file-licence >> nth=0", "직접 쓴 글")
    page.click("#upload-files .copy-to-all >> nth=0")
    page.click("#upload-button")
    wait_for(page, "document.getElementById('upload-summary').textContent.includes('못했습니다')", timeout=15000)
    assert "파일이 너무 큽니다. 2KB까지" in page.inner_text("#upload-results .upload-outcome[data-state=refused]")
    assert page.inner_text("#upload-results .upload-outcome[data-state=accepted] .outcome-head a") == "작은 글"
