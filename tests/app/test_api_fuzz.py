"""The API against its own OpenAPI document, with inputs built to break it.

Hypothesis draws an operation from /api/v1/openapi.json, fills its path, query and body from
the document's schemas, and mixes in what a hostile or careless client sends: ids at and past
the database's range, lone surrogates, huge strings, JSON nested too deep, bytes that are not
UTF-8. Participants and admins call with their Bearer tokens against a story in its choosing
phase. Every answer must be below 500, every error the usual ``{"error": {"code", "message"}}``,
and every success must match the document's schema for it."""
import codecs
import io
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st


EDGE_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**53, 2**63 - 1, 2**63, 10**30, -(2**63)]
NASTY_TEXT = ["", " ", "\ud800", "가\udfff나", "\ud83d", "\x00", "a\x00b", "\u202e역방향", "\ufeff", "e\u0301",
              "😀" * 3, "<script>alert(1)</script>", "' OR 1=1 --", "\r\n\r\n", "가" * 100_000,
              "a" * (2 * 1024 * 1024), "9" * 5000, "null", "[]", "{}", "%ED%A0%80"]
NASTY_VALUES = [None, True, 1.5, float("inf"), float("nan"), [], {}, [[[]]], {"a": {"b": [1]}}]
NASTY_BODIES = [b"", b"null", b"[]", b"\"text\"", b"123", b"{", b"{\"a\":}", b"\xed\xa0\x80", b"\xff\xfe{\x00}\x00",
                b"[" * 200_000, b"{\"a\":" * 100_000, b"[" * 900 + b"]" * 900, "{\"\\ud800\": 1}".encode()]
LONG_TEXT = "장터에는 사람이 많았다. " * 20  # long enough that one NUL is under the control-character share
NASTY_FILES = [b"", b"\x00\x01\x02\xff" * 100, "봄이 왔다. 동백꽃이 피었다.".encode("cp949"), "\ufeff한 줄.".encode("utf-16"),
               b"\xed\xa0\x80\xed\xb0\x80", "같은 글.".encode() * 3,
               # A byte-order mark, then a NUL: PostgreSQL cannot store the NUL (once a 500 there).
               codecs.BOM_UTF8 + (LONG_TEXT + "\x00끝.").encode(), (LONG_TEXT + "\x00끝.").encode("utf-16"),
               (LONG_TEXT + "\x00끝.").encode("utf-32"), codecs.BOM_UTF8 + b"\x00" + LONG_TEXT.encode()]
FUZZ_TEXT = "오늘 아침 바람이 불었다. 편지는 어디로 갔을까?"


def weighted(*choices):
    """One of the strategies, each drawn about as often as its weight says."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda i: pool[i])


def values_for(schema: dict, spec: dict, known: dict, name: str = ""):
    """A strategy for a value of ``schema``: mostly a plausible one (an id that exists, a value
    of the enum), often an edge or a nasty one, sometimes anything at all."""
    schema = resolve(schema, spec)
    kind = schema.get("type")
    if "enum" in schema:
        plausible = st.sampled_from(schema["enum"])
    elif name in known:
        plausible = st.sampled_from(known[name])
    else:
        plausible = st.integers(1, 3) if kind == "integer" else st.just(FUZZ_TEXT)
    if kind == "integer":
        typed = weighted((5, plausible), (3, st.sampled_from(EDGE_INTS)), (2, st.integers()))
    elif kind == "number":
        typed = st.floats(allow_nan=True, allow_infinity=True)
    elif kind == "boolean":
        typed = st.booleans()
    elif kind == "string":
        typed = weighted((5, plausible), (3, st.sampled_from(NASTY_TEXT)), (2, st.text(max_size=40)))
    elif kind == "array":
        typed = st.lists(values_for(schema.get("items", {}), spec, known), max_size=3)
    elif kind == "object" or "properties" in schema:
        typed = objects(schema, spec, known)
    else:
        return st.sampled_from(NASTY_VALUES)
    return weighted((9, typed), (1, st.sampled_from(NASTY_VALUES)))


def objects(schema: dict, spec: dict, known: dict):
    properties = resolve(schema, spec).get("properties", {})

    @st.composite
    def build(draw):
        body = {name: draw(values_for(prop, spec, known, name)) for name, prop in properties.items()
                if draw(st.integers(0, 3))}  # each property present three times in four
        if draw(st.integers(0, 9)) == 0:
            body[draw(st.sampled_from(["extra", "\ud800", "가" * 300]))] = draw(st.sampled_from(NASTY_VALUES))
        return body

    return build()


def resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


# --- checking answers against the document ---------------------------------------------------

TYPES = {"integer": int, "number": (int, float), "string": str, "boolean": bool, "array": list, "object": dict}


def mismatch(value, schema: dict, spec: dict, where: str = "$") -> str | None:
    """Why ``value`` does not fit ``schema`` (the OpenAPI subset apispec writes), or None."""
    schema = resolve(schema, spec)
    if value is None:
        return None if schema.get("nullable") or not schema.get("type") else f"{where}: null"
    for part in schema.get("allOf", []):
        if reason := mismatch(value, part, spec, where):
            return reason
    if "anyOf" in schema and all(mismatch(value, part, spec, where) for part in schema["anyOf"]):
        return f"{where}: fits none of anyOf"
    kind = schema.get("type")
    if kind and (not isinstance(value, TYPES[kind]) or (kind in ("integer", "number") and isinstance(value, bool))):
        return f"{where}: {type(value).__name__}, not {kind}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                return f"{where}.{name}: missing"
        for name, item in value.items():
            if name not in properties:
                if schema.get("additionalProperties") is False:
                    return f"{where}.{name}: not in the document"
            elif reason := mismatch(item, properties[name], spec, f"{where}.{name}"):
                return reason
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            if reason := mismatch(item, schema["items"], spec, f"{where}[{i}]"):
                return reason
    return None


def check(response, operation: dict, spec: dict, path: str) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.get_data(as_text=True)[:200]}"
    if status >= 400:
        error = (response.get_json(silent=True) or {}).get("error")
        if not (isinstance(error, dict) and isinstance(error.get("code"), str) and error.get("message")):
            return f"{status} without an error body"
        return None
    documented = operation["responses"].get(str(status), {}).get("content", {}).get("application/json")
    if documented and response.is_json:
        return mismatch(response.get_json(), documented["schema"], spec)
    return None


# --- the calls --------------------------------------------------------------------------------

def multipart(fields: dict, file: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart body built by hand: the test client cannot send surrogates or bad bytes."""
    boundary = "fuzz-boundary"
    raw = lambda text: str(text).encode("utf-8", "surrogatepass")  # noqa: E731
    parts = [b'Content-Disposition: form-data; name="%s"\r\n\r\n%s' % (raw(k), raw(v)) for k, v in fields.items()]
    parts.append(b'Content-Disposition: form-data; name="file"; filename="%s"\r\nContent-Type: text/plain\r\n\r\n'
                 % raw(filename) + file)
    body = b"".join(b"--%s\r\n%s\r\n" % (boundary.encode(), part) for part in parts) + b"--%s--\r\n" % boundary.encode()
    return body, f"multipart/form-data; boundary={boundary}"


