"""learn_and_continue (put_Human_txt): a new version of the story's model trained on one human
passage, then the AI's continuation of it, recorded together as claim → train → write →
record (app/training/lineage.py) under the same activation rule as a retrain."""
import logging
from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs import services as jobs
from app.rounds import machine
from app.stories.bible import entries_for
from app.stories.models import Passage
from app.stories.services import context_before
from app.training import lineage
from worker import models
from worker.folders import remove_leftovers
from worker.material import heldout_passages
from worker.models import generation_seed
from worker.retraining import train_version

log = logging.getLogger(__name__)


@dataclass
class LearningMaterial:
    passage_id: int
    passage_text: str
    heldout_ids: list[int]
    heldout_text: str
    context: str                 # the story up to the human passage, which the AI goes on from
    notes: list[tuple[str, str]]  # the story bible's notes on what that context speaks of, as a round's
    last_seq: int
    held_writer: lineage.Writer  # who writes the continuation if the new version is held for an admin


def hidden_passage(params: dict) -> str | None:
    """Hidden by an admin after the job was queued: never learned from."""
    if db.session.scalar(select(Passage.hidden).where(Passage.id == params["passage_id"])):
        return "관리자가 숨긴 글이라 학습하지 않았습니다."
    return None


def learning_material(claim: lineage.Claim, story) -> LearningMaterial:
    passage = db.session.get(Passage, claim.params["passage_id"])
    # The story's last passages judge the new version, as for a retrain; never the one it learns.
    fraction = claim.params.get("heldout_fraction", current_app.config["HELDOUT_FRACTION"])
    heldout = [pid for pid in heldout_passages(story.id, fraction)[0] if pid != passage.id]
    heldout_text = "\n\n".join(db.session.scalars(select(Passage.text).where(Passage.id.in_(heldout))
                                                  .order_by(Passage.seq)))
    context = context_before(story.id)
    return LearningMaterial(passage.id, passage.text, heldout, heldout_text, context, entries_for(story.id, context),
                            machine.last_seq(story.id), lineage.writer_of(story, claim.base))


def run_learning(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    claim = lineage.claim_story_job(job_id, celery_id, worker, read=learning_material, refuse=hidden_passage)
    if isinstance(claim, str):
        return claim
    if claim.params["is_first"] != "N":  # the story's first passage starts its adapter afresh
        claim = replace(claim, from_adapter=None, parent_id=None)
    material: LearningMaterial = claim.material
    remove_leftovers(claim.out_dir)

    from model_server.training import SourceText

    try:
        train_version(claim, [SourceText(f"story-{claim.story_id}-passage-{material.passage_id}",
                                         material.passage_text)],
                      material.heldout_text, {"steps": claim.params["steps"]}, worker)
    except Exception as e:
        return jobs.end_unfinished(job_id, e)
    threshold = claim.params.get("threshold", current_app.config["MODEL_ACTIVATE_THRESHOLD"])
    decision = lineage.decide(claim.out_dir, len(material.heldout_ids), threshold)
    # A version held for an admin does not write: the one the story's rounds write with does.
    held = material.held_writer
    adapter, base = (str(claim.out_dir), claim.base) if decision.activate else (held.adapter, held.base)
    try:
        written = models.model_host(base).generate(adapter, material.context, None, claim.params["sentences"], 1,
                                                   seed=generation_seed(job_id), notes=material.notes)
    except Exception as e:
        log.exception("learning job %s could not write its continuation", job_id)
        return jobs.end_unfinished(job_id, e, claim.out_dir)
    continuation = lineage.Continuation(written[0].text, None if decision.activate else held.version_id,
                                        material.last_seq, list(written[0].notes))
    return lineage.record_version(claim, decision, {"passages": [material.passage_id]}, continuation)
