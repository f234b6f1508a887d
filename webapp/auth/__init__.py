"""Accounts: sign up, sign in (with an optional second factor), sign out, locale, password,
password reset by e-mail, and deleting one's own account."""

from webapp.auth import password_reset, routes, sso, two_factor  # noqa: F401  (routes join bp)
from webapp.auth.blueprint import bp

__all__ = ["bp"]
