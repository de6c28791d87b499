"""one unfinished training job per story, one unfinished starter pretrain

Partial unique indexes, so two web processes racing to start a retrain (or two admins a
pretrain) cannot both succeed; the services check first to answer a clear 409.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'waiting', 'running')"


def upgrade():
    training = sa.text(f"kind IN ('train', 'retrain') AND {ACTIVE}")
    pretrain = sa.text(f"kind = 'pretrain' AND {ACTIVE}")
    op.create_index('uq_jobs_one_training_per_story', 'jobs', ['story_id'], unique=True,
                    sqlite_where=training, postgresql_where=training)
    op.create_index('uq_jobs_one_pretrain', 'jobs', ['kind'], unique=True,
                    sqlite_where=pretrain, postgresql_where=pretrain)


def downgrade():
    op.drop_index('uq_jobs_one_pretrain', table_name='jobs')
    op.drop_index('uq_jobs_one_training_per_story', table_name='jobs')
