"""prefer_story: a new version of a story's adapter tuned on the crowd's candidate votes (DPO),
judged on rounds it never saw, as claim → train → record (app/training/lineage.py)."""
from dataclasses import dataclass

from flask import current_app

from app.jobs import services as jobs
from app.training import lineage
from app.training.preferences import VotedRound, preference_rounds, split_heldout_rounds
from worker.folders import remove_leftovers
from worker.material import heldout_passages
from worker.versions import prefer_version


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
