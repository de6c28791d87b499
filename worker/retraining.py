"""retrain_story: the admin's retrain of a story's adapter, as claim → train → record
(app/training/lineage.py), and the training step put_Human_txt shares; the starter pretrain is
worker/bases.py. A cancelled run leaves no version and no folder."""
from app.jobs import services as jobs
from app.training import lineage
from worker.folders import remove_leftovers
from worker.material import HUMAN_WEIGHT, RetrainMaterial, retrain_material
from worker.reporting import JobReporter


def warm_up(module: str) -> None:
    """A fresh worker process imports torch and transformers on its first model job: seconds,
    much of it holding the GIL, which would stall the progress thread. Done before the job is
    claimed, so a job shows as running only once it can report."""
    import importlib

    importlib.import_module(module)


def train_version(claim: lineage.Claim, texts: list, heldout_text: str, budget: dict, worker: str | None = None) -> None:
    """Train ``texts`` (model_server SourceText) into the claim's folder, measuring the active
    adapter (or the bare base) and the new one on ``heldout_text``."""
    from model_server.training import TrainSettings, SourceText, train

    validation = [SourceText(f"job-{claim.job_id}-heldout", heldout_text)] if heldout_text else None
    settings = TrainSettings(seed=0, progress_interval=1.0, **budget)
    with JobReporter(claim.job_id, worker=worker) as reporter:
        train(claim.base, texts, claim.out_dir, from_adapter=claim.from_adapter, settings=settings,
              progress=reporter.progress, should_cancel=reporter.should_cancel, validation=validation)


def run_retrain(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    claim = lineage.claim_story_job(job_id, celery_id, worker,
                                    read=lambda c, story: retrain_material(story.id, c.params["heldout_fraction"]))
    if isinstance(claim, str):
        return claim
    material: RetrainMaterial = claim.material
    remove_leftovers(claim.out_dir)
    try:
        train_version(claim, _texts(material), material.heldout_text, claim.params["budget"], worker)
    except Exception as e:
        return jobs.end_unfinished(job_id, e)
    decision = lineage.decide(claim.out_dir, len(material.counts["heldout_passages"]), claim.params["threshold"])
    return lineage.record_version(claim, decision, material.counts)


def _texts(material: RetrainMaterial) -> list:
    from model_server.training import SourceText as Text

    texts = [Text(label, text) for label, text in material.novels]
    texts.append(Text(f"story-{material.story_id}", material.story_text))
    if material.human_text:
        texts.append(Text(f"story-{material.story_id}-human", material.human_text, weight=HUMAN_WEIGHT))
    return texts
