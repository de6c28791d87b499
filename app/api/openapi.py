"""GET /api/v1/openapi.json, generated from the marshmallow schemas with apispec."""
import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_restful import Resource

from app.accounts.schemas import CredentialsSchema, SignupOutSchema, TokenOutSchema
from app.api import api
from app.admin.schemas import AdminUserSchema
from app.fields import MAX_ID
from app.jobs.schemas import JobAcceptedSchema, JobDetailSchema, JobListSchema, JobRowSchema, JobSchema, LossPointSchema
from app.novels.schemas import (NovelDetailSchema, NovelListQuerySchema, NovelPageSchema, NovelSchema,
                                NovelUploadSchema, TrainingSetSchema, TrainingTallySchema, TrainingVoteInSchema,
                                TrainingVoteOutSchema)
from app.rounds.schemas import (HistoryArgsSchema, HistorySchema, ProposalInSchema, ProposalOutSchema, RecoverInSchema,
                                RoundSchema, VoteInSchema, VoteOutSchema)
from app.stories.schemas import (BibleCandidateListSchema, BibleEntryInSchema, BibleEntryPatchSchema, BibleEntrySchema,
                                 BibleSchema, ChapterInSchema, ChapterListSchema, ChapterSchema, FinishInSchema, PassageSchema,
                                 PassagesArgsSchema, StoryCreateSchema, StoryDetailSchema, StoryListArgsSchema,
                                 StorySchema, StorySettingsSchema, StorySummarySchema)
from app.training.schemas import (BaseListSchema, BaseVersionSchema, JudgesSchema, ModelVersionListSchema,
                                  ModelVersionSchema, PreferenceListSchema, StarterInSchema)

ERROR = {"$ref": "#/components/schemas/Error"}
STATUS_TEXT = {400: "잘못된 입력", 401: "로그인 필요", 403: "권한 없음", 404: "없는 id", 409: "단계가 맞지 않음/충돌",
               413: "파일이 너무 큼", 429: "요청 과다"}
ADMIN_ERRORS = (401, 403, 404)
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # a larger id names no row: 404

