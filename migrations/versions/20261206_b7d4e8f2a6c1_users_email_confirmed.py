"""users.email_confirmed: a new address is confirmed by a mailed link

Revision ID: b7d4e8f2a6c1
Revises: e3c1a7d2b9f4
Create Date: 2026-12-06 16:20:00

Accounts made before this revision keep signing in: the column's default, true, confirms
them.
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d4e8f2a6c1"
down_revision = "e3c1a7d2b9f4"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, on SQLite too: a batch rebuild of the table would drop its
    # AUTOINCREMENT (ef73d284e5b0), and a deleted user's id could be given out again.
    op.add_column(
        "users",
        sa.Column("email_confirmed", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade():
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("email_confirmed")
