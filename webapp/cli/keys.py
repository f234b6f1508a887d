import click
from flask import current_app

from webapp.cli import OpsGroup
from webapp.services.secrets import rotate_secrets, secrets_count

group = OpsGroup("keys", help="Encryption keys of the secrets at rest.")


@group.command("rotate")
@click.option(
    "--batch-size",
    default=200,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Rows re-encrypted per transaction.",
)
def rotate(batch_size: int) -> None:
    """Re-encrypt every stored secret under the first SECRETS_ENCRYPTION_KEYS key.

    Put the new key first and keep the old one after it while this runs. It may be
    interrupted and run again; secrets already under the first key are only counted."""
    with click.progressbar(length=secrets_count(), label="Re-encrypting") as bar:
        rotation = rotate_secrets(batch_size, bar.update)
    summary = f"{rotation.rotated} re-encrypted, {rotation.current} already under the first key"
    if rotation.unreadable:
        summary += f", {len(rotation.unreadable)} unreadable"
    current_app.logger.info("keys rotate: %s", summary)
    click.echo(f"{summary}.")
    if rotation.unreadable:
        for label in rotation.unreadable:
            click.echo(
                f"{label}: no key in SECRETS_ENCRYPTION_KEYS can decrypt its secret", err=True
            )
        raise click.ClickException(
            "Some secrets could not be re-encrypted; add the key they were made with, or "
            "enter them again."
        )
