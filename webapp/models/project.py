"""A project: one Digital Person deployment configuration that tokens are issued for."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.rules.claims import Environment
from webapp.rules.encryption import fingerprint
from webapp.rules.identity_providers import DEFAULTS as PROVIDER_DEFAULTS
from webapp.rules.identity_providers import SETTINGS as PROVIDER_SETTINGS
from webapp.rules.signing import Algorithm
from webapp.secret_box import secret_box


def stored_enum(enum: type[Algorithm] | type[Environment], name: str) -> Enum:
    """A VARCHAR holding the enum's values, guarded by a CHECK on every database."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Project(db.Model):  # type: ignore[name-defined]  # made at run time by Flask-SQLAlchemy
    __tablename__ = "projects"

    # What an admin configures, apart from the signing key (set through set_signing_key).
    # Only these are ever written from a form, a command or an imported file.
    SETTINGS = (
        "name",
        "slug",
        "session_server",
        "orchestration_url",
        "issuer",
        "algorithm",
        "token_lifetime",
        "environment",
        "control_via_browser",
        "control_cookie_header",
        "allowed_origins",
        "custom_claims",
        "is_default",
        "enabled",
        # The project's trusted OpenID Connect identity provider, if any.
        *PROVIDER_SETTINGS,
    )
    # What a new project starts with when a setting is not given.
    DEFAULTS: dict[str, Any] = {
        "orchestration_url": None,
        "algorithm": Algorithm.HS256,
        "token_lifetime": 1800,
        "environment": Environment.production,
        "control_via_browser": False,
        "control_cookie_header": None,
        "allowed_origins": [],
        "custom_claims": {},
        "is_default": False,
        "enabled": True,
        **PROVIDER_DEFAULTS,
    }
    __table_args__ = (
        CheckConstraint("token_lifetime > 0", name="token_lifetime"),
        # At most one default project, guarded by the database as well as the admin form.
        Index(
            "uq_projects_is_default",
            "is_default",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
        Index("ix_projects_name", "name"),  # the admin list is sorted by name
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    session_server: Mapped[str] = mapped_column(String(253))
    orchestration_url: Mapped[str | None] = mapped_column(String(2048))
    issuer: Mapped[str] = mapped_column(String(255))
    signing_key_encrypted: Mapped[str] = mapped_column(Text)
    signing_key_fingerprint: Mapped[str] = mapped_column(String(8))
    algorithm: Mapped[Algorithm] = mapped_column(
        stored_enum(Algorithm, "algorithm"), default=DEFAULTS["algorithm"]
    )
    token_lifetime: Mapped[int] = mapped_column(default=DEFAULTS["token_lifetime"])
    environment: Mapped[Environment] = mapped_column(
        stored_enum(Environment, "environment"), default=DEFAULTS["environment"]
    )
    control_via_browser: Mapped[bool] = mapped_column(default=DEFAULTS["control_via_browser"])
    control_cookie_header: Mapped[str | None] = mapped_column(String(4096))
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom_claims: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_default: Mapped[bool] = mapped_column(default=DEFAULTS["is_default"])
    enabled: Mapped[bool] = mapped_column(default=DEFAULTS["enabled"])
    oidc_issuer: Mapped[str | None] = mapped_column(String(2048))
    oidc_audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    oidc_locale_claim: Mapped[str] = mapped_column(
        String(128), default=PROVIDER_DEFAULTS["oidc_locale_claim"]
    )
    oidc_required_claim: Mapped[str | None] = mapped_column(String(128))
    oidc_required_value: Mapped[str | None] = mapped_column(String(255))
    oidc_max_age: Mapped[int] = mapped_column(default=PROVIDER_DEFAULTS["oidc_max_age"])
    oidc_leeway: Mapped[int] = mapped_column(default=PROVIDER_DEFAULTS["oidc_leeway"])
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: an UPDATE that finds another version fails instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    def set_signing_key(self, key: str) -> None:
        self.signing_key_encrypted = secret_box.encrypt(key)
        self.signing_key_fingerprint = fingerprint(key)

    def decrypt_signing_key(self) -> str:
        """The key in clear; raises SecretUnreadable when no configured key decrypts it."""
        return secret_box.decrypt(self.signing_key_encrypted)

    def __repr__(self) -> str:
        return f"<Project {self.slug}>"