# (path, method, summary, request schema, success status, response schema, error statuses, auth)
OPERATIONS = [
    ("/api/v1/auth/signup", "post", "가입하고 API 토큰 받기", "Credentials", 201, "Signup", (400, 409, 429), False),
    ("/api/v1/auth/token", "post", "API 토큰 발급", "Credentials", 200, "Token", (400, 401, 403, 429), False),
    ("/api/v1/stories", "get", "이야기 목록 (?finished=true: 완결된 이야기만, false: 연재 중인 이야기만)", None, 200,
     "StoryList", (400,), False),
    ("/api/v1/stories", "post", "이야기 만들기 (첫 글 포함)", "StoryCreate", 201, "StoryDetail", (400, 401, 429), True),
    ("/api/v1/stories/{story_id}", "get", "이야기와 모든 글", None, 200, "StoryDetail", (404,), False),
    ("/api/v1/stories/{story_id}", "patch", "이야기 설정 바꾸기 (주인/관리자)", "StorySettingsPatch", 200, "StoryDetail",
     (400, 401, 403, 404), True),
    ("/api/v1/stories/{story_id}/passages", "get", "seq 이후의 글 (?after=seq)", None, 200, "PassageList", (400, 404),
     False),
    ("/api/v1/stories/{story_id}/chapters", "get", "장 목록과 장마다 글의 범위 (닫히지 않은 장은 마지막에 closed: false)",
     None, 200, "ChapterList", (404,), False),
    ("/api/v1/stories/{story_id}/chapters", "post", "지금까지의 글로 장 닫기 (주인/관리자)", "ChapterIn", 201, "Chapter",
     (400, 401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/finish", "post",
     "이야기 완결: 남은 글을 마지막 장으로 닫고 라운드를 끝냄 (주인/관리자; 본문은 생략 가능)", "FinishIn", 200,
     "ChapterList", (400, 401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible", "get", "인물·배경 노트: 받아들인 노트, 기다리는 제안과 그 표", None, 200, "Bible",
     (404,), False),
    ("/api/v1/stories/{story_id}/bible", "post", "노트 더하기, 바로 쓰임 (주인/관리자)", "BibleEntryIn", 201, "BibleEntry",
     (400, 401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/suggest", "post", "노트 제안하기 (참여자; 주인이 받아들이거나 표가 모이면 쓰임)", "BibleEntryIn", 201,
     "BibleEntry", (400, 401, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/suggestions", "get",
     "노트 후보: 이야기에 두 번 이상 나온 고유명사 가운데 노트가 없는 것 (주인/관리자)", None, 200, "BibleCandidateList",
     (401, 403, 404), True),
    ("/api/v1/stories/{story_id}/bible/{entry_id}", "patch", "노트 고치기·고정하기 (주인/관리자)", "BibleEntryPatch", 200,
     "BibleEntry", (400, 401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/{entry_id}", "delete", "노트 지우기 (주인/관리자)", None, 200, "Bible",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/{entry_id}/accept", "post", "제안 받아들이기 (주인/관리자)", None, 200, "BibleEntry",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/{entry_id}/reject", "post", "제안 거절하기: 지워짐 (주인/관리자)", None, 200, "Bible",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/{entry_id}/vote", "post",
     "제안에 찬성 (참여자; 이야기의 bible_quorum 표에 이르면 받아들여짐, 다시 보내도 한 표)", None, 200, "BibleEntry",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/bible/{entry_id}/vote", "delete", "찬성 거두기 (제안인 동안)", None, 200, "BibleEntry",
     (401, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/round", "get", "현재 라운드 (ETag/304 지원)", None, 200, "Round", (404,), False),
    ("/api/v1/stories/{story_id}/round/proposals", "post", "제안하기/고치기", "ProposalIn", 201, "ProposalOut",
     (400, 401, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/round/votes", "post", "투표하기 (다시 투표하면 옮겨짐)", "VoteIn", 200, "VoteOut",
     (400, 401, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/round/advance", "post", "다음 단계로 (주인/관리자; 실패한 생성은 재시도)", None, 200, "Round",
     (401, 403, 404, 409), True),
    ("/api/v1/stories/{story_id}/round/recover", "post",
     "실패한 AI 작성 처리: retry | runner_up | propose_again (주인/관리자)", "RecoverIn", 200, "Round",
     (400, 401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/rounds", "get", "지난 라운드 (최근 것부터, 쪽마다 20개: ?page=)", None, 200, "History",
     (400, 404), False),
    ("/api/v1/admin/jobs", "get", "최근 작업 목록 (관리자, ?limit= 최대 100)", None, 200, "JobList", ADMIN_ERRORS, True),
    ("/api/v1/jobs/{job_id}", "get", "작업 상태와 진행, 손실 곡선(points, 최대 500개)", None, 200, "JobDetail", (404,), False),
    ("/api/v1/jobs/{job_id}/cancel", "post", "작업 취소 (관리자; 실행 중이면 다음 단계에서 멈춤)", None, 200, "Job",
     (401, 403, 404, 409), True),
    ("/api/v1/stories/{story_id}/retrain", "post", "이야기 모델 재학습 (관리자)", None, 202, "JobAccepted",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/prefer", "post", "사람들이 고른 후보로 선호 학습(DPO) (관리자)", None, 202, "JobAccepted",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/stories/{story_id}/preferences", "get",
     "선호 데이터: 라운드마다 고른 후보와 밀린 후보, 표 차이 (관리자; JSONL은 /preferences.jsonl)", None, 200,
     "PreferenceList", ADMIN_ERRORS, True),
    ("/api/v1/stories/{story_id}/models", "get", "이야기의 모델 버전 목록", None, 200, "ModelVersionList", (404,), False),
    ("/api/v1/stories/{story_id}/models/{version_id}/activate", "post", "모델 버전 적용/되돌리기 (관리자)", None, 200,
     "ModelVersion", (401, 403, 404, 429), True),
    ("/api/v1/admin/starter", "post",
     "기본 모델(starter) 학습: 없으면 처음부터, 있으면 지금 쓰는 버전에서 이어서 (관리자, MODEL_NAME=starter; 본문은 생략 가능)",
     "StarterIn", 202, "JobAccepted", (400, 401, 403, 409, 429), True),
    ("/api/v1/admin/bases", "get", "기본 모델 버전과 학습 곡선 (관리자)", None, 200, "BaseList", ADMIN_ERRORS, True),
    ("/api/v1/admin/bases/{name}/activate", "post", "이 기본 모델 버전 쓰기 (관리자)", None, 200, "BaseVersion",
     (401, 403, 404, 409, 429), True),
    ("/api/v1/admin/judges", "get", "후보를 고르는 판정 모델: 최근 학습한 것과 지금 쓰는 것 (관리자)", None, 200, "Judges",
     ADMIN_ERRORS, True),
    ("/api/v1/admin/judges", "post", "판정 모델 학습 (관리자; 기본 모델이 있어야 함)", None, 202, "JobAccepted",
     (401, 403, 409, 429), True),
    ("/api/v1/novels", "get", "소설 서재: 찾기(q), 순서(sort), 쪽(page, per_page) (관리자에게는 숨긴 소설도)", None, 200,
     "NovelPage", (400,), False),
    ("/api/v1/novels", "post", "소설 올리기, 요청 하나에 파일 하나 (multipart: file, title?, author, licence)", "NovelUpload",
     201, "NovelDetail",
     (400, 401, 403, 409, 413, 429), True),
    ("/api/v1/novels/{novel_id}", "get", "소설 하나 (미리 보기 포함)", None, 200, "NovelDetail", (404,), False),
    ("/api/v1/stories/{story_id}/training-set", "get", "이야기의 학습 세트", None, 200, "TrainingSet", (404,), False),
    ("/api/v1/stories/{story_id}/training-set/votes", "get", "이야기에서 표를 받은 소설마다 표 수와 내 표 (ETag/304 지원)",
     None, 200, "TrainingTally", (404,), False),
    ("/api/v1/stories/{story_id}/training-set", "post", "학습 투표 (voted 없으면 토글)", "TrainingVoteIn", 200,
     "TrainingVoteOut", (400, 401, 404, 409, 429), True),
    ("/api/v1/admin/users", "get", "사용자 목록 (관리자)", None, 200, "AdminUserList", ADMIN_ERRORS, True),
    ("/api/v1/admin/users/{user_id}/{action}", "post", "block | unblock | make-admin (관리자)", None, 200, "AdminUser",
     (400,) + ADMIN_ERRORS, True),
    ("/api/v1/admin/stories/{story_id}/passages", "get", "이야기의 모든 글, 숨긴 글 포함 (관리자)", None, 200,
     "PassageList", ADMIN_ERRORS, True),
    ("/api/v1/admin/passages/{passage_id}/{action}", "post", "hide | restore (관리자)", None, 200, "PassageModeration",
     ADMIN_ERRORS, True),
    ("/api/v1/admin/novels", "get", "모든 소설 (관리자)", None, 200, "NovelList", ADMIN_ERRORS, True),
    ("/api/v1/admin/novels/{novel_id}/{action}", "post", "hide | restore (관리자)", None, 200, "NovelModeration",
     ADMIN_ERRORS, True),
    ("/put_Human_txt", "post", "사람 글을 학습하고 이어 쓰기 (GET도 가능: Bearer만)", None, 202, "JobAccepted",
     (400, 401, 403, 404, 409), True),
]


@functools.cache
def build_spec() -> dict:
    spec = APISpec(title="릴레이 소설 API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()])
    # Leaves first: the plugin registers nested schemas by name on first sight.
    for name, schema in {
        "StorySettings": StorySettingsSchema, "Passage": PassageSchema, "ProposalOut": ProposalOutSchema,
        "Credentials": CredentialsSchema, "Signup": SignupOutSchema, "Token": TokenOutSchema,
        "StoryCreate": StoryCreateSchema, "Story": StorySchema, "StoryDetail": StoryDetailSchema,
        "StorySummary": StorySummarySchema,
        "ProposalIn": ProposalInSchema, "VoteIn": VoteInSchema, "VoteOut": VoteOutSchema, "Round": RoundSchema,
        "Job": JobSchema, "JobAccepted": JobAcceptedSchema,
        "Novel": NovelSchema, "NovelDetail": NovelDetailSchema, "NovelPage": NovelPageSchema,
        "TrainingSet": TrainingSetSchema, "TrainingTally": TrainingTallySchema,
        "TrainingVoteIn": TrainingVoteInSchema, "NovelUploadFields": NovelUploadSchema, "TrainingVoteOut": TrainingVoteOutSchema, "AdminUser": AdminUserSchema,
        "LossPoint": LossPointSchema, "JobDetail": JobDetailSchema,
        "ModelVersion": ModelVersionSchema, "ModelVersionList": ModelVersionListSchema,
        "PreferenceList": PreferenceListSchema,
        "RecoverIn": RecoverInSchema, "History": HistorySchema, "JobRow": JobRowSchema, "JobList": JobListSchema,
        "StarterIn": StarterInSchema, "BaseVersion": BaseVersionSchema, "BaseList": BaseListSchema,
        "Judges": JudgesSchema, "Chapter": ChapterSchema, "ChapterList": ChapterListSchema,
        "ChapterIn": ChapterInSchema, "FinishIn": FinishInSchema,
        "BibleEntry": BibleEntrySchema, "Bible": BibleSchema, "BibleEntryIn": BibleEntryInSchema,
        "BibleEntryPatch": BibleEntryPatchSchema, "BibleCandidateList": BibleCandidateListSchema,
    }.items():
        spec.components.schema(name, schema=schema)
    spec.components.schema("Error", {"type": "object", "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object"}}}}})
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    spec.components.schema("StoryList", {"type": "object", "properties": {
        "stories": {"type": "array", "items": ref("StorySummary")}}})
    spec.components.schema("PassageList", {"type": "object", "properties": {
        "passages": {"type": "array", "items": ref("Passage")}}})
    spec.components.schema("NovelList", {"type": "object", "properties": {
        "novels": {"type": "array", "items": ref("Novel")}}})
    # The form fields plus the file in one object: an allOf of the fields' schema (which allows
    # no other property) and the file would be a body no upload can satisfy.
    upload = spec.components.schemas["NovelUploadFields"]
    spec.components.schema("NovelUpload", {**upload, "required": [*upload["required"], "file"], "properties": {
        **upload["properties"], "file": {
            "type": "string", "format": "binary", "description": ".txt: UTF-8, EUC-KR/CP949, UTF-16/32 (BOM)"}}})
    spec.components.schema("AdminUserList", {"type": "object", "properties": {
        "users": {"type": "array", "items": ref("AdminUser")}}})
    spec.components.schema("PassageModeration", {"type": "object", "properties": {
        name: {"type": "boolean" if name == "hidden" else "integer"} for name in ("id", "story_id", "seq", "hidden")}})
    spec.components.schema("NovelModeration", {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "status": {"type": "string", "enum": ["visible", "hidden"]}}})
    spec.components.schema("StorySettingsPatch", {"type": "object", "properties": {"settings": ref("StorySettings")}})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})

    paths: dict[str, dict] = {}
    for path, method, summary, request, status, response, errors, auth in OPERATIONS:
        operation = {"summary": summary, "responses": {str(status): {
            "description": "성공", "content": {"application/json": {"schema": ref(response)}}}}}
        for code in errors:
            operation["responses"][str(code)] = {"description": STATUS_TEXT[code],
                                                 "content": {"application/json": {"schema": ERROR}}}
        if request:
            media = "multipart/form-data" if request == "NovelUpload" else "application/json"
            optional = request in ("StarterIn", "FinishIn")
            operation["requestBody"] = {"required": not optional, "content": {media: {"schema": ref(request)}}}
        if auth:
            operation["security"] = [{"bearer": []}]
        parameters = [{"name": p, "in": "path", "required": True, "schema": ID}
                      for p in ("story_id", "job_id", "novel_id", "user_id", "passage_id", "version_id",
                                "entry_id") if "{" + p + "}" in path]
        if "{name}" in path:
            parameters.append({"name": "name", "in": "path", "required": True,
                               "schema": {"type": "string", "pattern": "^starter(-[1-9][0-9]{0,9})?$"}})
        if "{action}" in path:
            parameters.append({"name": "action", "in": "path", "required": True,
                               "schema": {"type": "string", "enum": summary.split(" (")[0].split(" | ")}})
        if path == "/api/v1/novels" and method == "get":
            parameters = [{"in": "query", "schema": NovelListQuerySchema}]  # one parameter per field
        if path == "/api/v1/stories" and method == "get":
            parameters = [{"in": "query", "schema": StoryListArgsSchema}]
        if path.endswith("/rounds"):
            parameters.append({"in": "query", "schema": HistoryArgsSchema})
        if path.endswith("/passages") and "/admin/" not in path:
            parameters.append({"in": "query", "schema": PassagesArgsSchema})
        if path == "/api/v1/admin/jobs":
            parameters = [{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100,
                                                                      "description": "1~100 (벗어나면 가까운 끝으로)"}}]
        if path == "/put_Human_txt":
            parameters = [
                {"name": "contents_id", "in": "query", "required": True, "schema": ID},
                {"name": "is_first", "in": "query", "required": True, "schema": {"type": "string", "enum": ["Y", "N"]}},
            ]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method] = operation
    # Served by the live round server (live/), behind the same proxy, where the site runs one.
    paths["/api/v1/stories/{story_id}/live"] = {"get": {
        "summary": "라운드 실시간 스트림 (server-sent events, event: round; data는 모두가 보는 라운드 전체. "
                   "실시간 서버가 있는 사이트에서만; 없으면 라운드를 폴링)",
        "parameters": [{"name": "story_id", "in": "path", "required": True, "schema": ID}],
        "responses": {"200": {"description": "text/event-stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "204": {"description": "지금 스트림을 열 수 없음: 폴링하세요"},
                      "404": {"description": STATUS_TEXT[404], "content": {"application/json": {"schema": ERROR}}}}}}
    for extension, media, what in (("epub", "application/epub+zip", "EPUB 3"),
                                   ("txt", "text/plain; charset=utf-8", "UTF-8 텍스트")):
        paths[f"/api/v1/stories/{{story_id}}/book.{extension}"] = {"get": {
            "summary": f"책으로 내려받기 ({what}): 표제, 장마다 제목과 글, 함께 쓴 사람들 (숨긴 글은 빠짐)",
            "parameters": [{"name": "story_id", "in": "path", "required": True, "schema": ID}],
            "responses": {
                "200": {"description": what, "content": {media: {"schema": {"type": "string", "format": "binary"}}}},
                "404": {"description": STATUS_TEXT[404], "content": {"application/json": {"schema": ERROR}}}}}}
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


class OpenApi(Resource):
    def get(self):
        return build_spec()


api.add_resource(OpenApi, "/openapi.json")
