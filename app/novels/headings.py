"""A novel's title and author from the first lines of its text, as many Korean .txt files give them:

    동백꽃                 동백꽃              제목: 동백꽃
                           김유정              지은이: 김유정
    김유정
                           오늘도 또 ...       오늘도 또 ...
    오늘도 또 우리 ...

Read from the cleaned text (model_server.text.normalize: no indentation, one blank line between
paragraphs). Prose is never taken for a title: a title line is short, holds no sentence
punctuation or quotes, is no chapter number, and stands alone (a blank line after it, or an
author line and then a blank line). The text itself is stored as it is, heading included."""
import re
from dataclasses import dataclass

MAX_TITLE_CHARS = 40
MAX_AUTHOR_CHARS = 20
# A labelled heading line: "제목: 동백꽃", "지은이 : 김유정", "작가 - 현진건".
LABELLED = re.compile(r"^(제목|작품명|지은이|작가|저자|글쓴이|글)\s*[:：\-]\s*(.+)$")
TITLE_LABELS = ("제목", "작품명")
# Words around a name on an author line: "김유정 지음", "글 김유정", "김유정 作".
AUTHOR_AFFIXES = re.compile(r"^(글|지은이|작가|저자)\s+|\s*(지음|씀|作|著|저)$")
# Sentence punctuation and quotes: prose, dialogue or a list, not a heading.
NOT_A_HEADING = re.compile("[.?!。…,\"'“”‘’「」『』:;]")
CHAPTER = re.compile(r"^(제?\s*\d+\s*[장화부편절]?|[0-9IVXivx]+\.?|chapter\s*\d+|프롤로그|에필로그|서장|서문|머리말|차례|목차)$",
                     re.IGNORECASE)
NAME = re.compile(r"^[가-힣A-Za-z\u4e00-\u9fff·\- ]+$")


@dataclass(frozen=True)
class Heading:
    title: str
    author: str | None


def _title_like(line: str) -> bool:
    return (0 < len(line) <= MAX_TITLE_CHARS and not NOT_A_HEADING.search(line) and not CHAPTER.match(line)
            and any(ch.isalpha() for ch in line))


def _author_name(line: str) -> str | None:
    name = AUTHOR_AFFIXES.sub("", line).strip()
    if NOT_A_HEADING.search(line) or name.endswith(("다", "요")):  # a sentence, not a name
        return None
    if 2 <= len(name) <= MAX_AUTHOR_CHARS and NAME.match(name) and len(name.split()) <= 2:
        return name
    return None


def _labelled(lines: list[str]) -> Heading | None:
    found = {}
    for line in lines[:6]:
        match = LABELLED.match(line)
        if match:
            kind = "title" if match.group(1) in TITLE_LABELS else "author"
            found.setdefault(kind, match.group(2).strip())
    title = found.get("title")
    if title and 0 < len(title) <= MAX_TITLE_CHARS * 2:
        author = found.get("author")
        return Heading(title, author if author and len(author) <= MAX_AUTHOR_CHARS * 2 else None)
    return None


def heading(text: str) -> Heading | None:
    """The title (and the author, when a line gives it) at the top of a cleaned text, or None."""
    lines = text.split("\n", 8)[:8]
    if labelled := _labelled(lines):
        return labelled
    lines += [""] * 4  # a text of one or two lines is no novel with a heading
    first, second, third = lines[0], lines[1], lines[2]
    if not _title_like(first):
        return None
    if second == "":  # "동백꽃" / blank / maybe "김유정" / blank / text
        author = _author_name(third) if third and lines[3] == "" else None
        return Heading(first, author) if lines[2 if author is None else 4] else None
    author = _author_name(second)  # "동백꽃" / "김유정" / blank / text
    if author is not None and third == "" and lines[3]:
        return Heading(first, author)
    return None
