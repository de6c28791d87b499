"""The tables come from the Alembic migrations; they must match the models on both databases."""
import pytest
from sqlalchemy import inspect


# SQLite cannot reflect the index on lower(username), so only PostgreSQL compares it;
# tests/app/test_security.py sees it refuse a second "minji" on SQLite.
pytestmark = pytest.mark.filterwarnings("ignore:.*expression-based index")


def check_migrations(app) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    from app.extensions import db

    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "stories", "passages", "rounds", "proposals", "candidates", "votes", "jobs",
                "model_versions", "api_tokens", "training_texts", "novels", "training_votes", "job_points",
                "chapters"} <= tables
        unique = {tuple(u["column_names"]) for u in inspect(db.engine).get_unique_constraints("votes")}
        assert ("round_id", "stage", "user_id") in unique
        unique = {tuple(u["column_names"]) for u in inspect(db.engine).get_unique_constraints("passages")}
        assert ("story_id", "seq") in unique
        foreign = {fk["name"] for fk in inspect(db.engine).get_foreign_keys("rounds")}
        assert {"fk_rounds_job", "fk_rounds_winning_candidate", "fk_rounds_winning_proposal"} <= foreign
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def migration_app(request, tmp_path, database_kind: str):
    """An app on an empty database of the kind (PostgreSQL: a schema of the test's own), for
    tests that migrate it step by step."""
    from app import create_app
    from tests.conftest import site_config

    url = request.getfixturevalue("pg_schema") if database_kind == "postgres" else f"sqlite:///{tmp_path / 'm.sqlite'}"
    return create_app(site_config(tmp_path, url))


