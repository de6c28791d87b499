"""prefer_story: a new version of a story's adapter tuned on the crowd's candidate votes (DPO),
judged on rounds it never saw, as claim → train → record (app/training/lineage.py)."""
from dataclasses import dataclass

from flask import current_app

from app.jobs import services as jobs
from app.training import lineage
from app.training.preferences import VotedRound, preference_rounds, split_heldout_rounds
from worker.folders import remove_leftovers
from worker.material import heldout_passages
from worker.reporting import JobReporter


@dataclass
class PreferenceMaterial:
    rounds: list[VotedRound]
    heldout_rounds: list[VotedRound]
    heldout_ids: list[int]
    heldout_text: str


def preference_material(claim: lineage.Claim, story) -> PreferenceMaterial:
    params = claim.params
    rounds, heldout_rounds = split_heldout_rounds(preference_rounds(story.id, params["min_margin"]),
                                                  params["rounds_heldout_fraction"])
    return PreferenceMaterial(rounds, heldout_rounds, *heldout_passages(story.id, params["heldout_fraction"]))


def prefer_version(claim: lineage.Claim, rounds: list, heldout_rounds: list, heldout_text: str, budget: dict,
                   worker: str | None = None) -> None:
    """DPO on ``rounds`` (app.training.preferences rows) into the claim's folder, measuring the
    active adapter and the new one on ``heldout_rounds`` and ``heldout_text``."""
    from model_server.preference import PreferenceRound, PreferSettings, train_preferences
    from model_server.training import SourceText

    def plain(r) -> PreferenceRound:
        return PreferenceRound(r.context, r.keyword, r.sentences, r.chosen.text, [o.text for o in r.rejected], r.mood)

    validation = [SourceText(f"job-{claim.job_id}-heldout", heldout_text)] if heldout_text else None
    settings = PreferSettings(seed=0, progress_interval=1.0, **budget)
    with JobReporter(claim.job_id, worker=worker) as reporter:
        train_preferences(claim.base, [plain(r) for r in rounds], claim.out_dir, claim.from_adapter, settings,
                          heldout_rounds=[plain(r) for r in heldout_rounds], validation=validation,
                          progress=reporter.progress, should_cancel=reporter.should_cancel)


def run_prefer(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    claim = lineage.claim_story_job(job_id, celery_id, worker, read=preference_material)
    if isinstance(claim, str):
        return claim
    material: PreferenceMaterial = claim.material
    remove_leftovers(claim.out_dir)
    try:
        prefer_version(claim, material.rounds, material.heldout_rounds, material.heldout_text, claim.params["budget"],
                       worker)
    except Exception as e:
        return jobs.end_unfinished(job_id, e)
    # jobs queued before the setting existed judge by the site's current one
    min_rounds = claim.params.get("min_heldout_rounds", current_app.config["PREFERENCE_MIN_HELDOUT_ROUNDS"])
    decision = lineage.decide(claim.out_dir, len(material.heldout_ids), claim.params["threshold"], min_rounds)
    data = {"preference_rounds": [r.round_id for r in material.rounds],
            "heldout_rounds": [r.round_id for r in material.heldout_rounds],
            "pairs": sum(r.pairs for r in material.rounds), "heldout_passages": material.heldout_ids}
    return lineage.record_version(claim, decision, data)
