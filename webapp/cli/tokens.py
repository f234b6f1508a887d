import click
from flask import current_app

from webapp.cli import OpsGroup
from webapp.cli.users import existing_user
from webapp.extensions import db
from webapp.models import Project
from webapp.observability import events
from webapp.rules.projects import slug_problems
from webapp.services.tokens import ProjectCannotSign, issue_token

group = OpsGroup("tokens", help="Tokens, for debugging a deployment.")


def existing_project(slug: str) -> Project:
    # A string that is no slug is never looked up: PostgreSQL refuses a NUL in a query.
    project = (
        None if slug_problems(slug) else db.session.scalar(db.select(Project).filter_by(slug=slug))
    )
    if project is None:
        raise click.ClickException(f"No project has the slug {slug}.")
    return project


@group.command("issue")
@click.option("--project", "slug", required=True, help="The project's slug.")
@click.option("--user", "email", required=True, help="The e-mail of the user it is for.")
def issue(slug: str, email: str) -> None:
    """Print a token for a user, signed the way the token endpoint signs it.

    The token alone goes to standard output; notes go to standard error."""
    project, user = existing_project(slug), existing_user(email)
    if not project.enabled:
        click.echo(f"Note: {slug} is disabled; the token endpoint refuses it.", err=True)
    if not user.is_active:
        click.echo(f"Note: {user.email} is disabled; the token endpoint refuses them.", err=True)
    try:
        issued = issue_token(project, user, nbf_leeway=current_app.config["TOKEN_NBF_LEEWAY"])
    except ProjectCannotSign as refusal:
        raise click.ClickException(str(refusal)) from None
    # Logged and counted like the endpoint's tokens: a token minted for a user leaves a trace.
    events.token_issued(project.slug, user.public_id, issued.claims)
    click.echo(issued.token)
