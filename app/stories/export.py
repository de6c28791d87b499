"""A story's book (app/stories/book.py) as an EPUB 3 file (ebooklib) and as plain text, both
ending with the credits."""
import io
import re
import uuid
from datetime import timezone
from html import escape as escape_html

from ebooklib import epub

from app.database import utcnow
from app.stories.book import Book, BookChapter
from app.times import display_zone

SITE_NAME = "릴레이 소설"
# What XML 1.0 cannot hold (control characters a pasted passage may carry): lxml refuses it.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
CREDITS_TITLE = "함께 쓴 사람들"
# Long Korean text: keep words whole, generous leading, first lines indented as in print.
BOOK_CSS = """body { line-height: 1.9; word-break: keep-all; overflow-wrap: break-word; }
h1, h2 { line-height: 1.4; }
p { margin: 0 0 .6em; text-indent: 1em; }
p.byline, dl, dd, dt { text-indent: 0; }
dt { font-weight: bold; margin-top: .8em; }
dd { margin-left: 0; }
"""


def status_line(book: Book) -> str:
    moment = (book.finished_at or book.created_at).replace(tzinfo=timezone.utc).astimezone(display_zone())
    date = f"{moment:%Y. %m. %d.}"
    state = f"{date} 완결" if book.finished_at else f"{date} 시작, 연재 중"
    return f"{book.owner}의 이야기 · {SITE_NAME} · {state}"


def book_text(book: Book) -> str:
    rule = "=" * 40
    parts = [book.title, status_line(book), rule]
    for chapter in book.chapters:
        parts.append(f"{chapter.heading}\n{'-' * 20}")
        parts.extend(p["text"] for p in chapter.passages)
    parts.append(f"{rule}\n{CREDITS_TITLE}")
    parts.extend(f"{what}: {who}" for what, who in book.credits.lines)
    return "\n\n".join(parts) + "\n"


def book_epub(book: Book) -> bytes:
    volume = epub.EpubBook()
    # Stable for the story, so a reader's library takes a later download as the same book.
    volume.set_identifier(uuid.uuid5(uuid.NAMESPACE_URL, f"relay-novel:story:{book.id}:{book.created_at}").urn)
    volume.set_title(xml_text(book.title))
    volume.set_language("ko")
    for i, (name, _count) in enumerate(book.credits.writers):
        volume.add_author(xml_text(name), uid=f"creator-{i + 1}")
    volume.add_metadata("DC", "publisher", SITE_NAME)
    style = epub.EpubItem(uid="style", file_name="style/book.css", media_type="text/css", content=BOOK_CSS)
    volume.add_item(style)

    title_page = _page("title", "표제", f"<h1>{escape(book.title)}</h1>"
                       f"<p class=\"byline\">{escape(status_line(book))}</p>", style)
    chapters = [_page(f"chapter-{c.number:03d}", c.heading, _chapter_html(c), style) for c in book.chapters]
    credits = _page("credits", CREDITS_TITLE, _credits_html(book), style)
    for page in (title_page, *chapters, credits):
        volume.add_item(page)
    volume.toc = [epub.Link(page.file_name, page.title, page.id) for page in (*chapters, credits)]
    volume.add_item(epub.EpubNcx())
    volume.add_item(epub.EpubNav(title="차례"))
    volume.spine = [title_page, "nav", *chapters, credits]

    out = io.BytesIO()
    epub.write_epub(out, volume, {"raise_exceptions": True, "mtime": book.finished_at or utcnow()})
    return out.getvalue()


def xml_text(text: str) -> str:
    return NOT_XML.sub("", text)


def escape(text: str) -> str:
    return escape_html(xml_text(text), quote=False)


def _page(uid: str, title: str, body: str, style: epub.EpubItem) -> epub.EpubHtml:
    page = epub.EpubHtml(uid=uid, file_name=f"{uid}.xhtml", title=xml_text(title), lang="ko", content=body)
    page.add_item(style)
    return page


def _chapter_html(chapter: BookChapter) -> str:
    lines = [f"<h2>{escape(chapter.heading)}</h2>"]
    for passage in chapter.passages:
        lines.extend(f"<p>{escape(line)}</p>" for line in passage["text"].split("\n") if line.strip())
    return "\n".join(lines)


def _credits_html(book: Book) -> str:
    rows = "".join(f"<dt>{escape(what)}</dt><dd>{escape(who)}</dd>" for what, who in book.credits.lines)
    return f"<h2>{CREDITS_TITLE}</h2>\n<dl>{rows}</dl>\n<p class=\"byline\">{escape(status_line(book))}</p>"


def download_name(book: Book, extension: str) -> str:
    """The book's title as a file name every system accepts (the title may hold a slash)."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', " ", book.title).strip(" .") or f"story-{book.id}"
    return f"{name[:80]}.{extension}"
