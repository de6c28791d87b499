"""The light tasks' work: sentences counted with the one judge of sentences the model uses
(``model_server.text``), never while a transaction is open."""
from sqlalchemy import select

from app.extensions import db
from app.novels.models import Novel
from app.rounds import events
from app.rounds.models import Proposal, Round
from model_server.text import count_sentences


def count_proposal_sentences(proposal_id: int) -> int | None:
    """A hand-written proposal's sentences, stored unless its text changed meanwhile."""
    row = db.session.execute(select(Proposal.text, Round.story_id).join(Round, Round.id == Proposal.round_id)
                             .where(Proposal.id == proposal_id)).first()
    db.session.rollback()  # no transaction stays open while the analyser works
    if row is None or row.text is None:
        return None
    count = count_sentences(row.text)
    db.session.execute(
        Proposal.__table__.update().where(Proposal.id == proposal_id, Proposal.text == row.text)
        .values(text_sentences=count)
    )
    db.session.commit()
    events.changed(row.story_id)
    return count


def count_novel_sentences(novel_id: int) -> int | None:
    """An uploaded novel's sentences, stored."""
    text = db.session.scalar(select(Novel.text).where(Novel.id == novel_id))
    db.session.rollback()  # no transaction stays open while the analyser works
    if text is None:
        return None
    count = count_sentences(text)
    db.session.execute(Novel.__table__.update().where(Novel.id == novel_id).values(sentences=count))
    db.session.commit()
    return count
