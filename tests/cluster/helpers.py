"""Helpers of the cluster tests: read what workers committed, play a round through the API."""
from tests.app.conftest import ApiClient
from tests.app.worker_process import wait_for


def fresh(db, read):
    """``read()`` against what the workers have committed (a new transaction each call)."""
    db.session.rollback()
    try:
        return read()
    finally:
        db.session.rollback()


def to_generating(owner: ApiClient, voter: ApiClient, story_id: int, keyword: str = "기차", sentences: int = 1) -> dict:
    """Propose, vote and advance: the round is generating and its job is on the broker."""
    base = f"/api/v1/stories/{story_id}/round"
    assert voter.post(f"{base}/proposals", {"keyword": keyword, "sentences": sentences}).status_code == 201
    assert owner.post(f"{base}/advance").status_code == 200
    proposal_id = owner.get(base).json["proposals"][0]["id"]
    assert voter.post(f"{base}/votes", {"proposal_id": proposal_id}).status_code == 200
    state = owner.post(f"{base}/advance").json
    assert state["phase"] == "generating", state
    return state


def wait_choosing(owner: ApiClient, story_id: int, workers, timeout: float = 180) -> dict:
    def choosing():
        state = owner.get(f"/api/v1/stories/{story_id}/round").json
        assert not (state["job"] and state["job"]["status"] == "failed"), state["job"]
        return state if state["phase"] == "choosing" else None

    return wait_for(choosing, timeout, f"story {story_id}'s candidates", workers.log_path(), interval=0.3)


def close_round(owner: ApiClient, voter: ApiClient, story_id: int, state: dict) -> dict:
    base = f"/api/v1/stories/{story_id}/round"
    assert voter.post(f"{base}/votes", {"candidate_id": state["candidates"][0]["id"]}).status_code == 200
    after = owner.post(f"{base}/advance").json
    assert after["phase"] == "proposing", after
    return after
