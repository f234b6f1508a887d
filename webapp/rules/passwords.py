"""What a password must be: the one rule sign-up, password changes and the CLI apply."""

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # bounds the work one sign-in costs the server


def password_problem(password: str) -> str | None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters (and at most {MAX_PASSWORD:,})."
    return None
