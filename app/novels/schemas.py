from marshmallow import EXCLUDE, Schema, fields, post_load, pre_load, validate

from app.fields import DatabaseId, KoreanText, UtcDateTime

# The library's orders (GET /api/v1/novels?sort=…, the /novels page), in the order the page offers them.
LIBRARY_SORTS = {"newest": "최신순", "title": "제목순", "author": "지은이순", "chars": "글자 많은 순", "votes": "표 많은 순"}
LIBRARY_PER_PAGE = 20
LIBRARY_MAX_PER_PAGE = 100
# No library has a million pages; the cap keeps absurd numbers (page=10**30) out of SQL.
LIBRARY_MAX_PAGE = 1_000_000


class NovelUploadSchema(Schema):
    """The form fields of an upload (the file itself comes as the multipart part ``file``).
    A missing or blank title comes from the text's heading, else the file's name (services.upload_novel)."""

    title = KoreanText(max_chars=200, single_line=True,
                       metadata={"description": "비우면 글 첫머리의 제목 줄(동백꽃 / 김유정, 제목: …)에서, 없으면 파일 이름에서 "
                                                "만듭니다: 01_봄봄.txt → 봄봄"})
    author = KoreanText(required=True, max_chars=100, single_line=True)
    # The uploader's statement that the text is out of copyright or used with permission.
    licence = KoreanText(required=True, min_chars=2, max_chars=500, single_line=True)

    @pre_load
    def blank_title_is_no_title(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("title"), str) and not data["title"].strip():
            data = {k: v for k, v in data.items() if k != "title"}
        return data

    @post_load
    def no_title_is_none(self, data, **kwargs):
        return {"title": None, **data}


class NovelListQuerySchema(Schema):
    """The library's query string: search, order and page. Unknown parameters are ignored
    (a cache-busting ``_=…`` is no error)."""

    class Meta:
        unknown = EXCLUDE

    q = KoreanText(min_chars=0, max_chars=100, single_line=True, load_default="",
                   metadata={"description": "제목이나 지은이에서 찾을 말 (대소문자 무시, NFC; 띄어 쓴 낱말은 모두 들어 있어야 함)"})
    sort = fields.String(load_default="newest", validate=validate.OneOf(
        list(LIBRARY_SORTS), error="sort는 " + ", ".join(LIBRARY_SORTS) + " 가운데 하나여야 합니다."),
        metadata={"description": "newest(기본), title, author, chars(글자 많은 순), votes(모든 이야기의 학습 표 합)"})
    page = fields.Integer(load_default=1, validate=validate.Range(
        min=1, max=LIBRARY_MAX_PAGE, error=f"page는 1부터 {LIBRARY_MAX_PAGE:,}까지의 정수여야 합니다."),
        error_messages={"invalid": "page는 1 이상의 정수여야 합니다."})
    per_page = fields.Integer(load_default=LIBRARY_PER_PAGE, validate=validate.Range(
        min=1, max=LIBRARY_MAX_PER_PAGE, error=f"per_page는 1부터 {LIBRARY_MAX_PER_PAGE}까지의 정수여야 합니다."),
        error_messages={"invalid": f"per_page는 1부터 {LIBRARY_MAX_PER_PAGE}까지의 정수여야 합니다."})


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


class NovelPageSchema(Schema):
    """One page of the library: ``novels`` plus where it lies in the whole search."""

    novels = fields.List(fields.Nested(NovelSchema))
    total = fields.Integer(metadata={"description": "검색에 맞는 소설 수 (모든 쪽)"})
    page = fields.Integer(metadata={"description": "이 쪽 번호 (1부터); pages보다 크면 novels는 빈 목록"})
    pages = fields.Integer(metadata={"description": "쪽 수 (소설이 없어도 1)"})
    per_page = fields.Integer()
    q = fields.String(metadata={"description": "정규화한 검색어"})
    sort = fields.String()


class NovelDetailSchema(NovelSchema):
    preview = fields.String(metadata={"description": "정리한 본문의 앞부분"})


class TrainingVoteInSchema(Schema):
    novel_id = DatabaseId(required=True, strict=True)
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


class TrainingTallyNovelSchema(Schema):
    novel_id = fields.Integer()
    votes = fields.Integer()
    my_vote = fields.Boolean()
    in_training_set = fields.Boolean()


class TrainingTallySchema(Schema):
    """The votes of every novel that has any in this story (a novel not listed has none)."""

    story_id = fields.Integer()
    quorum = fields.Integer()
    novels = fields.List(fields.Nested(TrainingTallyNovelSchema))
