import json
from typing import IO

import click

from webapp.cli import OpsGroup
from webapp.extensions import db
from webapp.models import Project
from webapp.rules.wording import describe
from webapp.services.project_files import (
    InvalidImport,
    NotTheFormat,
    UnreadableKeys,
    export_document,
    import_document,
)
from webapp.services.projects import StaleProject, stored_project_problems

group = OpsGroup("projects", help="Project configurations.")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def all_projects() -> list[Project]:
    return list(db.session.scalars(db.select(Project).order_by(Project.slug)))


@group.command("list")
def list_projects() -> None:
    """One line per project: slug, name, environment, flags, key fingerprint."""
    for project in all_projects():
        flags = ["enabled" if project.enabled else "disabled"]
        if project.is_default:
            flags.append("default")
        click.echo(
            f"{project.slug}\t{project.name}\t{project.environment}\t"
            f"{','.join(flags)}\t{project.signing_key_fingerprint}"
        )


@group.command("check")
def check() -> None:
    """Check every stored project against the rules of the admin form and the token endpoint.

    One line per problem; the exit status is non-zero when there is any."""
    projects, broken, count = all_projects(), set(), 0
    for project in projects:
        for problem in stored_project_problems(project):
            click.echo(f"{project.slug}: {problem.field}: {describe(problem)}")
            broken.add(project.slug)
            count += 1
    if count:
        raise click.ClickException(
            f"{count} problems in {len(broken)} of {len(projects)} projects."
        )
    click.echo(f"{plural(len(projects), 'project')} checked: every rule passes.")


@group.command("export")
@click.option("--with-secrets", is_flag=True, help="Include the signing keys, in clear.")
def export(with_secrets: bool) -> None:
    """Print every project as JSON on standard output, for `projects import`.

    Signing keys are left out (only their fingerprints are given) unless --with-secrets."""
    try:
        document = export_document(with_secrets=with_secrets)
    except UnreadableKeys as error:
        raise click.ClickException(
            "No key in SECRETS_ENCRYPTION_KEYS decrypts the signing key of: "
            f"{', '.join(error.args)}."
        ) from None
    if with_secrets:
        click.echo("Warning: the output holds signing keys in clear; keep it secret.", err=True)
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def source(file: IO[bytes]) -> str:
    # Standard input has no name when a test runner stands in for it.
    return str(getattr(file, "name", "<stdin>"))


def read_document(file: IO[bytes]) -> object:
    try:
        document = json.loads(file.read())
        # A lone surrogate (\\ud800) is valid JSON but no text a database can store.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise click.ClickException(f"{source(file)}: the JSON is nested too deeply.") from None
    except UnicodeError:
        raise click.ClickException(f"{source(file)}: the file is not UTF-8 text.") from None
    except ValueError as error:  # JSONDecodeError, and numbers too long to read
        raise click.ClickException(f"{source(file)}: not valid JSON: {error}.") from None
    return document


@group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
def import_projects(file: IO[bytes], dry_run: bool) -> None:
    """Create or update projects by slug from FILE (`-` for standard input), in the format
    `projects export` prints.

    Every project is checked as the admin form checks it; if any is refused, nothing is
    written. A project without a signing key keeps its stored key."""
    document = read_document(file)
    try:
        imported = import_document(document)
    except NotTheFormat as error:
        db.session.rollback()
        raise click.ClickException(f"{source(file)}: {error}.") from None
    except InvalidImport as refusal:
        db.session.rollback()
        for name, problem in refusal.problems:
            click.echo(f"{name}: {problem.field}: {describe(problem)}", err=True)
        count = plural(len(refusal.problems), "problem")
        raise click.ClickException(f"Nothing imported: {count}.") from None
    except StaleProject as error:
        db.session.rollback()
        raise click.ClickException(
            f"Nothing imported: {error} was changed by someone else meanwhile; run it again."
        ) from None
    for change in imported.changes:
        detail = f" ({', '.join(change.fields)})" if change.fields else ""
        click.echo(f"{change.slug}: {change.action}{detail}")
    for name, warning in imported.warnings:
        click.echo(f"{name}: {warning.field}: warning: {describe(warning)}", err=True)
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing written.")
        return
    db.session.commit()
    changed = sum(change.action != "unchanged" for change in imported.changes)
    click.echo(f"Imported: {plural(changed, 'project')} changed.")
