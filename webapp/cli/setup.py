import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.cli import OpsCommand
from webapp.services.setup_codes import LIFETIME, new_code
from webapp.services.users import active_admin_count


@click.command("setup-link", cls=OpsCommand)
@with_appcontext
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
def setup_link(base_url: str) -> None:
    """Print a one-time link to create the first admin, valid for an hour (nothing once an
    admin exists)."""
    if active_admin_count():
        return
    code = new_code(current_app.instance_path)
    link = f"{base_url.rstrip('/')}/setup?code={code}"
    click.echo(
        f"No admin yet. Create the first one at {link} (valid once, for {LIFETIME // 60} minutes)"
    )
