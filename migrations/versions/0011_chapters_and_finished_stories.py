"""chapters and finished stories: a story's closed chapters, each ending at a passage, and when
its owner finished it

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('chapters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('end_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('number >= 1 AND end_seq >= 1', name='ck_chapters_positive'),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('story_id', 'end_seq', name='uq_chapters_story_end_seq'),
    sa.UniqueConstraint('story_id', 'number', name='uq_chapters_story_number')
    )
    # Not in a batch: SQLite adds and drops a plain column in place, where a batch would copy
    # the stories table and, with foreign keys on, its DROP would take every passage with it.
    op.add_column('stories', sa.Column('finished_at', sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column('stories', 'finished_at')
    op.drop_table('chapters')
