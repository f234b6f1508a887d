"""Changing projects: the one gate every write passes (the admin form, the command line, an
imported file). It checks every rule itself, keeps one default at most, refuses stale edits,
and audits each change. The caller commits, or rolls back on any error."""

import copy
from types import SimpleNamespace
from typing import Any

from flask import current_app, g
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp.extensions import db
from webapp.models import AuditAction, Project, User
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.problems import InvalidProject, Problem
from webapp.rules.projects import settings_problems
from webapp.rules.signing import key_problems
from webapp.services import audit, usage
from webapp.services.provider_keys import probe


class StaleProject(Exception):
    """Someone else saved the project after this change was started."""


def check_project(
    project: Project, values: dict[str, Any], *, new_key: str | None
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of saving `values` (and `new_key`) onto `project`, which may be new.

    Only the fields of Project.SETTINGS may be given; a field not given keeps its stored
    value, or its default on a new project."""
    errors = [Problem(str(name), "unknown") for name in values if name not in Project.SETTINGS]
    if errors:
        return errors, []
    creating = project.id is None
    current = (
        copy.deepcopy(Project.DEFAULTS)
        if creating
        else {field: getattr(project, field) for field in Project.SETTINGS}
    )
    settings = SimpleNamespace(**{**dict.fromkeys(Project.SETTINGS), **current, **values})
    errors = settings_problems(settings)
    if "slug" not in {problem.field for problem in errors} and slug_taken(settings.slug, project):
        errors.append(Problem("slug", "taken"))
    if not errors and settings.oidc_issuer and settings.oidc_issuer != project.oidc_issuer:
        errors += provider_problem(settings.oidc_issuer)
    key_errors, warnings = check_key(project, new_key, settings.algorithm)
    return errors + key_errors, warnings


def provider_problem(issuer: str) -> list[Problem]:
    """A newly trusted provider must publish usable keys now. Asked once per request, since
    a form checks before it saves."""
    probes: dict[str, Problem | None] = g.setdefault("provider_probes", {})
    if issuer not in probes:
        probes[issuer] = probe(issuer, current_app.config["OIDC_FETCH_TIMEOUT"])
    problem = probes[issuer]
    return [problem] if problem else []


def slug_taken(slug: str, project: Project) -> bool:
    taken = db.session.scalar(db.select(Project.id).filter_by(slug=slug))
    return taken is not None and taken != project.id


def check_key(
    project: Project, new_key: object, algorithm: str
) -> tuple[list[Problem], list[Problem]]:
    """The new key, or the stored one, must sign with the (possibly new) algorithm."""
    if new_key is not None and not isinstance(new_key, str):
        return [Problem("signing_key", "required")], []
    key = new_key
    if not key and project.id is not None:
        try:
            key = project.decrypt_signing_key()
        except SecretUnreadable:
            return [Problem("signing_key", "unreadable")], []
    if not key:
        return [Problem("signing_key", "required")], []
    if not isinstance(algorithm, str):
        return [], []  # the algorithm's own problem is reported already
    return key_problems(key, algorithm)


def save_project(
    project: Project,
    values: dict[str, Any],
    *,
    new_key: str | None,
    actor: User | None,
    expected_version: int | None = None,
) -> list[Problem]:
    """Apply `values` to a new or existing project and audit it; returns the warnings.

    Raises InvalidProject (every problem at once), or StaleProject when `expected_version`
    is not the stored one or a concurrent save won at flush."""
    creating = project.id is None
    if not creating and expected_version is not None and project.version != expected_version:
        raise StaleProject(project.slug)
    errors, warnings = check_project(project, values, new_key=new_key)
    if errors:
        raise InvalidProject(errors)
    before = {} if creating else audit.project_state(project)
    if creating:
        values = {**copy.deepcopy(Project.DEFAULTS), **values}
    if values.get("is_default"):
        # Before this project claims the flag, so the one-default index is never broken.
        undefault_others(project, actor)
    for field in Project.SETTINGS:
        if field in values:
            setattr(project, field, values[field])
    if new_key:
        project.set_signing_key(new_key)
    db.session.add(project)
    flush(project)
    audit.record(
        AuditAction.CREATE if creating else AuditAction.UPDATE,
        project,
        before,
        audit.project_state(project),
        actor,
    )
    return warnings


def flush(project: Project) -> None:
    """Write now, so that a concurrent save is a typed refusal rather than a crash later."""
    slug = project.slug  # read now: after a failed flush the session loads nothing
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleProject(slug) from None
    except IntegrityError as error:
        # Another save took the slug, or the default, between our check and our write.
        field = "is_default" if "is_default" in str(error.orig) else "slug"
        raise InvalidProject([Problem(field, "taken")]) from None


def undefault_others(project: Project, actor: User | None) -> None:
    others = db.session.scalars(
        db.select(Project).where(Project.is_default, Project.id != project.id)
    ).all()
    for other in others:
        before = audit.project_state(other)
        other.is_default = False
        try:
            flush(other)
        except StaleProject:
            # Another save moved the default (or changed that project) at the same moment.
            raise InvalidProject([Problem("is_default", "taken")]) from None
        audit.record(AuditAction.UPDATE, other, before, audit.project_state(other), actor)


def delete_project(project: Project, actor: User | None) -> None:
    """Raises StaleProject when someone else deleted or changed the project meanwhile."""
    audit.record(AuditAction.DELETE, project, audit.project_state(project), {}, actor)
    usage.forget_project(project.id)
    db.session.delete(project)
    flush(project)


def stored_project_problems(project: Project) -> list[Problem]:
    """What is wrong with a project as stored: the same rules a save applies, key included."""
    settings = SimpleNamespace(**{field: getattr(project, field) for field in Project.SETTINGS})
    problems = settings_problems(settings) + check_key(project, None, project.algorithm)[0]
    if project.oidc_issuer and not problems:
        problems += provider_problem(project.oidc_issuer)
    return problems
