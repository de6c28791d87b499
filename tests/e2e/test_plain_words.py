"""What participants read has no setting names or machine-learning jargon: a signed-in participant
walks every page of a story whose passages the bare base and a retrained version wrote, while a
retrain runs, and reads none of the words below (admins' pages may keep them)."""
import re

import pytest

from tests.e2e.conftest import sign_up
from tests.e2e.test_training_page import report, running_job

pytestmark = pytest.mark.browser

TECHNICAL = re.compile(r"starter|DPO|JSONL|토큰/초|MODEL_NAME|tokens?/s|LoRA|adapter", re.IGNORECASE)


def story_written_by_the_base(app) -> tuple[int, str]:
    """A story whose second passage the bare base wrote (app.training.lineage.base_version, the row
    generation records), with a retrained version in its list."""
    from app.accounts import services as accounts
    from app.extensions import db
    from app.stories import services as stories
    from app.stories.models import Passage
    from app.training.models import ModelVersion
    from tests.app.conftest import OPENING
    from app.training.lineage import base_version

    with app.app_context():
        owner = accounts.sign_up("owner", "password123")
        story = stories.create_story(owner, "느티나무 아래", OPENING)
        base = base_version("/m/starter")
        db.session.add(Passage(story_id=story.id, seq=2, text="바람이 불자 편지가 저절로 펼쳐졌다.", author_kind="ai",
                               model_version_id=base.id))
        db.session.add(ModelVersion(story_id=story.id, name="v1", base="/m/starter", path="/m/a", data={}, metrics={
            "decision": "검증 손실 2.500 → 2.300: 자동으로 적용했습니다."}))
        db.session.commit()
        story_id, name = story.id, base.name
        db.session.remove()
    return story_id, name


def test_a_participant_reads_no_setting_names_or_jargon(live_server, browser, app):
    story_id, base_name = story_written_by_the_base(app)
    report(app, running_job(app, story_id), 40)
    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "참가자")
    for path in (f"/stories/{story_id}", f"/stories/{story_id}/history", f"/stories/{story_id}/training",
                 f"/stories/{story_id}/novels", "/novels", "/novels/upload", "/profile", "/"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        text = page.inner_text("body")
        assert not TECHNICAL.search(text), (path, TECHNICAL.findall(text))
    assert base_name == "기본 모델"
