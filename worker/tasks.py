"""Celery tasks. Each takes an id and is safe to run twice (late acks redeliver)."""
from celery import shared_task

from app.extensions import db


@shared_task(name="relay.generate_candidates", bind=True, acks_late=True, reject_on_worker_lost=True)
def generate_candidates(self, round_id: int) -> None:
    """Write the round's K candidate passages with the story's model, then open ``choosing``."""
    from worker.generation import run_generation

    try:
        run_generation(round_id, self.request.id, self.request.hostname)
    finally:
        db.session.remove()


@shared_task(name="relay.learn_and_continue", bind=True, acks_late=True, reject_on_worker_lost=True)
def learn_and_continue(self, job_id: int) -> None:
    """put_Human_txt: learn from a human passage, then append the AI's continuation."""
    from worker.learning import run_learning

    try:
        run_learning(job_id, self.request.id, self.request.hostname)
    finally:
        db.session.remove()


@shared_task(name="relay.count_proposal_sentences")
def count_proposal_sentences(proposal_id: int) -> int | None:
    from app.rounds.services import count_proposal_sentences as count

    try:
        return count(proposal_id)
    finally:
        db.session.remove()


@shared_task(name="relay.tick")
def tick() -> dict:
    from app.health import beat
    from app.rounds.ticks import tick as run_tick

    try:
        beat()
        return run_tick()
    finally:
        db.session.remove()
