"""A story as a book: its chapters with their passages, and the credits. The reading view, the
EPUB and the plain text are all made from this one reading of the database.

Passages an admin hid are left out of the book altogether (a book has no placeholders), and
so are they from the credits."""
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from app.stories.chapters import chapters_of
from app.stories.services import get_story, passages_of

OPEN_CHAPTER_TITLE = "쓰는 중"


@dataclass(frozen=True)
class BookChapter:
    number: int
    title: str  # the open chapter's is OPEN_CHAPTER_TITLE
    closed: bool
    passages: list[dict] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"제{self.number}장 {self.title}"


@dataclass(frozen=True)
class Credits:
    """Names with their counts, most first (ties in order of first appearance)."""
    writers: list[tuple[str, int]]  # people whose own passages are in the book
    proposers: list[tuple[str, int]]  # people whose keyword the AI wrote a passage of the book from
    models: list[tuple[str, int]]  # model versions that wrote passages of the book

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(what, who) in Korean, for the pages and the exports."""
        rows = [("글을 쓴 사람", self.writers, "편"), ("제안이 뽑힌 사람", self.proposers, "번"),
                ("글을 쓴 AI 모델", self.models, "편")]
        return [(what, ", ".join(f"{name} ({n}{unit})" for name, n in names)) for what, names, unit in rows if names]


@dataclass(frozen=True)
class Book:
    id: int
    title: str
    owner: str
    created_at: datetime
    finished_at: datetime | None
    chapters: list[BookChapter]
    credits: Credits


def book_of(story_id: int) -> Book:
    story = get_story(story_id)
    visible = [p for p in passages_of(story.id) if not p["hidden"]]
    chapters = []
    for chapter in chapters_of(story.id):
        passages = [p for p in visible if chapter["first_seq"] <= p["seq"] <= chapter["last_seq"]]
        chapters.append(BookChapter(chapter["number"], chapter["title"] or OPEN_CHAPTER_TITLE, chapter["closed"],
                                    passages))
    return Book(story.id, story.title, story.owner.username, story.created_at, story.finished_at, chapters,
                credits_of(visible))


def credits_of(passages: list[dict]) -> Credits:
    writers, proposers, models = Counter(), Counter(), Counter()
    for p in passages:
        if p["author_kind"] == "human":
            writers[p["author"]] += 1
            continue
        models[p["model_version"]] += 1
        if p["proposal"] and p["proposal"]["author"]:
            proposers[p["proposal"]["author"]] += 1
    return Credits(writers.most_common(), proposers.most_common(), models.most_common())
