"""Screenshots of the site's pages in headless Chromium (docs/*.png), on demo data.

    .venv/bin/python docs/make_screenshots.py
"""
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import wait_for  # noqa: E402  (page.wait_for_function is blocked by the site's CSP)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSAGES = [
    ("human", "민지", "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다. 주인 노인은 오래된 원고 한 묶음을 꺼내 먼지를 털었다. "
                     "표지에는 아무 이름도 적혀 있지 않았다."),
    ("ai", None, "원고의 첫 장은 누군가의 일기처럼 시작했다. \"오늘도 그 사람은 오지 않았다.\" 노인은 안경을 고쳐 쓰고 "
                 "천천히 다음 줄을 읽어 내려갔다."),
    ("human", "서준", "그때 책방 문에 달린 종이 울렸다. 비에 젖은 우산을 든 소녀가 문간에 서서 노인의 손에 들린 원고를 "
                     "가만히 바라보았다."),
    ("ai", None, "\"그거, 제 어머니가 쓰신 거예요.\" 소녀의 목소리는 작았지만 떨리지 않았다. 노인은 원고를 내려놓고 "
                 "소녀에게 의자를 권했다."),
]


def build_demo(app):
    from app.accounts import services as accounts
    from app.extensions import db
    from app.rounds import machine, services as rounds
    from app.stories import services as stories
    from app.training.models import ModelVersion

    with app.app_context():
        people = {name: accounts.sign_up(name, "password123") for name in ("민지", "서준", "하늘", "도윤")}
        story = stories.create_story(people["민지"], "책방의 원고", PASSAGES[0][2], {"voting_minutes": 10})
        version = ModelVersion(story_id=story.id, name="책방의원고-v2", base="starter", data={}, metrics={})
        db.session.add(version)
        db.session.commit()
        for kind, author, text in PASSAGES[1:]:
            machine.append_passage(story, text, author=people[author] if author else None,
                                   model_version_id=None if author else version.id)
        db.session.commit()
        stories.create_story(people["서준"], "겨울 기차의 승객들", "막차가 떠나기 오 분 전, 대합실에는 세 사람만 남아 있었다.")
        rounds.propose(story.id, people["서준"], keyword="편지", sentences=3)
        rounds.propose(story.id, people["하늘"], text="소녀는 젖은 우산을 접으며, 어머니가 끝내 쓰지 못한 마지막 장을 찾으러 왔다고 말했다.")
        rounds.propose(story.id, people["도윤"], keyword="기억", sentences=2)
        machine.advance(story.id)
        proposals = rounds.snapshot(story.id, None)["proposals"]
        for name, index in (("서준", 1), ("하늘", 1), ("도윤", 0), ("민지", 1)):
            rounds.vote(story.id, people[name], proposal_id=proposals[index]["id"])
        return story.id


def corpus_dir() -> Path:
    from tests.conftest import find_corpus

    return find_corpus()


def build_library(app, story_id: int) -> None:
    """Three corpus novels in the library (the texts stay outside the repository), votes for
    the story, one novel and one passage hidden, 도윤 blocked, 민지 an admin."""
    from app.accounts.models import User
    from app.admin import services as admin
    from app.extensions import db
    from app.novels import services as novels, training_set
    from worker.counting import count_novel_sentences

    with app.app_context():
        people = {u.username: u for u in db.session.scalars(db.select(User))}
        folder = corpus_dir() / "novels"
        uploaded = []
        for filename, title, author, uploader in (("46_Sunrise.txt", "해돋이", "최서해", "서준"),
                                                  ("36_Presence.txt", "존재", "작자 미상", "하늘"),
                                                  ("17_Good_Sentences.txt", "좋은 문장", "작자 미상", "도윤")):
            novel = novels.upload_novel(people[uploader], (folder / filename).read_bytes(), filename, title, author,
                                        "저작권 만료 (퍼블릭 도메인)")
            count_novel_sentences(novel.id)
            uploaded.append(novel.id)
        story = training_set._get_story(story_id)
        story.training_quorum = 2
        db.session.commit()
        for name in ("민지", "서준", "하늘"):
            training_set.set_training_vote(story_id, uploaded[0], people[name], True)
        training_set.set_training_vote(story_id, uploaded[1], people["서준"], True)
        people["민지"].role = "admin"
        db.session.commit()
        admin.set_novel_status(uploaded[2], "hidden")
        admin.set_blocked(people["민지"], people["도윤"].id, True)
        second = db.session.scalar(db.select(db.text("id FROM passages WHERE seq = 3 AND story_id = :s")
                                             .bindparams(s=story_id)))
        admin.set_passage_hidden(second, True)