def test_migrations_on_sqlite(tmp_path):
    from app import create_app
    from tests.conftest import site_config

    check_migrations(create_app(site_config(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite'}")))


@pytest.mark.postgres
def test_migrations_on_postgres(tmp_path, pg_schema):
    from app import create_app
    from tests.conftest import site_config

    check_migrations(create_app(site_config(tmp_path, pg_schema)))


def test_names_that_differ_only_in_case_are_renamed_before_the_unique_index(tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from tests.conftest import site_config

    app = create_app(site_config(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite'}"))
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            for name in ("Minji", "minji", "MINJI", "seojun"):
                conn.execute(text("INSERT INTO users (username, password_hash, role, blocked, created_at) "
                                  "VALUES (:name, 'x', 'participant', false, CURRENT_TIMESTAMP)"), {"name": name})
        upgrade()
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT username FROM users ORDER BY id")).scalars().all()
        db.engine.dispose()
    assert names == ["Minji", "minji-2", "MINJI-3", "seojun"]


@pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_bare_base_version_is_renamed_for_participants(database_kind, request, tmp_path):
    """0009: passages written by the bare base said "starter (기본 모델)"; now "기본 모델". A story's
    own version keeps its name, whatever it is."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db

    app = migration_app(request, tmp_path, database_kind)
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as conn:
            owner_with_stories(conn, ["t"])
            for story_id, name in ((None, "starter (기본 모델)"), (None, "/models/ko-gpt (기본 모델)"), (1, "v1 (기본 모델)")):
                conn.execute(text("INSERT INTO model_versions (story_id, name, base, data, metrics, held_for_admin, "
                                  "created_at) VALUES (:story, :name, 'b', '{}', '{}', false, CURRENT_TIMESTAMP)"),
                             {"story": story_id, "name": name})
        upgrade()
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM model_versions ORDER BY id")).scalars().all()
        db.engine.dispose()
    assert names == ["기본 모델", "기본 모델", "v1 (기본 모델)"]


@pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_judge_jobs_arrive_one_unfinished_at_a_time_and_leave_with_a_downgrade(request, tmp_path, database_kind):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db

    app = migration_app(request, tmp_path, database_kind)
    insert = text("INSERT INTO jobs (kind, status, progress, params, metrics, attempts, cancel_requested, created_at, "
                  "updated_at) VALUES (:kind, :status, 0, '{}', '{}', 0, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    with app.app_context():
        upgrade(revision="0007")
        with pytest.raises(IntegrityError), db.engine.begin() as conn:  # the kind did not exist before
            conn.execute(insert, {"kind": "judge", "status": "succeeded"})
        upgrade()
        with db.engine.begin() as conn:
            for status in ("succeeded", "failed", "running"):
                conn.execute(insert, {"kind": "judge", "status": status})
            conn.execute(insert, {"kind": "pretrain", "status": "running"})  # a pretrain may run beside it
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(insert, {"kind": "judge", "status": "queued"})
        downgrade(revision="0007")
        with db.engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind FROM jobs")).scalars().all()
        db.engine.dispose()
    assert kinds == ["pretrain"]


@pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_chapters_arrive_one_per_end_and_leave_with_a_downgrade_that_keeps_the_stories(request, tmp_path,
                                                                                       database_kind):
    """0011: a story's chapters (two cannot end at one passage) and ``finished_at``. Its downgrade
    drops them in place: a batch on SQLite would copy the stories table, and the copy's DROP
    would take every passage with it."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db

    app = migration_app(request, tmp_path, database_kind)
    chapter = text("INSERT INTO chapters (story_id, number, title, end_seq, created_at) "
                   "VALUES (1, :number, '첫 장', :end_seq, CURRENT_TIMESTAMP)")
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as conn:
            owner_with_stories(conn, ["t"])
            first_passage(conn)
        upgrade()
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT finished_at FROM stories")).scalar() is None
            conn.execute(chapter, {"number": 1, "end_seq": 1})
        for number, end_seq in ((2, 1), (1, 2), (0, 3)):  # the same end, the same number, no such number
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(chapter, {"number": number, "end_seq": end_seq})
        downgrade(revision="0010")
        with db.engine.connect() as conn:
            passages = conn.execute(text("SELECT text FROM passages")).scalars().all()
        assert "chapters" not in inspect(db.engine).get_table_names()
        assert "finished_at" not in {c["name"] for c in inspect(db.engine).get_columns("stories")}
        db.engine.dispose()
    assert passages == ["첫 글"]


@pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_bible_entries_arrive_unique_per_story_and_leave_with_a_downgrade(request, tmp_path, database_kind):
    """0012: a story's bible notes, one per name in a story (the same name in another story is
    fine), with a known status; its downgrade drops them and keeps the story."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db

    app = migration_app(request, tmp_path, database_kind)
    note = text("INSERT INTO bible_entries (story_id, name, triggers, text, pinned, status, created_at, updated_at) "
                "VALUES (:story, :name, '[]', '정거장 앞 국밥집 딸.', false, :status, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            owner_with_stories(conn, ["t", "u"])
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(note, {"story": 1, "name": "순이", "status": "accepted"})
            conn.execute(note, {"story": 2, "name": "순이", "status": "suggested"})
        for story, name, status in ((1, "순이", "accepted"), (1, "정거장", "pending")):  # a twin, an unknown status
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(note, {"story": story, "name": name, "status": status})
        downgrade(revision="0011")
        with db.engine.connect() as conn:
            stories = conn.execute(text("SELECT title FROM stories ORDER BY id")).scalars().all()
        assert "bible_entries" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
    assert stories == ["t", "u"]


def first_passage(conn) -> None:
    """Story 1's first passage, "첫 글", written by user 1."""
    from sqlalchemy import text

    conn.execute(text("INSERT INTO passages (story_id, seq, text, author_kind, author_id, hidden, created_at, "
                      "updated_at) VALUES (1, 1, '첫 글', 'human', 1, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def owner_with_stories(conn, titles: list[str]) -> None:
    """User 1 and a story of each title (ids 1, 2, …), written as SQL: the models may be newer."""
    from sqlalchemy import text

    conn.execute(text("INSERT INTO users (username, password_hash, role, blocked, created_at) "
                      "VALUES ('owner', 'x', 'participant', false, CURRENT_TIMESTAMP)"))
    for title in titles:
        conn.execute(text("INSERT INTO stories (title, owner_id, candidates_k, proposing_minutes, voting_minutes, "
                          "choosing_minutes, training_quorum, created_at) "
                          "VALUES (:title, 1, 3, 0, 0, 0, 1, CURRENT_TIMESTAMP)"), {"title": title})


@pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_bible_votes_and_moods_arrive_on_existing_stories_and_leave_with_a_downgrade(request, tmp_path, database_kind):
    """0013 and 0014: a story made before them gets the default bible quorum; a vote counts once
    per person; the downgrade drops votes, quorum and mood and keeps passages and notes."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db

    app = migration_app(request, tmp_path, database_kind)
    vote = text("INSERT INTO bible_votes (entry_id, user_id, created_at) VALUES (1, 1, CURRENT_TIMESTAMP)")
    with app.app_context():
        upgrade(revision="0012")
        with db.engine.begin() as conn:
            owner_with_stories(conn, ["t"])
            first_passage(conn)
            conn.execute(text("INSERT INTO bible_entries (story_id, name, triggers, text, pinned, status, created_at, "
                              "updated_at) VALUES (1, '순이', '[]', '국밥집 딸.', false, 'suggested', "
                              "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        upgrade()
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT bible_quorum FROM stories")).scalar() == 3
            conn.execute(vote)
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(vote)
        assert "mood" in {c["name"] for c in inspect(db.engine).get_columns("proposals")}
        downgrade(revision="0012")
        with db.engine.connect() as conn:
            kept = (conn.execute(text("SELECT text FROM passages")).scalars().all(),
                    conn.execute(text("SELECT name FROM bible_entries")).scalars().all())
        assert "bible_votes" not in inspect(db.engine).get_table_names()
        assert "bible_quorum" not in {c["name"] for c in inspect(db.engine).get_columns("stories")}
        assert "mood" not in {c["name"] for c in inspect(db.engine).get_columns("proposals")}
        db.engine.dispose()
    assert kept == (["첫 글"], ["순이"])
