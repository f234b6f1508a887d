import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.cli import OpsCommand
from webapp.services.setup_codes import new_code
from webapp.services.users import active_admin_count


@click.command("setup-link", cls=OpsCommand)
@with_appcontext
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
def setup_link(base_url: str) -> None:
    """Print a one-time link to create the first admin (nothing once an admin exists)."""
    if active_admin_count():
        return
    code = new_code(current_app.instance_path)
    click.echo(f"No admin yet. Create the first one at {base_url.rstrip('/')}/setup?code={code}")
