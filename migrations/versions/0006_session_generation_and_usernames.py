"""users: session_generation (logout ends every copy of a session); usernames unique whatever their case

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000

"""
import logging

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    rename_case_duplicates()
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)


def rename_case_duplicates():
    """Names that differ only in case could be registered before this revision. The oldest
    account keeps its name; each later one becomes "name-id" (still unique, and the owner can
    find it), so the unique index can be built."""
    connection = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String))
    rows = connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    seen = set()
    for user_id, username in rows:
        if username.lower() in seen:
            suffix = f"-{user_id}"
            renamed = username[:30 - len(suffix)] + suffix
            connection.execute(users.update().where(users.c.id == user_id).values(username=renamed))
            logging.getLogger("alembic.runtime.migration").warning(
                "user %s %r is now %r: an older account has that name in another case", user_id, username, renamed)
            username = renamed
        seen.add(username.lower())


def downgrade():
    op.drop_index('uq_users_username_lower', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
