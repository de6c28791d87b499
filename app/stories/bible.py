"""The story bible (인물·배경 노트): short notes on the story's people and places that the model
reads before it writes.

The owner (or an admin) curates them: adds, edits, pins and deletes notes, which count at
once, and accepts or rejects the notes participants suggest. Participants also vote for a
suggestion; the story's ``bible_quorum`` of votes accepts it without the owner. Proper nouns
the story repeats and no note covers yet are offered to the owner as candidates (not stored).
A generation reads ``entries_for``: the accepted notes that are pinned or whose name or a
trigger word the recent story holds (docs/model.md, "Story bible").
"""
import unicodedata

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.database import transaction
from app.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from app.rounds.machine import refuse_if_finished
from app.stories.models import BibleEntry, BibleVote, Passage, Story
from app.stories.services import get_story
from model_server import text as ktext

MAX_TRIGGERS = 10
AUTOMATIC_MIN_COUNT = 2     # a proper noun seen once may be a misreading; twice, it is the story's
AUTOMATIC_LIMIT = 20
AUTOMATIC_CHARS = 100_000   # Kiwi reads this much of the story's end (a long story's first chapters are settled)
DUPLICATE_MESSAGE = "이 이야기에는 「{name}」 노트가 이미 있습니다."


def entries_of(story_id: int, user=None) -> dict:
    """What GET /api/v1/stories/<id>/bible answers: the accepted notes (pinned first, then by
    name), the suggestions waiting (oldest first), the votes that accept one, and which of
    them ``user`` (signed in, else None) voted for."""
    story = get_story(story_id)
    rows = db.session.scalars(select(BibleEntry).where(BibleEntry.story_id == story.id)
                              .order_by(BibleEntry.pinned.desc(), BibleEntry.name)).all()
    mine = []
    if getattr(user, "id", None) is not None:
        mine = db.session.scalars(select(BibleVote.entry_id).join(BibleEntry)
                                  .where(BibleEntry.story_id == story.id, BibleVote.user_id == user.id)
                                  .order_by(BibleVote.entry_id)).all()
    return {"story_id": story.id, "owner": story.owner.username, "finished": story.finished,
            "entries": [e for e in rows if e.status == "accepted"],
            "suggestions": sorted((e for e in rows if e.status == "suggested"), key=lambda e: e.id),
            "quorum": story.bible_quorum, "my_votes": mine}


def add_entry(story_id: int, user: User, data: dict) -> BibleEntry:
    """The owner's note, accepted at once. ``data``: name, text, triggers, pinned (already
    checked by app.stories.schemas.BibleEntryInSchema)."""
    story = _story_to_curate(story_id, user, "노트를 더할")
    return _insert(story, data, status="accepted", suggested_by=None)


def suggest_entry(story_id: int, user: User, data: dict) -> BibleEntry:
    """A participant's note, waiting for the owner; never pinned until the owner says so."""
    story = get_story(story_id)
    refuse_if_finished(story)
    return _insert(story, {**data, "pinned": False}, status="suggested", suggested_by=user)


def edit_entry(story_id: int, entry_id: int, user: User, data: dict) -> BibleEntry:
    """Change any of name, text, triggers, pinned of a note (a suggestion too, before accepting it)."""
    story = _story_to_curate(story_id, user, "노트를 고칠")
    entry = _entry(story, entry_id)
    name = data.get("name", entry.name)
    if "name" in data or "triggers" in data:
        entry.triggers = clean_triggers(name, data.get("triggers", entry.triggers))
    entry.name = name
    for key in ("text", "pinned"):
        if key in data:
            setattr(entry, key, data[key])
    return _commit_unique(entry)


def delete_entry(story_id: int, entry_id: int, user: User) -> None:
    story = _story_to_curate(story_id, user, "노트를 지울")
    with transaction():
        db.session.delete(_entry(story, entry_id))


def accept_suggestion(story_id: int, entry_id: int, user: User) -> BibleEntry:
    story = _story_to_curate(story_id, user, "제안을 받아들일")
    entry = _suggestion(story, entry_id)
    with transaction():
        entry.status = "accepted"
    return entry


def reject_suggestion(story_id: int, entry_id: int, user: User) -> None:
    story = _story_to_curate(story_id, user, "제안을 거절할")
    with transaction():
        db.session.delete(_suggestion(story, entry_id))


def vote_for_suggestion(story_id: int, entry_id: int, user: User) -> BibleEntry:
    """A participant's vote for a suggestion (again: no change). The vote that brings it to the
    story's ``bible_quorum`` accepts it. The suggester's own vote is implied, so not taken."""
    story = get_story(story_id)
    refuse_if_finished(story)
    with transaction():
        # Locked, so that two last votes racing each other both count and one of them accepts.
        entry = _suggestion(story, entry_id, lock=True)
        if entry.suggested_by_id == user.id:
            raise Forbidden("자기 제안에는 투표할 수 없습니다.", code="own_suggestion")
        if not db.session.scalar(select(BibleVote.id).where(BibleVote.entry_id == entry.id,
                                                            BibleVote.user_id == user.id)):
            db.session.add(BibleVote(entry_id=entry.id, user_id=user.id))
            db.session.flush()
        votes = db.session.scalar(select(func.count(BibleVote.id)).where(BibleVote.entry_id == entry.id))
        if votes >= story.bible_quorum:
            entry.status = "accepted"
    return entry


