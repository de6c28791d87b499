"""story bible: a story's notes on its people and places (인물·배경 노트), which generation reads
when their name or a trigger word appears in the recent story

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bible_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('triggers', sa.JSON(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('suggested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('accepted', 'suggested')", name='ck_bible_entries_status'),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['suggested_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('story_id', 'name', name='uq_bible_entries_story_name')
    )
    op.create_index('ix_bible_entries_story_id', 'bible_entries', ['story_id'], unique=False)


def downgrade():
    op.drop_index('ix_bible_entries_story_id', table_name='bible_entries')
    op.drop_table('bible_entries')
