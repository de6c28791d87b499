"""Celery tasks. Each takes an id and is safe to run twice (late acks redeliver); the task base
(app.extensions.celery_init_app) ends each one's database session."""
from celery import shared_task

from app.jobs.kinds import KINDS


def job_task(kind: str):
    """The task that runs jobs of ``kind`` (app/jobs/kinds.py): acknowledged once it has run, so
    a worker lost mid-job leaves the message to be delivered again."""
    return shared_task(name=KINDS[kind].task, bind=True, acks_late=True, reject_on_worker_lost=True)


@job_task("generate")
def generate_candidates(self, round_id: int) -> None:
    """Write the round's K candidate passages with the story's model, then open ``choosing``."""
    from worker.generation import run_generation

    run_generation(round_id, self.request.id, self.request.hostname)


@job_task("train")
def learn_and_continue(self, job_id: int) -> None:
    """put_Human_txt: learn from a human passage, then append the AI's continuation."""
    from worker.learning import run_learning

    run_learning(job_id, self.request.id, self.request.hostname)


@job_task("retrain")
def retrain_story(self, job_id: int) -> None:
    """Admin: a new adapter version of a story from its training set and its own passages."""
    from worker.retraining import run_retrain, warm_up

    warm_up("model_server.training")
    run_retrain(job_id, self.request.id, self.request.hostname)


@job_task("prefer")
def prefer_story(self, job_id: int) -> None:
    """Admin: a new adapter version of a story tuned on the crowd's candidate votes (DPO)."""
    from worker.preferring import run_prefer
    from worker.retraining import warm_up

    warm_up("model_server.preference")
    run_prefer(job_id, self.request.id, self.request.hostname)


@job_task("pretrain")
def pretrain_starter(self, job_id: int) -> None:
    """MODEL_NAME=starter: a version of the site's own base, pretrained on every visible novel
    (the first, or one that goes on from the serving version)."""
    from worker.bases import run_pretrain
    from worker.retraining import warm_up

    warm_up("model_server.starter")
    run_pretrain(job_id, self.request.id, self.request.hostname)


@job_task("judge")
def train_judges(self, job_id: int) -> None:
    """The judges that rank the AI's candidates, trained for the serving base."""
    from worker.judging import run_train_judges
    from worker.retraining import warm_up

    warm_up("model_server.judges.training")
    run_train_judges(job_id, self.request.id, self.request.hostname)


@shared_task(name="relay.count_proposal_sentences")
def count_proposal_sentences(proposal_id: int) -> int | None:
    from worker.counting import count_proposal_sentences as count

    return count(proposal_id)


@shared_task(name="relay.count_novel_sentences")
def count_novel_sentences(novel_id: int) -> int | None:
    """An uploaded novel's sentences (about a minute for 5 MB), on the light queue."""
    from worker.counting import count_novel_sentences as count

    return count(novel_id)


@shared_task(name="relay.tick")
def tick() -> dict:
    from app.health import beat
    from worker.tick import tick as run_tick

    beat()
    return run_tick()
