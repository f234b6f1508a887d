"""What a password must be: the one rule sign-up, password changes and the CLI apply."""

from functools import cache
from importlib import resources

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # bounds the work one sign-in costs the server


def password_problem(password: str, email: str) -> str | None:
    """Why a new password for the account `email` is refused, or None."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters (and at most {MAX_PASSWORD:,})."
    folded = password.strip().casefold()
    address = email.strip().casefold() if isinstance(email, str) else ""
    if folded in (address, address.partition("@")[0]):
        return "Do not use your email address as your password."
    if folded in common_passwords():
        return "That password is one of the most common ones. Choose one nobody would guess."
    return None


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords of 12 or more characters, lower-cased."""
    text = resources.files("webapp").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
