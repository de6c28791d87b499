"""proposal mood: the mood (분위기) a keyword proposal asks the AI for, or none

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # Not in a batch (as 0011): SQLite adds and drops a plain column in place. The API checks the
    # value against model_server.mood.MOODS, a list that may grow without a migration.
    op.add_column('proposals', sa.Column('mood', sa.String(length=10), nullable=True))


def downgrade():
    op.drop_column('proposals', 'mood')
