"""The audit trail: what changed, by whom, with every secret replaced by its fingerprint."""

from typing import Any

from webapp.extensions import db
from webapp.models import AuditAction, AuditEvent, Project, User

# What the trail keeps of a project. The signing key appears only as its fingerprint.
PROJECT_FIELDS = (*Project.SETTINGS, "signing_key_fingerprint")
USER_FIELDS = ("email", "is_admin", "is_active")


def project_state(project: Project | None) -> dict[str, Any]:
    return {field: getattr(project, field) for field in PROJECT_FIELDS} if project else {}


def user_state(user: User | None) -> dict[str, Any]:
    return {field: getattr(user, field) for field in USER_FIELDS} if user else {}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": …, "after": …}} for each field whose value differs."""
    return {
        field: {"before": before.get(field), "after": after.get(field)}
        for field in dict.fromkeys([*before, *after])
        if before.get(field) != after.get(field)
    }


def record(
    action: AuditAction,
    target: Project | User,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: User | None,
    *,
    label: str | None = None,
) -> AuditEvent:
    """Add an event to the session; the caller's commit makes the change and its record one.
    The target is named by its slug or e-mail, unless `label` says otherwise."""
    is_project = isinstance(target, Project)
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        target_type="project" if is_project else "user",
        target_id=target.id,
        target_label=label or (target.slug if is_project else target.email),
        action=action,
        changes=changes(before, after),
    )
    db.session.add(event)
    return event
