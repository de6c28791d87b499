"""retrain_story: the admin's retrain of a story's adapter.

A retrain trains and records a story's version the way put_Human_txt does (worker/versions.py);
the starter pretrain is worker/bases.py. A cancelled run leaves no version and no folder.
"""
import logging

from app.extensions import db
from app.jobs import services as jobs
from app.training import services as training
from worker.material import HUMAN_WEIGHT, RetrainMaterial, retrain_material
from worker.folders import remove_leftovers
from worker.versions import claim_story_job, decide, not_trained, record_version, train_version

log = logging.getLogger(__name__)


def warm_up(module: str) -> None:
    """A fresh worker process imports torch and transformers on its first model job: seconds,
    much of it holding the GIL, which would stall the progress thread. Done before the job is
    claimed, so a job shows as running only once it can report."""
    import importlib

    importlib.import_module(module)


# ---------------------------------------------------------------- retrain a story's adapter

def run_retrain(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    claimed = claim_story_job(job_id, celery_id, worker)
    if isinstance(claimed, str):
        return claimed
    base, from_adapter, parent_id, story_id = claimed.base, claimed.from_adapter, claimed.parent_id, claimed.story.id
    params = dict(claimed.job.params)
    material = retrain_material(story_id, params["heldout_fraction"])
    db.session.commit()  # plain values from here on: an ORM object touched later reopens a transaction
    jobs.clear_points(job_id)
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    try:
        train_version(job_id, base, _texts(material), material.heldout_text, out_dir, from_adapter, params["budget"],
                      worker)
    except Exception as e:
        return not_trained(job_id, e)
    decision = decide(out_dir, len(material.counts["heldout_passages"]), params["threshold"])
    return record_version(job_id, story_id, base, parent_id, out_dir, decision, material.counts)


def _texts(material: RetrainMaterial) -> list:
    from model_server.training import SourceText as Text

    texts = [Text(label, text) for label, text in material.novels]
    texts.append(Text(f"story-{material.story_id}", material.story_text))
    if material.human_text:
        texts.append(Text(f"story-{material.story_id}-human", material.human_text, weight=HUMAN_WEIGHT))
    return texts
