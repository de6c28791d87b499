"""Particles after titles and names follow their last syllable (app.particles, model_server.josa)."""
import pytest

from tests.app.training_helpers import add_novel


@pytest.mark.parametrize("word, after_consonant, expected", [
    ("비 오는 정거장", "으로", "으로"), ("달빛 아래", "으로", "로"), ("서울", "으로", "로"),  # ㄹ takes 로
    ("민지", "이나", "나"), ("서준", "이나", "이나"), ("편지", "을", "를"), ("책방의 원고", "을", "를"), ("정거장", "을", "을"),
    ("「편지」", "이", "가"), ("편지!", "으로", "로"),                     # quotes and marks are not said
    ("1984", "을", "를"), ("10", "으로", "으로"), ("100000", "은", "은"), ("0", "이", "이"),  # 사, 십, 만, 영
    ("3.300", "이", "이"), ("2.512", "이", "가"), ("v2", "을", "를"),  # 영, 이 (decimals digit by digit)
    ("Love Letters", "을", "을(를)"), ("Love Letters", "으로", "(으)로"),     # cannot tell: both forms
])
def test_the_particle_fits_the_last_syllable_said(word, after_consonant, expected):
    from app.particles import particle

    assert particle(word, after_consonant) == expected


@pytest.mark.parametrize("title, back", [("비 오는 정거장", "「비 오는 정거장」으로 돌아가기"),
                                         ("달빛 아래", "「달빛 아래」로 돌아가기")])
def test_the_history_page_links_back_with_the_fitting_particle(users, title, back):
    owner = users.make("owner")
    story = owner.post("/api/v1/stories", {"title": title, "opening": "비가 그치지 않는 밤, 정거장에는 아무도 없었다."}).json
    page = owner.get(f"/stories/{story['id']}/history").get_data(as_text=True)
    assert back in page


def test_hiding_a_novel_says_its_title_with_the_fitting_particle(app, users):
    from tests.app.conftest import csrf_from

    admin = users.signed_in("chief", role="admin")
    novel_id = add_novel(app, admin.user_id, text="바람이 불었다. " * 20, title="비 오는 정거장")
    page = admin.post(f"/admin/novels/{novel_id}/hide", data={"csrf_token": admin.csrf}, follow_redirects=True)
    assert "「비 오는 정거장」을 숨겼습니다" in page.get_data(as_text=True)
    assert csrf_from(page)
