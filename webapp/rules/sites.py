"""Whether a browser on an allowed origin will send the issuer's sign-in cookie.

Browsers send a `SameSite=Lax` (or `Strict`) cookie on a `fetch` only to the same *site*: the
same scheme and the same registrable domain, taken from the Public Suffix List (so
`shop.example.co.uk` and `tokens.example.co.uk` are one site, `a.github.io` and `b.github.io`
two). Ports do not matter. The list ships inside `publicsuffixlist`; nothing is fetched.
"""

import ipaddress
from dataclasses import dataclass
from functools import cache
from urllib.parse import SplitResult, urlsplit

from publicsuffixlist import PublicSuffixList

OK, WARNING, ERROR = "ok", "warning", "error"
SEVERITY = {OK: 0, WARNING: 1, ERROR: 2}


@dataclass(frozen=True)
class OriginVerdict:
    origin: str
    level: str  # ok, warning or error: the worst of its notes
    notes: tuple[str, ...]


@cache
def public_suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled copy of the list, parsed once


def site_of(host: str) -> str:
    """The registrable domain of `host`; an IP address, `localhost` or a host that is itself
    a public suffix is its own site."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    return public_suffix_list().privatesuffix(host) or host


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_verdict(
    origin: str, issuer_url: str, *, cookie_samesite: str | None, cookie_secure: bool
) -> OriginVerdict:
    """What happens when a page on `origin` fetches a token with `credentials: 'include'`
    from the issuer at `issuer_url`, given how the session cookie is set."""
    website, issuer = urlsplit(origin), urlsplit(issuer_url)
    if not website.hostname or website.scheme not in ("http", "https"):
        return OriginVerdict(origin, ERROR, ("This is not an origin: write scheme://host[:port].",))
    notes: list[tuple[str, str]] = []
    if website.scheme == "http" and not is_loopback(website.hostname):
        notes.append(
            (
                WARNING,
                "Plain http:// outside localhost: tokens and the sign-in cookie would travel "
                "unencrypted. Use https:// for this website.",
            )
        )
    website_site, issuer_site = site_of(website.hostname), site_of(issuer.hostname or "")
    if (website.scheme, website.netloc) == (issuer.scheme, issuer.netloc):
        notes.append((OK, "The issuer's own origin: the browser always sends the sign-in cookie."))
    elif (website.scheme, website_site) == (issuer.scheme, issuer_site):
        notes.append(
            (
                OK,
                f"Same site as the issuer ({issuer_site}): with credentials: 'include' the "
                "browser sends the sign-in cookie.",
            )
        )
    else:
        notes.append(
            cross_site_note(
                website, website_site, issuer, issuer_site, cookie_samesite, cookie_secure
            )
        )
    level = max((level for level, _ in notes), key=SEVERITY.__getitem__)
    return OriginVerdict(origin, level, tuple(text for _, text in notes))


def cross_site_note(
    website: SplitResult,
    website_site: str,
    issuer: SplitResult,
    issuer_site: str,
    samesite: str | None,
    secure: bool,
) -> tuple[str, str]:
    if website_site == issuer_site:
        where = (
            f"Another site than the issuer: {website.scheme}:// and {issuer.scheme}:// "
            f"are different sites for cookies, even on {issuer_site}."
        )
    else:
        where = f"Another site than the issuer ({website_site}, not {issuer_site})."
    if (samesite or "Lax").lower() != "none":
        return (
            ERROR,
            f"{where} The sign-in cookie is SameSite={samesite or 'Lax'}, so the browser does "
            "not send it and every token request answers 401. Serve the website on the "
            f"issuer's site ({issuer_site}), or run the issuer over HTTPS with "
            "FLASK_SESSION_COOKIE_SAMESITE=None, FLASK_REMEMBER_COOKIE_SAMESITE=None and "
            "secure cookies (FLASK_SESSION_COOKIE_SECURE=true).",
        )
    if not secure:
        return (
            ERROR,
            f"{where} SameSite=None cookies must also be Secure, or browsers drop them: run the "
            "issuer over HTTPS with FLASK_SESSION_COOKIE_SECURE=true.",
        )
    return (
        WARNING,
        f"{where} The sign-in cookie is SameSite=None; Secure, so browsers that allow "
        "third-party cookies send it; browsers that block them (Safari, and others by "
        "setting) do not, and answer 401.",
    )
