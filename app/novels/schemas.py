from marshmallow import Schema, fields

from app.fields import KoreanText, UtcDateTime


class NovelUploadSchema(Schema):
    """The form fields of an upload (the file itself comes as the multipart part ``file``)."""

    title = KoreanText(required=True, max_chars=200, single_line=True)
    author = KoreanText(required=True, max_chars=100, single_line=True)
    # The uploader's statement that the text is out of copyright or used with permission.
    licence = KoreanText(required=True, min_chars=2, max_chars=500, single_line=True)


class NovelVotesSchema(Schema):
    story_id = fields.Integer()
    story_title = fields.String()
    quorum = fields.Integer()
    votes = fields.Integer()
    my_vote = fields.Boolean()
    in_training_set = fields.Boolean()


class NovelSchema(Schema):
    """A library row: ``{"novel": Novel, "uploader": name, "training": [...]}``."""

    id = fields.Integer(attribute="novel.id")
    title = fields.String(attribute="novel.title")
    author = fields.String(attribute="novel.author")
    licence = fields.String(attribute="novel.licence")
    original_filename = fields.String(attribute="novel.original_filename")
    uploader = fields.String()
    encoding = fields.String(attribute="novel.encoding")
    size_bytes = fields.Integer(attribute="novel.size_bytes")
    chars = fields.Integer(attribute="novel.chars", metadata={"description": "공백을 뺀 글자 수"})
    sentences = fields.Integer(attribute="novel.sentences", allow_none=True,
                               metadata={"description": "문장 수 (작업자가 세기 전에는 null)"})
    dialogue_share = fields.Float(attribute="novel.dialogue_share", metadata={"description": "대사의 비율 (0~1)"})
    status = fields.String(attribute="novel.status", metadata={"enum": ["visible", "hidden"]})
    created_at = UtcDateTime(attribute="novel.created_at")
    training = fields.List(fields.Nested(NovelVotesSchema))


class NovelDetailSchema(NovelSchema):
    preview = fields.String(metadata={"description": "정리한 본문의 앞부분"})


class TrainingVoteInSchema(Schema):
    novel_id = fields.Integer(required=True, strict=True)
    # Absent: toggle. true/false: set the vote to that (repeating it changes nothing).
    voted = fields.Boolean()


class TrainingVoteOutSchema(Schema):
    story_id = fields.Integer()
    novel_id = fields.Integer()
    voted = fields.Boolean()
    votes = fields.Integer()
    quorum = fields.Integer()
    in_training_set = fields.Boolean()


class TrainingSetNovelSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    author = fields.String()
    chars = fields.Integer()
    votes = fields.Integer()


class TrainingSetSchema(Schema):
    story_id = fields.Integer()
    quorum = fields.Integer()
    novels = fields.List(fields.Nested(TrainingSetNovelSchema))
