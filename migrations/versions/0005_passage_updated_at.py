"""passage updated_at: when a passage last changed (added, hidden, restored), for the page cache

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE passages SET updated_at = created_at")
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
