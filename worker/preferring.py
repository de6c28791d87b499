"""prefer_story: a new version of a story's adapter tuned on the crowd's candidate votes (DPO),
judged on rounds it never saw and recorded like any version (worker/versions.py)."""
import logging

from app.extensions import db
from app.jobs import services as jobs
from app.stories.models import Story
from app.training import services as training
from app.training.material import heldout_passages
from app.training.preferences import preference_rounds, split_heldout
from worker.folders import remove_leftovers
from worker.versions import decide, not_trained, prefer_version, record_version

log = logging.getLogger(__name__)


def run_prefer(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    job, base = training.claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    if base is None:
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    active = story.active_model_version
    from_adapter = active.path if active is not None and active.path and active.base == base else None
    parent_id = active.id if from_adapter else None
    params = dict(job.params)
    rounds, heldout_rounds = split_heldout(preference_rounds(story.id, params["min_margin"]),
                                           params["rounds_heldout_fraction"])
    heldout_ids, heldout_text = heldout_passages(story.id, params["heldout_fraction"])
    story_id = story.id
    db.session.commit()  # plain values from here on (the rounds are dataclasses)
    jobs.clear_points(job_id)
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    try:
        prefer_version(job_id, base, rounds, heldout_rounds, heldout_text, out_dir, from_adapter, params["budget"],
                       worker)
    except Exception as e:
        return not_trained(job_id, e)
    decision = decide(out_dir, len(heldout_ids), params["threshold"])
    data = {"preference_rounds": [r.round_id for r in rounds], "heldout_rounds": [r.round_id for r in heldout_rounds],
            "pairs": sum(r.pairs for r in rounds), "heldout_passages": heldout_ids}
    return record_version(job_id, story_id, base, parent_id, out_dir, decision, data)
