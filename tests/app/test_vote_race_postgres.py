"""Races between web processes on PostgreSQL: gunicorn with two workers, many clients at once."""
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.app.worker_process import REPO, stop_worker, wait_for

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app, tmp_path):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], BROKER_DIR=app.config["BROKER_DIR"],
               DATA_DIR=app.config["DATA_DIR"], SECRET_KEY="test-secret", RATELIMIT_VOTE="1000000/minute",
               RATELIMIT_WRITE="1000000/minute", PYTHONPATH=str(REPO))
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "8", "-b", f"127.0.0.1:{port}",
         "app:create_app()"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def up():
        try:
            return http_json(port, "GET", "/api/v1/stories")[0] == 200
        except OSError:
            return False

    try:
        wait_for(up, 30, "gunicorn to answer", tmp_path / "gunicorn.log")
        yield port
    finally:
        stop_worker(process)


def http_json(port, method, path, body=None, token=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read() or b"null")
    if own:
        conn.close()
    return response.status, data


def test_fifty_clients_twenty_users_end_with_one_vote_each(server, story_in_phase, users, db):
    from sqlalchemy import func, select

    from app.rounds.models import Vote

    owner, story, (p1, p2) = story_in_phase("voting")
    voters = [p1, p2] + [users.make(f"voter{i}") for i in range(18)]
    base = f"/api/v1/stories/{story['id']}/round"
    proposal_ids = [p["id"] for p in owner.get(base).json["proposals"]]
    db.session.rollback()
    errors, statuses = [], []

    def client(number: int):
        rng = random.Random(number)
        voter = voters[number % len(voters)]  # two or three clients share each user
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        try:
            for _ in range(15):
                status, body = http_json(server, "POST", f"{base}/votes", {"proposal_id": rng.choice(proposal_ids)},
                                         voter.token, conn)
                statuses.append(status)
                if status != 200:
                    errors.append(body)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(statuses) == 750

    rows = db.session.execute(select(Vote.user_id, func.count()).group_by(Vote.user_id)).all()
    db.session.rollback()
    assert len(rows) == 20 and all(n == 1 for _user, n in rows)

    # A last vote from each user, one at a time, fixes the expected tallies exactly.
    expected = {pid: 0 for pid in proposal_ids}
    for i, voter in enumerate(voters):
        target = proposal_ids[i % 3 == 0]
        assert http_json(server, "POST", f"{base}/votes", {"proposal_id": target}, voter.token)[0] == 200
        expected[target] += 1
    tallies = {p["id"]: p["votes"] for p in http_json(server, "GET", base)[1]["proposals"]}
    assert tallies == expected and sum(tallies.values()) == 20


def test_concurrent_advances_append_one_passage(server, story_in_phase, users, db):
    from sqlalchemy import select

    from app.rounds.models import Round
    from app.stories.models import Passage

    owner, story, (p1, p2) = story_in_phase("voting")
    base = f"/api/v1/stories/{story['id']}/round"
    text_id = [p["id"] for p in owner.get(base).json["proposals"]][1]
    p1.post(f"{base}/votes", {"proposal_id": text_id})
    admin = users.make("admin", role="admin")
    results = []
    barrier = threading.Barrier(12)

    def advance(caller):
        barrier.wait()
        results.append(http_json(server, "POST", f"{base}/advance", None, caller.token)[0])

    threads = [threading.Thread(target=advance, args=(owner if i % 2 else admin,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The first closes round 1 and opens round 2; the rest find round 2 with nothing proposed.
    assert sorted(results) == [200] + [409] * 11
    seqs = db.session.scalars(select(Passage.seq).where(Passage.story_id == story["id"]).order_by(Passage.seq)).all()
    numbers = db.session.scalars(select(Round.number).where(Round.story_id == story["id"])).all()
    assert seqs == [1, 2] and sorted(numbers) == [1, 2]


def test_a_vote_racing_the_end_of_voting_is_counted_or_refused(server, story_in_phase, users, db):
    """Votes and the owner's advance at once: a vote answered 200 was counted by the tally.

    p1 and p2 tie (the keyword proposal wins, being earlier); every late vote goes to the
    hand-written one, so it wins exactly when some late vote was accepted."""
    from sqlalchemy import func, select

    from app.rounds.models import Round, Vote

    owner, story, (p1, p2) = story_in_phase("voting")
    base = f"/api/v1/stories/{story['id']}/round"
    keyword_id, text_id = [p["id"] for p in owner.get(base).json["proposals"]]
    p1.post(f"{base}/votes", {"proposal_id": keyword_id})
    p2.post(f"{base}/votes", {"proposal_id": text_id})
    voters = [users.make(f"late{i}") for i in range(16)]
    db.session.rollback()
    statuses, advanced = {}, []
    barrier = threading.Barrier(len(voters) + 1)

    def vote(voter):
        barrier.wait()
        time.sleep(random.random() * 0.05)
        statuses[voter.user_id] = http_json(server, "POST", f"{base}/votes", {"proposal_id": text_id}, voter.token)[0]

    def advance():
        barrier.wait()
        time.sleep(0.02)
        advanced.append(http_json(server, "POST", f"{base}/advance", None, owner.token)[0])

    threads = [threading.Thread(target=vote, args=(v,)) for v in voters] + [threading.Thread(target=advance)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [user for user, status in statuses.items() if status == 200]
    assert advanced == [200] and set(statuses.values()) <= {200, 409} and len(statuses) == 16
    round_1 = db.session.scalar(select(Round).where(Round.story_id == story["id"], Round.number == 1))
    stored = db.session.scalar(select(func.count()).select_from(Vote).where(Vote.round_id == round_1.id))
    assert stored == 2 + len(accepted)
    assert round_1.winning_proposal_id == (text_id if accepted else keyword_id)


def test_last_bible_votes_racing_each_other_all_count_and_accept_each_suggestion(server, make_story, users, db):
    """Four people vote for each suggestion at once (quorum 3): each note is accepted by exactly
    its third vote, never missed by two counts that each miss the other's vote."""
    from sqlalchemy import func, select

    from app.stories.models import BibleEntry, BibleVote

    owner, story = make_story(bible_quorum=3)
    suggester = users.make("suggester")
    voters = [users.make(f"voter{i}") for i in range(4)]
    bible = f"/api/v1/stories/{story['id']}/bible"
    entry_ids = [suggester.post(f"{bible}/suggest", {"name": f"인물{i}", "text": "이야기의 사람."}).json["id"]
                 for i in range(8)]
    db.session.rollback()
    results = []

    def vote(voter, barrier):
        barrier.wait()
        for entry_id in entry_ids:
            results.append(http_json(server, "POST", f"{bible}/{entry_id}/vote", None, voter.token)[0])

    barrier = threading.Barrier(len(voters))
    threads = [threading.Thread(target=vote, args=(voter, barrier)) for voter in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The third vote accepts each note, so the fourth finds no suggestion (409).
    assert sorted(results) == [200] * 3 * len(entry_ids) + [409] * len(entry_ids)
    statuses = db.session.scalars(select(BibleEntry.status).where(BibleEntry.story_id == story["id"])).all()
    counts = db.session.execute(select(BibleVote.entry_id, func.count()).group_by(BibleVote.entry_id)).all()
    db.session.rollback()
    assert statuses == ["accepted"] * len(entry_ids)
    assert sorted(n for _, n in counts) == [3] * len(entry_ids)
