"""Novels and the votes that pick which ones a story's model learns from."""
from sqlalchemy import func, select

from app.extensions import db
from app.novels.models import Novel, TrainingVote
from app.stories.models import Story


def training_set(story: Story) -> list[Novel]:
    """The story's training set: visible novels with at least the story's quorum of votes."""
    votes = func.count(TrainingVote.id)
    return list(db.session.scalars(
        select(Novel)
        .join(TrainingVote, (TrainingVote.novel_id == Novel.id) & (TrainingVote.story_id == story.id))
        .where(Novel.status == "visible")
        .group_by(Novel.id)
        .having(votes >= story.training_quorum)
        .order_by(Novel.id)
    ))
