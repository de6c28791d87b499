"""Marshmallow fields for Korean text: normalised at the edge (NFC), lengths in characters;
and ids as the database can hold them, in URLs, query strings and JSON bodies alike."""
import unicodedata
from datetime import timezone

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import IntegerConverter

# Ids (and seqs) are INTEGER columns, 32-bit on PostgreSQL. A larger number names no row and
# must never reach SQL, where SQLite overflows and PostgreSQL refuses it: either is a 500.
MAX_ID = 2**31 - 1


def clean_text(value: str) -> str:
    """NFC, unified line ends, no trailing spaces on lines, no blank edges."""
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in value.split("\n")).strip()


class KoreanText(fields.String):
    """A string normalised to NFC; ``min_chars``/``max_chars`` count characters after that."""

    def __init__(self, *, min_chars: int = 1, max_chars: int, single_line: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.min_chars, self.max_chars, self.single_line = min_chars, max_chars, single_line

    def _deserialize(self, value, attr, data, **kwargs):
        text = clean_text(super()._deserialize(value, attr, data, **kwargs))
        if "\x00" in text:
            raise ValidationError("허용되지 않는 문자가 들어 있습니다.")
        if self.single_line:
            text = " ".join(text.split())
        if len(text) < self.min_chars:
            raise ValidationError(
                "내용을 입력해 주세요." if self.min_chars <= 1 else f"{self.min_chars}자 이상 입력해 주세요."
            )
        if len(text) > self.max_chars:
            raise ValidationError(f"{self.max_chars}자 이하로 입력해 주세요. (지금 {len(text)}자)")
        return text


def korean_range(min_value: int, max_value: int, unit: str) -> validate.Range:
    return validate.Range(
        min=min_value, max=max_value, error=f"{min_value}~{max_value}{unit} 사이로 입력해 주세요."
    )


def use_korean_messages() -> None:
    """Marshmallow's default messages are English; users of this site read Korean."""
    fields.Field.default_error_messages.update(
        required="필수 항목입니다.", null="비어 있을 수 없습니다.", validator_failed="올바르지 않은 값입니다."
    )
    fields.String.default_error_messages.update(invalid="문자열이어야 합니다.")
    fields.Integer.default_error_messages.update(invalid="정수여야 합니다.")
    fields.Number.default_error_messages.update(invalid="숫자여야 합니다.", too_large="값이 너무 큽니다.")
    fields.Boolean.default_error_messages.update(invalid="true 또는 false여야 합니다.")
    fields.Nested.default_error_messages.update(type="객체여야 합니다.")


class UtcDateTime(fields.DateTime):
    """Times are stored as naive UTC; say so on the wire (ISO 8601 with +00:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class IdConverter(IntegerConverter):
    """Flask's ``int`` for every route, bounded by MAX_ID: a larger id matches no route (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class DatabaseId(fields.Integer):
    """An id in a JSON body or a query string: an integer from ``minimum`` to MAX_ID."""

    def __init__(self, *, minimum: int = 1, **kwargs):
        message = f"{minimum}부터 {MAX_ID}까지의 정수여야 합니다."
        super().__init__(validate=validate.Range(min=minimum, max=MAX_ID, error=message),
                         error_messages={"invalid": message}, **kwargs)


def database_id(text: str) -> int:
    """An id from a query string, as ``int()`` reads it: one the database can hold, else ValueError."""
    value = int(text)
    if not 0 < value <= MAX_ID:
        raise ValueError(f"not an id: {value}")
    return value
