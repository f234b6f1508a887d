"""Changing projects: one default at most, optimistic locking, every change audited."""

from typing import Any

from webapp.extensions import db
from webapp.models import Project, User
from webapp.services import audit


class StaleProject(Exception):
    """Someone else saved the project after this change was started."""


def save_project(
    project: Project,
    values: dict[str, Any],
    *,
    new_key: str | None,
    actor: User | None,
    expected_version: int | None = None,
) -> None:
    """Apply checked values to a new or existing project and audit it. The caller commits.

    Raises StaleProject when `expected_version` is not the stored one; the version column
    also makes a concurrent UPDATE fail at flush (StaleDataError) rather than overwrite.
    """
    creating = project.id is None
    if not creating and expected_version is not None and project.version != expected_version:
        raise StaleProject(project.slug)
    before = {} if creating else audit.project_state(project)
    if values.get("is_default"):
        # Before this project claims the flag, so the one-default index is never broken.
        undefault_others(project, actor)
    for field, value in values.items():
        setattr(project, field, value)
    if new_key:
        project.set_signing_key(new_key)
    db.session.add(project)
    db.session.flush()
    audit.record(
        "create" if creating else "update", project, before, audit.project_state(project), actor
    )


def undefault_others(project: Project, actor: User | None) -> None:
    others = db.session.scalars(
        db.select(Project).where(Project.is_default, Project.id != project.id)
    ).all()
    for other in others:
        before = audit.project_state(other)
        other.is_default = False
        db.session.flush()
        audit.record("update", other, before, audit.project_state(other), actor)


def delete_project(project: Project, actor: User | None) -> None:
    audit.record("delete", project, audit.project_state(project), {}, actor)
    db.session.delete(project)
