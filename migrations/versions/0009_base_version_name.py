"""the bare base's model version is called "기본 모델": passages showed participants
"starter (기본 모델)", a setting's value they have no use for

Revision ID: 0009
Revises: 0007 (another branch may add a 0008; the merge puts this one after it)
"""
from alembic import op


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Only rows standing for a bare base (no story) and named as worker/models.py named them.
    op.execute("UPDATE model_versions SET name = '기본 모델' "
               "WHERE story_id IS NULL AND name LIKE '% (기본 모델)'")


def downgrade():
    # The old names held the site's MODEL_NAME, which the rows do not keep; "기본 모델" stays.
    pass