def withdraw_vote(story_id: int, entry_id: int, user: User) -> BibleEntry:
    """Take one's vote back while the note is still a suggestion (none given: no change)."""
    story = get_story(story_id)
    refuse_if_finished(story)
    with transaction():
        entry = _suggestion(story, entry_id, lock=True)
        db.session.execute(delete(BibleVote).where(BibleVote.entry_id == entry.id, BibleVote.user_id == user.id))
    return entry


def automatic_suggestions(story_id: int, user: User) -> list[dict]:
    """The story's proper nouns (Kiwi's NNP, two syllables or more, seen twice or more), the
    most frequent first, that no note names or is triggered by yet: offered to the owner."""
    story = _story_to_curate(story_id, user, "노트 후보를 볼", finished_ok=True)
    texts = db.session.scalars(select(Passage.text).where(Passage.story_id == story.id, Passage.hidden.is_(False))
                               .order_by(Passage.seq)).all()
    counts = ktext.proper_nouns("\n\n".join(texts)[-AUTOMATIC_CHARS:])
    covered = set()
    for name, triggers in db.session.execute(select(BibleEntry.name, BibleEntry.triggers)
                                             .where(BibleEntry.story_id == story.id)):
        covered.update([name, *triggers])
    found = [(name, n) for name, n in counts.items() if n >= AUTOMATIC_MIN_COUNT and name not in covered]
    found.sort(key=lambda pair: (-pair[1], pair[0]))
    return [{"name": name, "count": n} for name, n in found[:AUTOMATIC_LIMIT]]


def entries_for(story_id: int, recent_text: str) -> list[tuple[str, str]]:
    """The notes a generation reads, as (name, text): the accepted ones that are pinned, or whose
    name or a trigger appears in the story's last CONTEXT_CHARS. Pinned notes come first, then
    the rest by where their word last appears, the latest first (what the story just spoke of
    matters most, and the prompt drops notes from the end when they do not fit)."""
    recent = unicodedata.normalize("NFC", recent_text[-current_app.config["CONTEXT_CHARS"]:])
    rows = db.session.execute(
        select(BibleEntry.name, BibleEntry.triggers, BibleEntry.text, BibleEntry.pinned)
        .where(BibleEntry.story_id == story_id, BibleEntry.status == "accepted").order_by(BibleEntry.id)
    ).all()
    chosen = []
    for name, triggers, text, pinned in rows:
        last_seen = max(recent.rfind(word) for word in (name, *triggers))
        if pinned or last_seen >= 0:
            chosen.append((not pinned, -last_seen, name, text))
    chosen.sort(key=lambda row: row[:2])  # stable: equal rows keep the order the notes were made in
    return [(name, text) for _, _, name, text in chosen]


def clean_triggers(name: str, triggers: list[str]) -> list[str]:
    """NFC, each once, in the order given, without the name (which triggers anyway)."""
    words = dict.fromkeys(unicodedata.normalize("NFC", t) for t in triggers)
    words.pop(name, None)
    return list(words)[:MAX_TRIGGERS]


def may_curate(story: Story, user) -> bool:
    """``user``: a User, the API's Caller, or the pages' anonymous visitor (who has no id)."""
    return getattr(user, "id", None) is not None and (user.is_admin or story.owner_id == user.id)


def _story_to_curate(story_id: int, user: User, action: str, finished_ok: bool = False) -> Story:
    story = get_story(story_id)
    if not may_curate(story, user):
        raise Forbidden(f"이야기 주인이나 관리자만 {action} 수 있습니다.", code="not_owner")
    if not finished_ok:
        refuse_if_finished(story)
    return story


def _insert(story: Story, data: dict, status: str, suggested_by: User | None) -> BibleEntry:
    entry = BibleEntry(story_id=story.id, name=data["name"], text=data["text"],
                       triggers=clean_triggers(data["name"], data.get("triggers", [])),
                       pinned=data.get("pinned", False), status=status,
                       suggested_by_id=suggested_by.id if suggested_by else None)
    db.session.add(entry)
    return _commit_unique(entry)


def _commit_unique(entry: BibleEntry) -> BibleEntry:
    """Commit, or the clear 409 when another note of the story has the name (two requests may
    race past any check made before: the unique constraint decides)."""
    name = entry.name
    try:
        with transaction():
            db.session.flush()
    except IntegrityError:
        raise Conflict(DUPLICATE_MESSAGE.format(name=name), code="duplicate_name") from None
    return entry


def _entry(story: Story, entry_id: int, lock: bool = False) -> BibleEntry:
    entry = db.session.get(BibleEntry, entry_id, with_for_update=lock, populate_existing=lock)
    if entry is None or entry.story_id != story.id:
        raise NotFound("노트를 찾을 수 없습니다.")
    return entry


def _suggestion(story: Story, entry_id: int, lock: bool = False) -> BibleEntry:
    entry = _entry(story, entry_id, lock)
    if entry.status != "suggested":
        raise Conflict("이미 받아들인 노트입니다.", code="not_a_suggestion")
    return entry
