"""usage per hour: tokens per project and sign-ins, by outcome

Revision ID: 5c1e0a9d7b42
Revises: b7d4e8f2a6c1
Create Date: 2026-12-06 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5c1e0a9d7b42"
down_revision = "b7d4e8f2a6c1"
branch_labels = None
depends_on = None

# Timestamps are UTC; the models add the zone back on SQLite (webapp.models.types.UTCDateTime).
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "token_usage",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("hour", Timestamp, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_token_usage_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "hour", "outcome", name=op.f("pk_token_usage")),
    )
    # The purge of hours past the retention reads by hour alone.
    op.create_index("ix_token_usage_hour", "token_usage", ["hour"])
    op.create_table(
        "sign_in_usage",
        sa.Column("hour", Timestamp, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "outcome", name=op.f("pk_sign_in_usage")),
    )


def downgrade():
    op.drop_table("sign_in_usage")
    op.drop_index("ix_token_usage_hour", table_name="token_usage")
    op.drop_table("token_usage")
