"""End-user accounts: sign up, sign in, sign out, locale and password."""

from webapp.auth.routes import bp

__all__ = ["bp"]
