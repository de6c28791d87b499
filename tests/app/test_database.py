"""The engines' settings on PostgreSQL: votes commit without waiting for the disk, unless told to."""
import pytest
from sqlalchemy import make_url, text

pytestmark = pytest.mark.postgres


def commit_modes(app) -> tuple[str, str]:
    from app.database import autocommit_connection
    from app.extensions import db

    with app.app_context():
        with autocommit_connection() as connection:
            votes = connection.execute(text("SHOW synchronous_commit")).scalar()
        session = db.session.execute(text("SHOW synchronous_commit")).scalar()
        db.session.rollback()
    return votes, session


def test_votes_commit_asynchronously_and_everything_else_waits_for_the_disk(app):
    assert app.config["VOTE_SYNCHRONOUS_COMMIT"] == "off"
    assert commit_modes(app) == ("off", "on")


@pytest.mark.parametrize("site_overrides", [{"VOTE_SYNCHRONOUS_COMMIT": "ON"}])
def test_an_operator_can_keep_every_vote_durable(app):
    assert commit_modes(app) == ("on", "on")


def test_an_unknown_commit_mode_stops_the_start(tmp_path, database_url):
    from app import create_app
    from tests.conftest import site_config

    with pytest.raises(ValueError, match="VOTE_SYNCHRONOUS_COMMIT must be one of on, off"):
        create_app(site_config(tmp_path, database_url, VOTE_SYNCHRONOUS_COMMIT="sometimes"))


def test_an_asynchronous_vote_is_stored_and_read_back_by_another_connection(app, pg_schema):
    import psycopg

    from app.accounts import services as accounts
    from app.extensions import db
    from app.rounds import machine, services as rounds
    from app.stories import services as stories

    with app.app_context():
        owner, voter = accounts.sign_up("주인", "password123"), accounts.sign_up("투표자", "password123")
        story = stories.create_story(owner, "비동기 커밋", "첫 글입니다. 투표가 곧 시작됩니다.")
        rounds.propose(story.id, owner, keyword="열쇠", sentences=2)
        machine.advance(story.id)
        proposal_id = rounds.snapshot(story.id, None)["proposals"][0]["id"]
        rounds.vote(story.id, voter, proposal_id=proposal_id)
        voter_id = voter.id
        db.session.remove()
    libpq_url = make_url(pg_schema).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq_url) as conn:  # the schema's search_path comes with the URL
        rows = conn.execute("SELECT user_id, proposal_id FROM votes WHERE stage = 'proposal'").fetchall()
    assert rows == [(voter_id, proposal_id)]
