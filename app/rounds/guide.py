"""What the round panel says: what to do now (``help``), who may act (``who``) and when the
round moves on (``next``). Written here once, in Korean, for the page as the server sends it
(which must read right without JavaScript) and for static/story.js, which shows the same
sentences from the round API. A failed or blocked generation says it all in the round's notice.
"""
from app.particles import particle

PHASE_NAMES = {"proposing": "제안", "voting": "투표", "generating": "AI 작성", "choosing": "후보 선택", "closed": "종료"}
EVERYONE = "로그인한 사람은 누구나"


def round_guide(phase: str, *, owner: str, timed: bool, job: dict | None, turnout: dict | None,
                max_sentences: int | None, k: int) -> dict:
    """``{help, who, next}`` for a round in ``phase``. ``timed``: the phase has a deadline (the
    panel shows the time left); ``turnout``: ``{voted, active}`` while voting or choosing;
    ``max_sentences``: while proposing, the longest keyword proposal the AI can write in time."""
    hand = f"이야기 주인 {owner}{particle(owner, '이나')} 관리자"
    earlier = f" {hand}는 더 일찍 넘길 수 있습니다." if timed else ""
    if phase == "proposing":
        help_ = "다음 내용을 제안하세요: 키워드와 문장 수를 주면 AI가 쓰고, 직접 쓴 글이 뽑히면 그대로 이어집니다."
        if max_sentences == 0:
            help_ += f" 지금은 AI가 후보 {k}개를 제한 시간 안에 쓸 수 없어, 직접 쓴 글만 제안할 수 있습니다."
        elif max_sentences is not None and max_sentences < 10:
            help_ += f" AI가 후보 {k}개를 제한 시간 안에 쓰려면 지금은 {max_sentences}문장까지입니다."
        who = f"{EVERYONE} 제안 하나를 내고, 투표가 시작되기 전까지 고칠 수 있습니다."
        after = ("남은 시간이 끝나면 투표로 넘어갑니다(제안이 없으면 시간이 다시 시작됩니다)." if timed
                 else f"{hand}가 넘기면 투표로 넘어갑니다.")
        return {"help": help_, "who": who, "next": after + earlier}
    if phase in ("voting", "choosing"):
        voting = phase == "voting"
        help_ = ("마음에 드는 제안에 투표하세요. 다시 누르면 투표가 옮겨집니다." if voting
                 else "AI가 쓴 후보 가운데 이야기에 이어질 글을 고르세요. 다시 누르면 투표가 옮겨집니다.")
        then = ("키워드 제안이 뽑히면 AI가 후보를 쓰고, 직접 쓴 글이 뽑히면 바로 이어집니다." if voting
                else "표가 가장 많은 후보가 이야기에 이어지고 다음 라운드가 시작됩니다.")
        who = f"{EVERYONE} 한 표를 던질 수 있습니다."
        if not timed:
            return {"help": help_, "who": who, "next": f"{hand}가 넘기면 {then}"}
        voted, active = (turnout or {}).get("voted", 0), (turnout or {}).get("active", 0)
        if active and voted >= active:
            when = f"이번·지난 라운드에 참여한 {active}명이 모두 투표해 곧 넘어갑니다."
        else:
            when = (f"남은 시간이 끝나거나, 이번·지난 라운드에 참여한 {active}명이 모두 투표하면(지금 {voted}명) "
                    "넘어갑니다(표가 없으면 시간이 다시 시작됩니다).")
        return {"help": help_, "who": who, "next": f"{when} {then}{earlier}"}
    if phase == "generating" and job is not None and job["status"] in ("queued", "running"):
        writing = f"AI가 뽑힌 제안(강조된 것)대로 후보 {job.get('k') or k}개를 쓰고 있습니다."
        return {"help": writing, "who": "지금은 기다리면 됩니다.",
                "next": "후보를 다 쓰면 저절로 후보 선택으로 넘어갑니다."}
    return {"help": "", "who": "", "next": ""}  # closed, or a failed or waiting job: the notice says it
