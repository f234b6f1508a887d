"""The audit trail: one append-only row per change an admin (or the command line) makes."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.user import User


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    GRANT_ADMIN = "grant_admin"
    REMOVE_ADMIN = "remove_admin"
    ENABLE = "enable"
    DISABLE = "disable"
    ENABLE_TWO_FACTOR = "enable_two_factor"
    DISABLE_TWO_FACTOR = "disable_two_factor"
    RESET_TWO_FACTOR = "reset_two_factor"
    RESET_PASSWORD = "reset_password"  # noqa: S105  (an action's name, not a password)
    DELETE_ACCOUNT = "delete_account"
    ISSUE_TEST_TOKEN = "issue_test_token"  # noqa: S105  (an action's name, not a token)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def shows_before(self) -> bool:
        """A creation has no before; its changes are the new values alone."""
        return self not in (AuditAction.CREATE, AuditAction.ISSUE_TEST_TOKEN)

    @property
    def shows_after(self) -> bool:
        """A deletion has no after; its changes are the last values alone."""
        return self not in (AuditAction.DELETE, AuditAction.DELETE_ACCOUNT)


class AuditEvent(db.Model):  # type: ignore[name-defined]  # made at run time by Flask-SQLAlchemy
    __tablename__ = "audit_events"
    # Newest first, filtered or not, stays an index scan with a million events.
    __table_args__ = (
        Index("ix_audit_events_target", "target_type", "target_id", "id"),
        # A deleted project's history is found by the slug it had.
        Index("ix_audit_events_label", "target_type", "target_label", "id"),
        Index("ix_audit_events_actor", "actor_id", "id"),
    )

    # SQLite only auto-increments an INTEGER primary key.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None when the change came from the command line. No foreign key: an actor may delete
    # their account, and the trail outlives them (user ids are never reused).
    actor_id: Mapped[int | None]
    target_type: Mapped[str] = mapped_column(String(20))  # "project" or "user"
    # No foreign key: the trail outlives what it describes.
    target_id: Mapped[int | None]
    target_label: Mapped[str] = mapped_column(String(254))  # slug or email at the time
    # No CHECK constraint: new kinds of event must not need a migration of the whole trail.
    action: Mapped[AuditAction] = mapped_column(
        Enum(
            AuditAction,
            native_enum=False,
            create_constraint=False,
            length=40,
            values_callable=lambda members: [member.value for member in members],
        )
    )
    # {"field": {"before": …, "after": …}}, secrets only as fingerprints.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(
        lazy="joined", primaryjoin="foreign(AuditEvent.actor_id) == User.id"
    )

    @property
    def actor_name(self) -> str:
        if self.actor is not None:
            return self.actor.email
        return "deleted user" if self.actor_id is not None else "command line"

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.target_type} {self.target_label}>"


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_rewriting_history(_mapper: object, _connection: object, target: AuditEvent) -> None:
    raise PermissionError(f"audit events are append-only ({target!r})")
