"""Where a person goes after signing in: `?next=` when it is a path on this site, else their
landing page."""

from urllib.parse import urlsplit

from flask import url_for

from webapp.models import User

# Browsers drop or rewrite these before parsing a URL, so `\t//evil.example` and
# `/\evil.example` both lead off-site; no path of ours needs any of them.
UNSAFE_CHARACTERS = frozenset("\\") | {chr(code) for code in range(0x21)} | {"\x7f"}


def safe_next_url(target: str | None) -> str | None:
    """The target when it is a local path, otherwise None."""
    if not target or any(character in UNSAFE_CHARACTERS for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing_page(user: User) -> str:
    """Where a person lands after signing in when `next` names no page: admins on the admin
    dashboard, everyone else on their Digital People."""
    return url_for("admin.dashboard") if user.is_admin else url_for("main.index")
