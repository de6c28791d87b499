from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import DatabaseId, KoreanText, UtcDateTime, korean_range
from model_server.mood import MOODS


class ProposalInSchema(Schema):
    """Either {keyword, sentences, mood?} (the AI writes) or {text} (written by hand)."""

    keyword = KoreanText(max_chars=20, single_line=True)
    sentences = fields.Integer(validate=korean_range(1, 10, "문장"))
    mood = fields.String(allow_none=True, validate=validate.OneOf(
        MOODS, error=f"분위기는 {', '.join(MOODS)} 가운데 하나이거나 비워 두세요."),
        metadata={"description": "AI에게 바라는 분위기 (없으면 아무 분위기나)"})
    text = KoreanText(min_chars=2, max_chars=2000)

    @validates_schema
    def one_kind(self, data, **kwargs):
        if "text" in data:
            if "keyword" in data or "sentences" in data or data.get("mood"):
                raise ValidationError("키워드 제안과 직접 쓴 글 중 하나만 보내 주세요.", "text")
        elif "keyword" not in data or "sentences" not in data:
            missing = "keyword" if "keyword" not in data else "sentences"
            raise ValidationError("키워드와 문장 수를 모두 보내 주세요.", missing)


class VoteInSchema(Schema):
    proposal_id = DatabaseId(strict=True)
    candidate_id = DatabaseId(strict=True)

    @validates_schema
    def one_target(self, data, **kwargs):
        if ("proposal_id" in data) == ("candidate_id" in data):
            raise ValidationError("proposal_id 또는 candidate_id 중 하나만 보내 주세요.", "proposal_id")


class RecoverInSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(
        ("retry", "runner_up", "propose_again"),
        error="action은 retry(다시 시도), runner_up(다음 제안), propose_again(제안 단계로) 중 하나입니다."),
        metadata={"description": "retry: 새 작업으로 다시 쓰기, runner_up: 다음으로 표를 많이 받은 제안, "
                                 "propose_again: 제안 단계로 돌아가기"})


class ProposalOutSchema(Schema):
    id = fields.Integer()
    keyword = fields.String(allow_none=True)
    sentences = fields.Integer(allow_none=True)
    mood = fields.String(allow_none=True, metadata={"description": "키워드 제안이 바라는 분위기"})
    text = fields.String(allow_none=True)
    text_sentences = fields.Integer(allow_none=True, metadata={"description": "직접 쓴 글의 문장 수 (세기 전에는 null)"})
    author = fields.String()
    votes = fields.Integer()
    mine = fields.Boolean()


class CandidateOutSchema(Schema):
    id = fields.Integer()
    text = fields.String()
    votes = fields.Integer()
    notes = fields.List(fields.String(), metadata={"description": "AI가 읽은 인물·배경 노트의 이름"})


class MyVoteSchema(Schema):
    stage = fields.String()
    proposal_id = fields.Integer(allow_none=True)
    candidate_id = fields.Integer(allow_none=True)


class RoundJobSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    progress = fields.Float()
    error = fields.String(allow_none=True)
    k = fields.Integer(allow_none=True, metadata={"description": "AI가 쓰는 후보 수 (제한 시간에 맞춰 줄었을 수 있음)"})
    estimate_s = fields.Float(allow_none=True, metadata={"description": "이 사이트의 최근 속도로 어림한 작성 시간(초)"})
    eta_s = fields.Float(allow_none=True, metadata={"description": "쓰는 동안: 어림한 남은 시간(초)"})


class TurnoutSchema(Schema):
    voted = fields.Integer()
    active = fields.Integer()


class GuideSchema(Schema):
    help = fields.String()
    who = fields.String()
    next = fields.String()


class RoundSchema(Schema):
    id = fields.Integer()
    story_id = fields.Integer()
    number = fields.Integer()
    phase = fields.String(metadata={"enum": ["proposing", "voting", "generating", "choosing", "closed"]})
    deadline = UtcDateTime(allow_none=True, format="iso")
    notice = fields.String(allow_none=True)
    winning_proposal_id = fields.Integer(allow_none=True)
    now = UtcDateTime(format="iso")
    last_seq = fields.Integer()
    proposals = fields.List(fields.Nested(ProposalOutSchema))
    candidates = fields.List(fields.Nested(CandidateOutSchema))
    my_vote = fields.Nested(MyVoteSchema, allow_none=True)
    job = fields.Nested(RoundJobSchema, allow_none=True)
    can_advance = fields.Boolean()
    owner = fields.String(metadata={"description": "이야기 주인"})
    candidates_k = fields.Integer(metadata={"description": "이야기 설정: AI 후보 수"})
    turnout = fields.Nested(TurnoutSchema, allow_none=True, metadata={
        "description": "투표·후보 선택 중: 이번·지난 라운드 참여자(active) 가운데 투표한 사람(voted)"})
    max_sentences = fields.Integer(allow_none=True, metadata={
        "description": "제안 중: AI가 제한 시간 안에 쓸 수 있는 가장 긴 키워드 제안 (0: 직접 쓴 글만)"})
    guide = fields.Nested(GuideSchema, metadata={"description": "패널 문구: 지금 할 일, 누가 할 수 있는지, 언제 넘어가는지"})


class VoteOutSchema(Schema):
    round_id = fields.Integer()
    stage = fields.String()
    proposal_id = fields.Integer(allow_none=True)
    candidate_id = fields.Integer(allow_none=True)


class HistoryArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=korean_range(1, 100_000, "쪽"))


class HistoryProposalSchema(Schema):
    id = fields.Integer()
    keyword = fields.String(allow_none=True)
    sentences = fields.Integer(allow_none=True)
    mood = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    author = fields.String()
    votes = fields.Integer()


class HistoryCandidateSchema(Schema):
    id = fields.Integer()
    text = fields.String()
    votes = fields.Integer()
    model_version = fields.String()
    notes = fields.List(fields.String(), metadata={"description": "AI가 읽은 인물·배경 노트의 이름"})


class HistoryRoundSchema(Schema):
    number = fields.Integer()
    closed_at = UtcDateTime(format="iso")
    proposals = fields.List(fields.Nested(HistoryProposalSchema), metadata={"description": "표가 많은 순"})
    winning_proposal_id = fields.Integer(allow_none=True)
    candidates = fields.List(fields.Nested(HistoryCandidateSchema))
    winning_candidate_id = fields.Integer(allow_none=True, metadata={"description": "직접 쓴 글이 뽑힌 라운드는 null"})
    passage_seq = fields.Integer(allow_none=True, metadata={"description": "이 라운드가 이야기에 더한 글의 seq"})


class HistorySchema(Schema):
    items = fields.List(fields.Nested(HistoryRoundSchema))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()
