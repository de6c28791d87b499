"""judge jobs: the judges that rank the AI's candidates, one unfinished judges job on the site

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'waiting', 'running')"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint('ck_jobs_kind', type_='check')
        batch_op.create_check_constraint('ck_jobs_kind', f"kind IN ({kinds})")


def upgrade():
    _kinds("'train', 'retrain', 'prefer', 'pretrain', 'judge', 'generate'")
    judge = sa.text(f"kind = 'judge' AND {ACTIVE}")
    op.create_index('uq_jobs_one_judge', 'jobs', ['kind'], unique=True, sqlite_where=judge, postgresql_where=judge)


def downgrade():
    op.drop_index('uq_jobs_one_judge', table_name='jobs')
    op.execute("DELETE FROM jobs WHERE kind = 'judge'")
    _kinds("'train', 'retrain', 'prefer', 'pretrain', 'generate'")
