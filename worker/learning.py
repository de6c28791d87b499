"""learn_and_continue (put_Human_txt): a new version of the story's model trained on one human
passage, recorded under the same activation rule as a retrain (worker/versions.py), then the
AI's continuation appended as the next passage, unless a round has started meanwhile."""
import logging

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs import services as jobs
from app.stories.models import Passage, Story
from app.training import services as training
from worker.material import heldout_passages
from worker import models
from worker.folders import remove_leftovers
from app.stories.services import context_before
from worker.models import generation_seed
from model_server.paths import same_lineage
from worker.versions import decide, not_trained, record_version, train_version

log = logging.getLogger(__name__)


def run_learning(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    job, base = training.claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    params = dict(job.params)
    if db.session.scalar(select(Passage.hidden).where(Passage.id == params["passage_id"])):
        # Hidden by an admin after the job was queued: never learn from it.
        jobs.mark_failed(job, "관리자가 숨긴 글이라 학습하지 않았습니다.")
        db.session.commit()
        return "failed"
    if base is None:
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    passage = db.session.get(Passage, params["passage_id"])
    active = story.active_model_version
    # the story's adapter carries over to another version of the base's lineage
    carries_over = active is not None and same_lineage(active.base, base)
    parent = active if params["is_first"] == "N" and carries_over else None
    from_adapter = parent.path if parent is not None and parent.path else None
    # The story's last passages judge the new version, as for a retrain; never the one it learns.
    fraction = params.get("heldout_fraction", current_app.config["HELDOUT_FRACTION"])
    heldout = [pid for pid in heldout_passages(story.id, fraction)[0] if pid != passage.id]
    heldout_text = "\n\n".join(db.session.scalars(select(Passage.text).where(Passage.id.in_(heldout))
                                                  .order_by(Passage.seq)))
    # Plain values only from here on: touching an ORM object after a commit reloads it, which
    # opens a transaction (on SQLite: the write lock) for as long as the model then runs.
    story_id, passage_id, passage_text = story.id, passage.id, passage.text
    active_path = active.path if carries_over else None
    # a version held for an admin leaves the writing to the active adapter, on its own base
    active_base = active.base if carries_over and models.loadable(active.base, base) else base
    active_id = active.id if active is not None else None
    parent_id = parent.id if parent is not None else None
    threshold = params.get("threshold", current_app.config["MODEL_ACTIVATE_THRESHOLD"])
    db.session.commit()
    jobs.clear_points(job_id)
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    from model_server.training import SourceText

    try:
        train_version(job_id, base, [SourceText(f"story-{story_id}-passage-{passage_id}", passage_text)],
                      heldout_text, out_dir, from_adapter, {"steps": params["steps"]}, worker)
    except Exception as e:
        return not_trained(job_id, e)
    decision = decide(out_dir, len(heldout), threshold)
    # A version held for an admin does not write: the active one (or the bare base) does.
    writer_dir = str(out_dir) if decision.activate else active_path
    writer_base = base if decision.activate or not active_path else active_base
    writer_id = None if decision.activate else (active_id if active_path else models.base_version(base).id)
    try:
        context = context_before(story_id)
        db.session.commit()
        written = models.model_host(writer_base).generate(writer_dir, context, None, params["sentences"], 1,
                                                          seed=generation_seed(job_id))
    except Exception as e:
        log.exception("learning job %s could not write its continuation", job_id)
        return not_trained(job_id, e, out_dir)
    return record_version(job_id, story_id, base, parent_id, out_dir, decision, {"passages": [passage_id]},
                          continuation=written[0].text, writer_id=writer_id)
