from marshmallow import EXCLUDE, Schema, fields, validate

from app.fields import DatabaseId, KoreanText, UtcDateTime, korean_range
from app.stories.services import SETTING_NAMES


class StorySettingsSchema(Schema):
    proposing_minutes = fields.Integer(validate=korean_range(0, 10080, "분"))
    voting_minutes = fields.Integer(validate=korean_range(0, 10080, "분"))
    choosing_minutes = fields.Integer(validate=korean_range(0, 10080, "분"))
    candidates_k = fields.Integer(validate=korean_range(1, 5, "개"))
    # Votes a novel needs to join the story's training set.
    training_quorum = fields.Integer(validate=korean_range(1, 1000, "표"))
    # Votes of participants that accept a suggested bible note without the owner.
    bible_quorum = fields.Integer(validate=korean_range(1, 1000, "표"))


class StoryCreateSchema(Schema):
    title = KoreanText(required=True, max_chars=100, single_line=True)
    opening = KoreanText(required=True, min_chars=10, max_chars=5000)
    settings = fields.Nested(StorySettingsSchema, load_default=dict)


class StoryListArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    finished = fields.Boolean(load_default=None, metadata={
        "description": "true: 완결된 이야기만, false: 연재 중인 이야기만 (없으면 모두)"})


class PassagesArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a cache-busting ``_=…`` is no error

    after = DatabaseId(minimum=0, load_default=0, metadata={"description": "이 seq 다음 글부터 (0: 처음부터)"})


class PassageProposalSchema(Schema):
    keyword = fields.String()
    sentences = fields.Integer()
    author = fields.String(metadata={"description": "제안한 사람"})


class PassageSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    text = fields.String()
    author_kind = fields.String(metadata={"enum": ["human", "ai"]})
    author = fields.String()
    model_version = fields.String(allow_none=True)
    hidden = fields.Boolean(metadata={"description": "관리자가 숨긴 글 (참여자에게는 본문 대신 안내 문구)"})
    proposal = fields.Nested(PassageProposalSchema, allow_none=True,
                             metadata={"description": "AI 글이 따른 제안 (키워드, 문장 수, 제안한 사람)"})


class StorySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    # Function fields carry their type in metadata so that the OpenAPI document states it.
    owner = fields.Function(lambda s: s.owner.username, metadata={"type": "string"})
    settings = fields.Function(
        lambda s: {name: getattr(s, name) for name in SETTING_NAMES},
        metadata={"allOf": [{"$ref": "#/components/schemas/StorySettings"}]},
    )
    active_model_version = fields.Function(lambda s: s.active_model_version.name if s.active_model_version else None,
                                           metadata={"type": "string", "nullable": True})
    created_at = UtcDateTime()
    finished = fields.Boolean(metadata={"description": "완결된 이야기 (더는 제안·투표·라운드가 없음)"})
    finished_at = UtcDateTime(allow_none=True)


class StoryDetailSchema(StorySchema):
    """A story with its passages as the viewer may see them (app.stories.services.StoryPage)."""
    passages = fields.List(fields.Nested(PassageSchema))


class StorySummarySchema(Schema):
    id = fields.Function(lambda row: row["story"].id, metadata={"type": "integer"})
    title = fields.Function(lambda row: row["story"].title, metadata={"type": "string"})
    owner = fields.String()
    passages = fields.Integer()
    phase = fields.String(allow_none=True)
    round = fields.Integer(allow_none=True)
    finished = fields.Boolean()
    finished_at = UtcDateTime(allow_none=True)


class ChapterInSchema(Schema):
    title = KoreanText(required=True, max_chars=100, single_line=True)


class FinishInSchema(Schema):
    title = KoreanText(max_chars=100, single_line=True, metadata={
        "description": "아직 닫히지 않은 장의 제목 (없으면 \"마지막 장\"; 닫을 장이 없으면 쓰이지 않음)"})


class ChapterSchema(Schema):
    number = fields.Integer()
    title = fields.String(allow_none=True, metadata={"description": "닫히지 않은 장은 null"})
    first_seq = fields.Integer(metadata={"description": "이 장의 첫 글 seq"})
    last_seq = fields.Integer(metadata={"description": "이 장의 마지막 글 seq"})
    passages = fields.Integer(metadata={"description": "이 장의 글 수 (숨긴 글 포함)"})
    closed = fields.Boolean()
    closed_at = UtcDateTime(allow_none=True)


class ChapterListSchema(Schema):
    story_id = fields.Integer()
    finished = fields.Boolean()
    finished_at = UtcDateTime(allow_none=True)
    chapters = fields.List(fields.Nested(ChapterSchema))


class BibleEntryInSchema(Schema):
    name = KoreanText(required=True, max_chars=30, single_line=True, metadata={"description": "인물·장소의 이름"})
    triggers = fields.List(KoreanText(max_chars=20, single_line=True), load_default=list,
                           validate=validate.Length(max=10, error="떠올림 낱말은 10개까지입니다."),
                           metadata={"description": "이 노트를 불러오는 낱말 (이름은 늘 불러옴)"})
    text = KoreanText(required=True, max_chars=300, metadata={"description": "노트 내용"})
    pinned = fields.Boolean(load_default=False, metadata={"description": "늘 모델에게 보여 줌 (제안에는 쓰이지 않음)"})


class BibleEntryPatchSchema(BibleEntryInSchema):
    """An edit: any of the fields, none required."""
    name = KoreanText(max_chars=30, single_line=True)
    triggers = fields.List(KoreanText(max_chars=20, single_line=True),
                           validate=validate.Length(max=10, error="떠올림 낱말은 10개까지입니다."))
    text = KoreanText(max_chars=300)
    pinned = fields.Boolean()


class BibleEntrySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    triggers = fields.List(fields.String())
    text = fields.String()
    pinned = fields.Boolean()
    status = fields.String(metadata={"enum": ["accepted", "suggested"]})
    suggested_by = fields.Function(lambda e: e.suggested_by.username if e.suggested_by else None,
                                   metadata={"type": "string", "nullable": True, "description": "제안한 사람"})
    votes = fields.Integer(metadata={"description": "제안에 찬성한 표 (이야기의 bible_quorum에 이르면 받아들여짐)"})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class BibleSchema(Schema):
    story_id = fields.Integer()
    owner = fields.String()
    finished = fields.Boolean()
    entries = fields.List(fields.Nested(BibleEntrySchema), metadata={"description": "받아들인 노트 (고정한 것 먼저)"})
    suggestions = fields.List(fields.Nested(BibleEntrySchema),
                              metadata={"description": "주인이나 참여자의 표를 기다리는 제안 (오래된 것부터)"})
    quorum = fields.Integer(metadata={"description": "제안을 받아들이는 데 필요한 표 수"})
    my_votes = fields.List(fields.Integer(), metadata={"description": "내가 찬성한 제안의 id"})


class BibleCandidateSchema(Schema):
    name = fields.String()
    count = fields.Integer(metadata={"description": "이야기에 나온 횟수"})


class BibleCandidateListSchema(Schema):
    candidates = fields.List(fields.Nested(BibleCandidateSchema),
                             metadata={"description": "이야기에 거듭 나오는 고유명사 가운데 노트가 없는 것 (많이 나온 것부터)"})
