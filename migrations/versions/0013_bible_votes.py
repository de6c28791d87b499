"""bible votes: participants' votes for a suggested note, which accept it at the story's
bible_quorum (a new story setting) without waiting for the owner

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bible_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['bible_entries.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_id', 'user_id', name='uq_bible_votes_entry_user')
    )
    op.create_index('ix_bible_votes_entry_id', 'bible_votes', ['entry_id'], unique=False)
    # Not in a batch, as in 0011 (a batch would copy the stories table); the schema checks the range.
    op.add_column('stories', sa.Column('bible_quorum', sa.Integer(), nullable=False, server_default='3'))


def downgrade():
    op.drop_column('stories', 'bible_quorum')
    op.drop_index('ix_bible_votes_entry_id', table_name='bible_votes')
    op.drop_table('bible_votes')
