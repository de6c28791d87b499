"""prefer_story: a new version of a story's adapter tuned on the crowd's candidate votes (DPO),
judged on rounds it never saw and recorded like any version (worker/versions.py)."""
import logging

from flask import current_app

from app.extensions import db
from app.jobs import services as jobs
from app.training import services as training
from worker.material import heldout_passages
from app.training.preferences import preference_rounds, split_heldout_rounds
from worker.folders import remove_leftovers
from worker.versions import claim_story_job, decide, not_trained, prefer_version, record_version

log = logging.getLogger(__name__)


def run_prefer(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    claimed = claim_story_job(job_id, celery_id, worker)
    if isinstance(claimed, str):
        return claimed
    base, from_adapter, parent_id, story_id = claimed.base, claimed.from_adapter, claimed.parent_id, claimed.story.id
    params = dict(claimed.job.params)
    rounds, heldout_rounds = split_heldout_rounds(preference_rounds(story_id, params["min_margin"]),
                                           params["rounds_heldout_fraction"])
    heldout_ids, heldout_text = heldout_passages(story_id, params["heldout_fraction"])
    db.session.commit()  # plain values from here on (the rounds are dataclasses)
    jobs.clear_points(job_id)
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    try:
        prefer_version(job_id, base, rounds, heldout_rounds, heldout_text, out_dir, from_adapter, params["budget"],
                       worker)
    except Exception as e:
        return not_trained(job_id, e)
    # jobs queued before the setting existed judge by the site's current one
    min_rounds = params.get("min_heldout_rounds", current_app.config["PREFERENCE_MIN_HELDOUT_ROUNDS"])
    decision = decide(out_dir, len(heldout_ids), params["threshold"], min_rounds)
    data = {"preference_rounds": [r.round_id for r in rounds], "heldout_rounds": [r.round_id for r in heldout_rounds],
            "pairs": sum(r.pairs for r in rounds), "heldout_passages": heldout_ids}
    return record_version(job_id, story_id, base, parent_id, out_dir, decision, data)
