"""Projects as a JSON document, for configuration as code: export, and an import that goes
through `save_project` (the admin form's gate) for every project it creates or changes.

The document: {"format": 1, "projects": [{<Project.SETTINGS in order>,
"signing_key_fingerprint": "…", "signing_key": "…" (only when secrets are asked for)}]}.
On import the fingerprint is informational and ignored; a missing or empty signing key keeps
the stored one."""

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from webapp.extensions import db
from webapp.models import Project
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.problems import InvalidProject, Problem
from webapp.rules.projects import slug_problems
from webapp.services import audit
from webapp.services.projects import save_project

FORMAT = 1
KEY, FINGERPRINT = "signing_key", "signing_key_fingerprint"
TOP_LEVEL = ("format", "projects")


class UnreadableKeys(Exception):
    """Keys asked for by an export cannot be decrypted; the slugs are in `args`."""


class NotTheFormat(ValueError):
    """The document is not a projects document this version reads; the message says why."""


class InvalidImport(Exception):
    """Problems of an imported document, as (label, problem); nothing may be written."""

    def __init__(self, problems: list[tuple[str, Problem]]):
        self.problems = problems
        super().__init__(f"{len(problems)} problems")


@dataclass
class Change:
    slug: str
    action: str  # created | updated | unchanged
    fields: list[str] = field(default_factory=list)


@dataclass
class Imported:
    changes: list[Change]
    warnings: list[tuple[str, Problem]]  # (slug, problem): saved, but worth a look


def plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def export_document(*, with_secrets: bool) -> dict[str, Any]:
    projects = db.session.scalars(db.select(Project).order_by(Project.slug)).all()
    entries, unreadable = [], []
    for project in projects:
        entry = {name: plain(getattr(project, name)) for name in Project.SETTINGS}
        entry[FINGERPRINT] = project.signing_key_fingerprint
        if with_secrets:
            try:
                entry[KEY] = project.decrypt_signing_key()
            except SecretUnreadable:
                unreadable.append(project.slug)
        entries.append(entry)
    if unreadable:
        raise UnreadableKeys(*unreadable)
    return {"format": FORMAT, "projects": entries}


def document_entries(document: object) -> list[Any]:
    if not isinstance(document, dict):
        raise NotTheFormat("the document must be a JSON object with “format” and “projects”")
    unknown = [name for name in document if name not in TOP_LEVEL]
    if unknown:
        names = ", ".join(f"“{name}”" for name in unknown)
        raise NotTheFormat(
            f"unknown top-level field {names}; a document has only “format” and “projects”"
        )
    # `type(...) is int`: JSON's true is not the format number 1.
    if type(document.get("format")) is not int or document["format"] != FORMAT:
        raise NotTheFormat(f"“format” must be {FORMAT}; this version reads no other")
    if not isinstance(document.get("projects"), list):
        raise NotTheFormat("“projects” must be a list of projects")
    return document["projects"]


def canonical(value: Any) -> str:
    """Strict equality for JSON values: true is not 1, 1.0 is not 1."""
    return json.dumps(plain(value))


def differs(project: Project, values: dict[str, Any], new_key: object) -> bool:
    if project.id is None or any(name not in Project.SETTINGS for name in values):
        return True  # a new project, or unknown fields for save_project to refuse by name
    if any(canonical(getattr(project, name)) != canonical(value) for name, value in values.items()):
        return True
    if new_key is None or new_key == "":
        return False
    try:
        return new_key != project.decrypt_signing_key()
    except SecretUnreadable:
        return True


def several_defaults(entries: list[Any]) -> list[tuple[str, Problem]]:
    defaults = [e for e in entries if isinstance(e, dict) and e.get("is_default") is True]
    if len(defaults) < 2:
        return []
    return [(label(entry, None), Problem("is_default", "several")) for entry in defaults]


def valid_slug(slug: object) -> bool:
    """Only a valid slug can be stored, so only one is looked up or echoed (never a NUL)."""
    return not slug_problems(slug)


def label(entry: Any, index: int | None) -> str:
    slug = entry.get("slug") if isinstance(entry, dict) else None
    if valid_slug(slug):
        return str(slug)
    return f"projects[{index}]" if index is not None else "?"


def import_document(document: object) -> Imported:
    """Create or update the document's projects by slug, in the caller's transaction.

    Raises NotTheFormat, or InvalidImport with every problem of every project; the caller
    then rolls back, so nothing is written. Returns what changed and the warnings."""
    entries = document_entries(document)
    before = {p.id: audit.project_state(p) for p in db.session.scalars(db.select(Project))}
    problems = several_defaults(entries)
    warnings: list[tuple[str, Problem]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = label(entry, index)
        if not isinstance(entry, dict):
            problems.append((name, Problem("project", "object")))
            continue
        slug = entry.get("slug")
        if isinstance(slug, str):
            if slug in seen:
                problems.append((name, Problem("slug", "duplicate")))
                continue
            seen.add(slug)
        values = {key: value for key, value in entry.items() if key not in (KEY, FINGERPRINT)}
        project = stored(slug) or Project()
        if not differs(project, values, entry.get(KEY)):
            continue
        try:
            saved = save_project(project, values, new_key=entry.get(KEY), actor=None)
            warnings.extend((name, warning) for warning in saved)
        except InvalidProject as refusal:
            problems.extend((name, problem) for problem in refusal.problems)
    if problems:
        raise InvalidImport(problems)
    db.session.flush()
    return Imported(changes(before, seen), warnings)


def stored(slug: object) -> Project | None:
    if not valid_slug(slug):
        return None
    return db.session.scalar(db.select(Project).filter_by(slug=slug))


def changes(before: dict[int, dict[str, Any]], named: set[str]) -> list[Change]:
    """Every project the import touched (including one that lost the default flag to
    another), and the named ones it left as they were."""
    report = []
    for project in db.session.scalars(db.select(Project).order_by(Project.slug)):
        if project.id not in before:
            report.append(Change(project.slug, "created"))
            continue
        changed = audit.changes(before[project.id], audit.project_state(project))
        fields = [KEY if name == FINGERPRINT else name for name in changed]
        if fields:
            report.append(Change(project.slug, "updated", fields))
        elif project.slug in named:
            report.append(Change(project.slug, "unchanged"))
    return report
