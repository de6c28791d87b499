"""The site's JSON: Korean left readable on the wire, and request bodies no later step can choke on.

Python's decoder accepts two things that would become a 500 further on: a lone surrogate
(``"\\ud800"``), which no database or password hash can encode, and nesting deep enough to
exhaust the interpreter's stack. Both are refused here, as a 400 ``bad_json`` that says why."""
import json
import re

from flask.json.provider import DefaultJSONProvider

from app.errors import Invalid

SURROGATE = re.compile("[\ud800-\udfff]")


class BadJson(Invalid):
    code = "bad_json"


class RelayJSONProvider(DefaultJSONProvider):
    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs):
        try:
            data = json.loads(s, **kwargs)
        except RecursionError:
            raise BadJson("JSON이 너무 깊게 중첩되어 있습니다.") from None
        if _has_lone_surrogate(data):
            raise BadJson("JSON 문자열에 짝이 없는 서로게이트(\\ud800 같은 이스케이프)가 있습니다. "
                          "올바른 유니코드 글자만 보내 주세요.")
        return data


def _has_lone_surrogate(data) -> bool:
    # Iterative: a document just shallow enough to decode must not overflow the stack here.
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
