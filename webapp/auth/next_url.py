"""Where `?next=` may send a person after signing in: only a path on this site."""

from urllib.parse import urlsplit

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
