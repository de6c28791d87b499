"""Bytes to text: the decoding half of ``model_server.text`` (import from there, not here).

Order of trust: byte-order marks, then refusals of binary data (a NUL character, in any
encoding, is always binary), then strict UTF-8, then strict CP949 when it yields plausible
Korean, and only then charset-normalizer's guess.
charset-normalizer alone has been seen to call EUC-KR files cp1252, cp874, Big5 or johab,
so it is the last resort, and its answer is kept only when the result looks like text.

EUC-KR files are decoded with CP949 (a superset) and reported as ``cp949``, the codec
really used, so that ``data.decode(result.encoding)`` always gives the same text back.
"""
import codecs
import re
from dataclasses import dataclass

import charset_normalizer

from model_server.errors import ModelServerError


class TextError(ModelServerError, ValueError):
    """An upload that cannot become text; ``code`` is for API error bodies."""

    code = "text"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EmptyTextError(TextError):
    code = "empty"


class BinaryFileError(TextError):
    code = "binary"


class UndecodableTextError(TextError):
    code = "undecodable"


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # lowercase codec name: utf-8, utf-8-sig, utf-16, utf-32, cp949, ...


# UTF-32 LE must come before UTF-16 LE: its mark starts with the same two bytes.
BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
MAGIC_NUMBERS = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx, .hwpx or .epub file)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an HWP or old Word document"),
]
# Text files hold tabs, line ends and form feeds; other C0 controls, DEL and C1 controls
# only appear in binary data or in text decoded with the wrong codec.
CONTROL_BYTES = bytes([*range(0x01, 0x09), *range(0x0E, 0x20), 0x7F])
NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
MAX_NOT_TEXT_SHARE = 0.01
WHITESPACE = re.compile(r"\s")
BLANK = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*")
HANGUL_SYLLABLE = re.compile("[\uac00-\ud7a3]")
NON_ASCII = re.compile("[^\x00-\x7f]")


def decode_bytes(data: bytes) -> DecodedText:
    """Decode an uploaded file, or raise a ``TextError`` that says why it is not text."""
    if not data:
        raise EmptyTextError("the file is empty")
    for magic, kind in MAGIC_NUMBERS:
        if data.startswith(magic):
            raise BinaryFileError(f"the file is binary, not text: it starts like {kind}")
    for bom, encoding in BOMS:
        if data.startswith(bom):
            text = _decode_strictly(data, encoding)
            if text is None:
                raise UndecodableTextError(
                    f"the file starts with a {encoding.upper()} byte-order mark, "
                    f"but the bytes after it are not valid {encoding.upper()}"
                )
            break
    else:
        if b"\x00" in data:
            raise BinaryFileError(
                "the file is binary, not text: it contains NUL bytes "
                "(UTF-16 text is accepted only with a byte-order mark)"
            )
        control_bytes = len(data) - len(data.translate(None, CONTROL_BYTES))
        if control_bytes > MAX_NOT_TEXT_SHARE * len(data):
            raise BinaryFileError(_too_many_controls(control_bytes, len(data)))
        text, encoding = _guess(data)
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        # Whatever the encoding (UTF-16 or UTF-32 after a byte-order mark, or a NUL byte in
        # UTF-8), a NUL character is no text: PostgreSQL refuses it in a text column, and the
        # tolerance for a few control characters below must not let one through.
        raise BinaryFileError("the file is binary, not text: it contains NUL characters")
    if BLANK.fullmatch(text):
        raise EmptyTextError("the file holds only whitespace")
    not_text = len(NOT_TEXT.findall(text))
    if not_text > MAX_NOT_TEXT_SHARE * len(text):
        raise BinaryFileError(_too_many_controls(not_text, len(text)))
    return DecodedText(text=text, encoding=encoding)


def _too_many_controls(count: int, total: int) -> str:
    return (
        f"the file is binary, not text: {count} of its {total} characters "
        "are control characters"
    )


def _guess(data: bytes) -> tuple[str, str]:
    text = _decode_strictly(data, "utf-8")
    if text is not None and _looks_like_text(text):
        return text, "utf-8"
    text = _decode_strictly(data, "cp949")
    if text is not None and _looks_like_korean(text):
        return text, "cp949"
    match = charset_normalizer.from_bytes(data).best()
    if match is not None:
        text = str(match)
        # Random bytes decode into long runs of CJK characters without a single space or
        # line end; any prose longer than a few words has some.
        if _looks_like_text(text) and (len(text) < 16 or WHITESPACE.search(text)):
            return text, codecs.lookup(match.encoding).name.replace("_", "-")
    raise UndecodableTextError("the bytes are not valid UTF-8, UTF-16 or CP949/EUC-KR text")


def _decode_strictly(data: bytes, encoding: str) -> str | None:
    """Strict decoding, except that a last character cut in half (a truncated file) is dropped."""
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _looks_like_text(text: str) -> bool:
    return len(NOT_TEXT.findall(text)) <= MAX_NOT_TEXT_SHARE * len(text)


def _looks_like_korean(text: str) -> bool:
    """Hangul makes most of the non-ASCII text, nearly all of it common syllables.

    Random bytes often decode cleanly as CP949, but into rare syllables from CP949's extension
    block; real Korean prose keeps to the 2,350 syllables of KS X 1001 (EUC-KR).
    """
    syllables = HANGUL_SYLLABLE.findall(text)
    if not syllables or len(syllables) < 0.5 * len(NON_ASCII.findall(text)):
        return False
    rare = {s for s in set(syllables) if not _in_ks_x_1001(s)}
    rare_count = sum(1 for s in syllables if s in rare) if rare else 0
    return rare_count <= 0.1 * len(syllables) and _looks_like_text(text)


def _in_ks_x_1001(syllable: str) -> bool:
    lead, trail = syllable.encode("cp949")
    return lead >= 0xB0 and trail >= 0xA1
