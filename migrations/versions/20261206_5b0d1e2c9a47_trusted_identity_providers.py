"""a project's trusted OpenID Connect identity provider

Revision ID: 5b0d1e2c9a47
Revises: 5c1e0a9d7b42
Create Date: 2026-12-06 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5b0d1e2c9a47"
down_revision = "5c1e0a9d7b42"
branch_labels = None
depends_on = None


def upgrade():
    # Server defaults fill the rows that exist: no project trusts a provider yet.
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column("oidc_audiences", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column(
                "oidc_locale_claim", sa.String(length=128), nullable=False, server_default="locale"
            )
        )
        batch_op.add_column(sa.Column("oidc_required_claim", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("oidc_required_value", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("oidc_max_age", sa.Integer(), nullable=False, server_default="3600")
        )
        batch_op.add_column(
            sa.Column("oidc_leeway", sa.Integer(), nullable=False, server_default="60")
        )


def downgrade():
    with op.batch_alter_table("projects", schema=None) as batch_op:
        for column in (
            "oidc_leeway",
            "oidc_max_age",
            "oidc_required_value",
            "oidc_required_claim",
            "oidc_locale_claim",
            "oidc_audiences",
            "oidc_issuer",
        ):
            batch_op.drop_column(column)