def novel_pages(browser, app, base: str, story_id: int, out: Path) -> None:
    from app.extensions import db
    from app.novels.models import Novel
    from worker.counting import count_novel_sentences

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    page = context.new_page()

    def log_in(name):
        page.goto(f"{base}/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", "password123")
        page.click("button[type=submit]")

    log_in("하늘")
    page.goto(f"{base}/novels/upload")
    page.set_input_files("#file-input", str(corpus_dir() / "encodings" / "dongbaekkkot.euc-kr.txt"))
    page.fill("#upload-files .file-title", "동백꽃")
    page.fill("input[name=author]", "김유정")
    page.fill("input[name=licence]", "저작권 만료 (퍼블릭 도메인)")
    page.click("#upload-button")
    page.wait_for_selector("#upload-result:not([hidden])")
    with app.app_context():  # the light worker's part
        count_novel_sentences(db.session.scalar(db.select(Novel.id).where(Novel.title == "동백꽃")))
        db.session.remove()
    page.wait_for_selector("#upload-results .upload-outcome[data-state=accepted]")
    wait_for(page, "!document.querySelector('#upload-results .outcome-sentences').textContent.includes('세는 중')",
             timeout=15000)
    page.screenshot(path=str(out / "novel-upload.png"), full_page=True)
    page.goto(f"{base}/novels")
    page.screenshot(path=str(out / "novels.png"), full_page=True)
    page.goto(f"{base}/stories/{story_id}/novels")
    page.screenshot(path=str(out / "story-novels.png"), full_page=True)
    page.click("text=로그아웃")
    log_in("민지")
    page.goto(f"{base}/admin?story={story_id}")
    page.screenshot(path=str(out / "admin.png"), full_page=True)
    context.close()


def build_training_demo(app, story_id: int) -> None:
    """Two versions (the first active, the second held) and a retrain half-way, with its loss curve."""
    import math

    from app.extensions import db
    from app.jobs import services as jobs
    from app.jobs.models import Job
    from app.stories.models import Story
    from app.training.models import ModelVersion

    with app.app_context():
        v1 = ModelVersion(story_id=story_id, name=f"이야기{story_id}-v1", base="starter", path="/demo/v1",
                          data={"novels": ["novel-1:동백꽃", "novel-2:운수 좋은 날"], "passages": list(range(4))},
                          metrics={"val_loss": 3.412, "active_val_loss": 3.951, "activated": True,
                                   "decision": "검증 손실 3.951 → 3.412: 자동으로 적용했습니다."})
        db.session.add(v1)
        db.session.flush()
        v2 = ModelVersion(story_id=story_id, name=f"이야기{story_id}-v2", base="starter", path="/demo/v2", parent_id=v1.id,
                          held_for_admin=True, data={"novels": ["novel-3:메밀꽃 필 무렵"], "passages": list(range(4))},
                          metrics={"val_loss": 3.702, "active_val_loss": 3.412, "activated": False,
                                   "decision": "검증 손실 3.702이(가) 현재 버전의 3.412보다 5% 넘게 나빠 관리자 확인을 기다립니다."})
        db.session.add(v2)
        db.session.get(Story, story_id).active_model_version_id = v1.id
        job = Job(kind="retrain", story_id=story_id, status="running", params={})
        db.session.add(job)
        db.session.commit()
        points = [(s, 2.6 + 3.2 * math.exp(-s / 90) + 0.05 * math.sin(s / 3)) for s in range(2, 262, 2)]
        jobs.record_progress(job.id, 0.95 * 260 / 420, {
            "stage": "training", "step": 260, "total": 420, "loss": points[-1][1], "tokens_per_s": 2140.0,
            "eta_s": 46.0, "elapsed_s": 74.0}, [(s, loss, 2140.0) for s, loss in points])


def main() -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from flask_migrate import upgrade

    from app import create_app
    from config import celery_settings

    tmp = Path(tempfile.mkdtemp())
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'demo.sqlite'}", "DATA_DIR": str(tmp / "data"),
                      "BROKER_DIR": str(tmp / "broker"), "CELERY": celery_settings(None, tmp / "broker", 5),
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
    story_id = build_demo(app)
    build_training_demo(app, story_id)
    with app.app_context():
        from app.accounts import services as accounts

        accounts.sign_up("관리자", "password123", role="admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    out = ROOT / "docs"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, width, height in (("desktop", 1280, 860), ("phone", 390, 844)):
            context = browser.new_context(viewport={"width": width, "height": height}, locale="ko-KR",
                                          device_scale_factor=1 if name == "desktop" else 2)
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "하늘")
            page.fill("input[name=password]", "password123")
            page.click("button[type=submit]")
            page.goto(f"{base}/stories/{story_id}")
            page.wait_for_selector("#proposals li")
            page.wait_for_timeout(600)
            target = out / ("screenshot.png" if name == "desktop" else "story-phone.png")
            page.screenshot(path=str(target), full_page=name == "phone")
            if name == "desktop":
                page.goto(f"{base}/")
                page.screenshot(path=str(out / "stories.png"))
                page.goto(f"{base}/profile")
                page.click("button.primary")
                page.screenshot(path=str(out / "profile.png"))
            context.close()
        # The training page as an admin sees it: progress, the loss curve, versions and buttons.
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="ko-KR")
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "관리자")
        page.fill("input[name=password]", "password123")
        page.click("button[type=submit]")
        page.goto(f"{base}/stories/{story_id}/training")
        page.wait_for_selector("#loss-chart polyline")
        page.wait_for_selector("#versions li")
        page.wait_for_timeout(900)
        page.screenshot(path=str(out / "training.png"), full_page=True)
        context.close()
        build_library(app, story_id)  # after the story's screenshots: it hides one of its passages
        novel_pages(browser, app, base, story_id, out)
        browser.close()
    server.shutdown()
    print("wrote", ", ".join(str(p.relative_to(ROOT)) for p in sorted(out.glob("*.png"))))


if __name__ == "__main__":
    main()
