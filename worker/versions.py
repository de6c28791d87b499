"""Training a story's new model version with live progress (worker/reporting.py): the model_server
step of a retrain, a preference job and put_Human_txt, between the claim and the record that
app/training/lineage.py holds."""
from app.training.lineage import Claim
from worker.reporting import JobReporter


def train_version(claim: Claim, texts: list, heldout_text: str, budget: dict, worker: str | None = None) -> None:
    """Train ``texts`` (model_server SourceText) into the claim's folder, measuring the active
    adapter (or the bare base) and the new one on ``heldout_text``."""
    from model_server.training import TrainSettings, SourceText, train

    validation = [SourceText(f"job-{claim.job_id}-heldout", heldout_text)] if heldout_text else None
    settings = TrainSettings(seed=0, progress_interval=1.0, **budget)
    with JobReporter(claim.job_id, worker=worker) as reporter:
        train(claim.base, texts, claim.out_dir, from_adapter=claim.from_adapter, settings=settings,
              progress=reporter.progress, should_cancel=reporter.should_cancel, validation=validation)


def prefer_version(claim: Claim, rounds: list, heldout_rounds: list, heldout_text: str, budget: dict,
                   worker: str | None = None) -> None:
    """DPO on ``rounds`` (app.training.preferences rows) into the claim's folder, measuring the
    active adapter and the new one on ``heldout_rounds`` and ``heldout_text``."""
    from model_server.preference import PreferenceRound, PreferSettings, train_preferences
    from model_server.training import SourceText

    def plain(r) -> PreferenceRound:
        return PreferenceRound(r.context, r.keyword, r.sentences, r.chosen.text, [o.text for o in r.rejected])

    validation = [SourceText(f"job-{claim.job_id}-heldout", heldout_text)] if heldout_text else None
    settings = PreferSettings(seed=0, progress_interval=1.0, **budget)
    with JobReporter(claim.job_id, worker=worker) as reporter:
        train_preferences(claim.base, [plain(r) for r in rounds], claim.out_dir, claim.from_adapter, settings,
                          heldout_rounds=[plain(r) for r in heldout_rounds], validation=validation,
                          progress=reporter.progress, should_cancel=reporter.should_cancel)
