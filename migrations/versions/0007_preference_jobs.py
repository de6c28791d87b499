"""prefer jobs: a story's adapter tuned on the crowd's candidate votes (DPO), one training
job of any kind per story at a time

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'waiting', 'running')"


def _kinds_and_index(kinds: str, training: str) -> None:
    op.drop_index('uq_jobs_one_training_per_story', table_name='jobs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint('ck_jobs_kind', type_='check')
        batch_op.create_check_constraint('ck_jobs_kind', f"kind IN ({kinds})")
    where = sa.text(f"kind IN ({training}) AND {ACTIVE}")
    op.create_index('uq_jobs_one_training_per_story', 'jobs', ['story_id'], unique=True,
                    sqlite_where=where, postgresql_where=where)


def upgrade():
    _kinds_and_index("'train', 'retrain', 'prefer', 'pretrain', 'generate'", "'train', 'retrain', 'prefer'")


def downgrade():
    op.execute("DELETE FROM jobs WHERE kind = 'prefer'")
    _kinds_and_index("'train', 'retrain', 'pretrain', 'generate'", "'train', 'retrain'")