@st.composite
def requests(draw, spec: dict, known: dict):
    path, method = draw(st.sampled_from([(p, m) for p, ops in spec["paths"].items() for m in ops]))
    operation = spec["paths"][path][method]
    query = []
    for parameter in operation.get("parameters", []):
        value = draw(weighted((9, values_for(parameter["schema"], spec, known, parameter["name"])),
                              (1, st.sampled_from(["", "abc", "%ED%A0%80", "1e3", " 1", "-0"]))))
        if parameter["in"] == "path":
            segment = quote(str(value).encode("utf-8", "surrogatepass"), safe="")
            path = path.replace("{" + parameter["name"] + "}", segment or "%20")
        elif value is not None or draw(st.booleans()):
            query.append(f"{parameter['name']}={quote(str(value).encode('utf-8', 'surrogatepass'))}")
    kwargs = {}
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        fields = draw(objects(content["multipart/form-data"]["schema"], spec, known))
        fields.pop("file", None)
        novel = st.text(max_size=200).map(lambda t: (FUZZ_TEXT + t).encode("utf-8", "surrogatepass"))
        file = draw(weighted((4, novel), (3, st.sampled_from(NASTY_FILES)), (3, st.binary(max_size=200))))
        filename = draw(values_for({"type": "string"}, spec, {"filename": ["봄봄.txt"]}, "filename"))
        filename = str(filename)[:300]
        kwargs["data"], kwargs["content_type"] = multipart(fields, file, filename)
    elif draw(st.integers(0, 5)) == 0:
        kwargs["data"], kwargs["content_type"] = draw(st.sampled_from(NASTY_BODIES)), "application/json"
    else:
        schema = content.get("application/json", {}).get("schema", {"type": "object"})
        body = draw(values_for(schema, spec, known))
        kwargs["data"], kwargs["content_type"] = json.dumps(body).encode(), "application/json"  # ASCII: escapes kept
    url = path + ("?" + "&".join(query) if query else "")
    return method, url, operation, kwargs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    return request.param


