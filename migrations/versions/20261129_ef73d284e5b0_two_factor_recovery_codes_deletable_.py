"""two-factor secrets, recovery codes, deletable accounts

Revision ID: ef73d284e5b0
Revises: 1efb93a2a218
Create Date: 2026-11-29 20:06:55

"""

import sqlalchemy as sa
from alembic import op

revision = "ef73d284e5b0"
down_revision = "1efb93a2a218"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])

    # A user may now delete their account; the audit trail keeps naming them as actor.
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_constraint("fk_audit_events_actor_id_users", type_="foreignkey")

    # On SQLite the table is rebuilt with AUTOINCREMENT, so a deleted user's id is never
    # given to a new account (PostgreSQL's sequence never reuses one anyway).
    sqlite = op.get_context().dialect.name == "sqlite"
    with op.batch_alter_table(
        "users",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(sa.Column("totp_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret_encrypted")

    # Fails, and changes nothing, while the trail names a deleted account as actor.
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.create_foreign_key("fk_audit_events_actor_id_users", "users", ["actor_id"], ["id"])

    op.drop_index("ix_recovery_codes_user_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
