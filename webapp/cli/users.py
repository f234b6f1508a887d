import sys

import click

from webapp.cli import OpsGroup
from webapp.extensions import db
from webapp.models import User
from webapp.rules.emails import InvalidEmail, normalise_email
from webapp.rules.locales import DEFAULT_LOCALE, InvalidLocale, normalise_locale
from webapp.services import two_factor
from webapp.services.users import EmailTaken, InvalidAccount, LastAdmin, create_user, set_flag

group = OpsGroup("users", help="Manage accounts.")


def existing_user(email: str) -> User:
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email {email}.")
    return user


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@group.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Give the user admin rights.")
@click.option("--locale", default=DEFAULT_LOCALE, show_default=True, help="A BCP 47 tag.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(email: str, admin: bool, locale: str, password_stdin: bool) -> None:
    """Make a user; prompts for the password unless --password-stdin."""
    # Before asking for a password that would be wasted; create_user checks all again.
    try:
        normalise_email(email), normalise_locale(locale)
    except (InvalidEmail, InvalidLocale) as error:
        raise click.BadParameter(str(error)) from None
    if User.by_email(email):
        raise click.ClickException(f"{email} already has an account.")
    password = read_password(password_stdin)
    try:
        user = create_user(email, password, locale, is_admin=admin, actor=None)
        db.session.commit()
    except EmailTaken:
        raise click.ClickException(f"{email} already has an account.") from None
    except InvalidAccount as refusal:
        reasons = " ".join(problem.params["message"] for problem in refusal.problems)
        raise click.ClickException(f"Not created. {reasons}") from None
    click.echo(f"Created {'admin' if admin else 'user'} {user.email}.")


@group.command("list")
def list_users() -> None:
    """Every account, with its rights and state."""
    for user in db.session.scalars(db.select(User).order_by(User.email)):
        flags = [
            name for name, on in (("admin", user.is_admin), ("disabled", not user.is_active)) if on
        ]
        click.echo(f"{user.email}\t{user.locale}\t{user.public_id}\t{','.join(flags)}")


def change(email: str, flag: str, value: bool, done: str) -> None:
    user = existing_user(email)
    try:
        set_flag(user, flag, value, actor=None)
    except LastAdmin as refusal:
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    click.echo(f"{user.email}: {done}.")


@group.command("set-admin")
@click.argument("email")
def set_admin(email: str) -> None:
    """Give a user admin rights."""
    change(email, "is_admin", True, "admin rights granted")


@group.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Sign a user out everywhere and refuse them tokens."""
    change(email, "is_active", False, "disabled")


@group.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Let a disabled user sign in again."""
    change(email, "is_active", True, "enabled")


@group.command("reset-two-factor")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Turn a locked-out user's second factor off; they sign in with the password alone and
    can set it up again."""
    user = existing_user(email)
    if not user.has_two_factor:
        raise click.ClickException(f"{user.email} has no second factor.")
    two_factor.disable(user, actor=None, by="reset")
    db.session.commit()
    click.echo(f"{user.email}: second factor turned off.")