@pytest.fixture
def site(story_in_phase, users, make_story, app):
    """A story in its choosing phase (proposals, candidates, a finished job), a second story
    just opened, a visible and a hidden novel, a user to act on, two versions of the starter
    base, and the callers."""
    from pathlib import Path

    models = Path(app.config["DATA_DIR"]) / "models"
    for name, parent in (("starter", None), ("starter-2", "starter")):
        (models / name).mkdir(parents=True)
        (models / name / "config.json").write_text("{}")
        (models / name / "starter.json").write_text(json.dumps({"parent": parent, "data": [], "metrics": {
            "steps": 10, "heldout_bpc": 3.1, "seconds": 5.0, "total_seconds": 5.0, "curve": [[10, 5.0, 3.1]]}}))
    owner, story, (p1, p2) = story_in_phase("choosing")
    admin, target = users.make("boss", role="admin"), users.make("target")
    _owner2, story2 = make_story(users.make("owner2"))
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    novels = []
    for text in ("공개된 소설의 본문이다.", "숨겨질 소설의 본문이다."):
        form = {"file": (io.BytesIO(text.encode()), "n.txt"), "author": "작가", "licence": "저작권 만료"}
        novels.append(p2.client.post("/api/v1/novels", data=form, content_type="multipart/form-data",
                                     headers=p2._headers()).json["id"])
    assert admin.post(f"/api/v1/admin/novels/{novels[1]}/hide").status_code == 200
    known = {"story_id": [story["id"], story2["id"]], "passage_id": [p["id"] for p in story["passages"]],
             "contents_id": [p["id"] for p in story["passages"]], "proposal_id": [p["id"] for p in state["proposals"]],
             "candidate_id": [c["id"] for c in state["candidates"]], "novel_id": novels,
             "job_id": [state["job"]["id"]], "user_id": [target.user_id], "version_id": [1],
             "username": ["p1", "boss", "새사람"], "password": ["password123", "느티나무-아래-편지"], "keyword": ["편지"],
             "author": ["작가"], "licence": ["저작권 만료"],
             "sentences": [1, 2], "q": ["소설"], "page": [1, 2], "per_page": [1, 20], "after": [0, 1], "is_first": ["Y"],
             "name": ["starter", "starter-2"], "passes": [1, 2.5]}
    return {"participant": p1, "admin": admin, "known": known}


EXAMPLES = {"sqlite": 1000, "postgres": 300}  # per caller; together about half a minute


def test_the_api_never_answers_500_and_matches_its_document(database_kind, site, anonymous):
    spec = anonymous.get("/api/v1/openapi.json").json
    failures, calls = [], []

    for caller in ("participant", "admin"):
        api = site[caller]

        @settings(max_examples=EXAMPLES[database_kind], deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(request=requests(spec, site["known"]))
        def call(request):
            method, url, operation, kwargs = request
            try:
                response = api.client.open(url, method=method.upper(), headers=api._headers(), **kwargs)
            except Exception as e:  # under TESTING an unhandled error escapes; a server would answer 500
                calls.append(500)
                failures.append(f"{caller} {method.upper()} {url[:120]} -> 500: {e!r}"[:300])
                return
            calls.append(response.status_code)
            if reason := check(response, operation, spec, url):
                failures.append(f"{caller} {method.upper()} {url[:120]} -> {reason}")

        call()

    server_errors = sum(status >= 500 for status in calls)
    print(f"\nfuzz ({database_kind}): {len(calls)} requests, {server_errors} answered 5xx, "
          f"{len(failures)} failures")
    assert not failures, "\n".join(sorted(set(failures))[:40])


def test_every_hostile_file_is_answered_below_500_and_stores_nothing(database_kind, site):
    """The fuzz draws these files only now and then; here each one is sent once, on both databases."""
    api = site["participant"]
    listed = api.get("/api/v1/novels?per_page=100").json["total"]
    for i, data in enumerate(NASTY_FILES):
        body, content_type = multipart({"author": "작가", "licence": "저작권 만료"}, data, f"{i}.txt")
        response = api.client.post("/api/v1/novels", data=body, content_type=content_type, headers=api._headers())
        assert response.status_code < 500, (i, response.get_data(as_text=True)[:200])
        accepted = response.status_code == 201
        assert not accepted or "\x00" not in response.json["preview"], i  # SQLite would store a NUL
        assert accepted or response.json["error"]["code"] in ("binary_file", "undecodable", "empty_file"), (i, response.json)
        listed += accepted
    assert api.get("/api/v1/novels?per_page=100").json["total"] == listed


def test_every_file_of_the_shared_corpus_uploads_without_a_5xx(database_kind, site, corpus_dir):
    """The real novels, in both encodings of 동백꽃, through the API on both databases: stored, or a
    409 for the EUC-KR twin of a UTF-8 file; never a 5xx."""
    api = site["participant"]
    codes = {}
    for path in sorted(corpus_dir.rglob("*.txt")):
        body, content_type = multipart({"author": "작가", "licence": "저작권 만료"}, path.read_bytes(), path.name)
        codes[path.name] = api.client.post("/api/v1/novels", data=body, content_type=content_type,
                                           headers=api._headers()).status_code
    assert len(codes) == 42 and all(code < 500 for code in codes.values()), codes
    assert sorted(codes.values()) == [201] * 41 + [409]


def test_the_document_describes_a_valid_upload_and_the_story_as_served(site, anonymous):
    spec = anonymous.get("/api/v1/openapi.json").json
    upload = {"file": "(the .txt)", "title": "봄봄", "author": "김유정", "licence": "저작권 만료"}
    assert mismatch(upload, {"$ref": "#/components/schemas/NovelUpload"}, spec) is None
    assert mismatch({k: v for k, v in upload.items() if k != "title"}, spec["components"]["schemas"]["NovelUpload"],
                    spec) is None
    story = anonymous.get(f"/api/v1/stories/{site['known']['story_id'][0]}").json
    assert story["passages"] and mismatch(story, {"$ref": "#/components/schemas/StoryDetail"}, spec) is None
