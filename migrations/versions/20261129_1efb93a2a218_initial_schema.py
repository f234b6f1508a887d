"""initial schema: users, projects, audit events

Revision ID: 1efb93a2a218
Revises:
Create Date: 2026-11-29 12:10:29

"""

import sqlalchemy as sa
from alembic import op

revision = "1efb93a2a218"
down_revision = None
branch_labels = None
depends_on = None

# Timestamps are UTC; the models add the zone back on SQLite (webapp.models.types.UTCDateTime).
Timestamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("session_server", sa.String(length=253), nullable=False),
        sa.Column("orchestration_url", sa.String(length=2048), nullable=True),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("signing_key_encrypted", sa.Text(), nullable=False),
        sa.Column("signing_key_fingerprint", sa.String(length=8), nullable=False),
        sa.Column("algorithm", sa.String(length=5), nullable=False),
        sa.Column("token_lifetime", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=11), nullable=False),
        sa.Column("control_via_browser", sa.Boolean(), nullable=False),
        sa.Column("control_cookie_header", sa.String(length=4096), nullable=True),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("custom_claims", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "algorithm IN ('HS256', 'HS384', 'HS512', 'RS256', 'ES256')",
            name=op.f("ck_projects_algorithm"),
        ),
        sa.CheckConstraint(
            "environment IN ('development', 'production')", name=op.f("ck_projects_environment")
        ),
        sa.CheckConstraint("token_lifetime > 0", name=op.f("ck_projects_token_lifetime")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("slug", name=op.f("uq_projects_slug")),
    )
    op.create_index(
        "uq_projects_is_default",
        "projects",
        ["is_default"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_index("ix_projects_name", "projects", ["name"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_login_at", Timestamp, nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_users_public_id")),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("target_label", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["actor_id", "id"])
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id", "id"])
    op.create_index("ix_audit_events_label", "audit_events", ["target_type", "target_label", "id"])


def downgrade():
    op.drop_table("audit_events")
    op.drop_table("users")
    op.drop_table("projects")
