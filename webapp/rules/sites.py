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

# LATER: a development issuer's verdict on a public origin, which only production can give.
OK, LATER, WARNING, ERROR = "ok", "later", "warning", "error"
SEVERITY = {OK: 0, LATER: 0, WARNING: 1, ERROR: 2}
# The one line each verdict gets; its notes are the details.
WORKS = "Works"
NEEDS_HTTPS = "Needs HTTPS"
OTHER_SITE = "Other site: use the bearer flow or serve from the same site"
THIRD_PARTY = "Other site: only where third-party cookies are allowed; use the bearer flow"
NOT_AN_ORIGIN = "Not an origin"


@dataclass(frozen=True)
class OriginVerdict:
    origin: str
    level: str  # ok, later, warning or error: the worst of its notes
    notes: tuple[str, ...]
    summary: str = WORKS  # the short verdict of the worst note


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
        note = "This is not an origin: write scheme://host[:port]."
        return OriginVerdict(origin, ERROR, (note,), NOT_AN_ORIGIN)
    notes: list[tuple[str, str, str]] = []
    if website.scheme == "http" and not is_loopback(website.hostname):
        notes.append(PLAIN_HTTP)
    website_site, issuer_site = site_of(website.hostname), site_of(issuer.hostname or "")
    if (website.scheme, website.netloc) == (issuer.scheme, issuer.netloc):
        notes.append(
            (OK, WORKS, "The issuer's own origin: the browser always sends the sign-in cookie.")
        )
    elif (website.scheme, website_site) == (issuer.scheme, issuer_site):
        notes.append(
            (
                OK,
                WORKS,
                f"Same site as the issuer ({issuer_site}): with credentials: 'include' the "
                "browser sends the sign-in cookie.",
            )
        )
    elif is_loopback(issuer.hostname or "") and not is_loopback(website.hostname):
        notes.append(production_note(website, website_site))
    else:
        notes.append(
            cross_site_note(
                website, website_site, issuer, issuer_site, cookie_samesite, cookie_secure
            )
        )
    return worst(origin, notes)


PLAIN_HTTP = (
    WARNING,
    NEEDS_HTTPS,
    "Plain http:// outside localhost: tokens and the sign-in cookie would travel "
    "unencrypted. Use https:// for this website.",
)


def worst(origin: str, notes: list[tuple[str, str, str]]) -> OriginVerdict:
    level, summary, _ = max(notes, key=lambda note: SEVERITY[note[0]])
    return OriginVerdict(origin, level, tuple(text for _, _, text in notes), summary)


def production_note(website: SplitResult, website_site: str) -> tuple[str, str, str]:
    """An issuer on loopback is a development one: a public website cannot reach it, so say
    what production will do rather than what this machine does."""
    example = f"tokens.{website_site}" if "." in website_site else "the same site"
    return (
        LATER,
        f"In production: works if the issuer is on {website_site}",
        f"This issuer runs on this machine (loopback), which the website at {website.netloc} "
        f"cannot reach. In production the browser sends the sign-in cookie when the issuer "
        f"is served on the same site over {website.scheme}:// (e.g. {example}); from "
        "another site, use the bearer flow.",
    )


def cross_site_note(
    website: SplitResult,
    website_site: str,
    issuer: SplitResult,
    issuer_site: str,
    samesite: str | None,
    secure: bool,
) -> tuple[str, str, str]:
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
            OTHER_SITE,
            f"{where} The sign-in cookie is SameSite={samesite or 'Lax'}, so the browser does "
            "not send it and every token request answers 401. Use the bearer flow, serve the "
            f"website on the issuer's site ({issuer_site}), or run the issuer over HTTPS with "
            "FLASK_SESSION_COOKIE_SAMESITE=None, FLASK_REMEMBER_COOKIE_SAMESITE=None and "
            "secure cookies (FLASK_SESSION_COOKIE_SECURE=true).",
        )
    if not secure:
        return (
            ERROR,
            OTHER_SITE,
            f"{where} SameSite=None cookies must also be Secure, or browsers drop them: run the "
            "issuer over HTTPS with FLASK_SESSION_COOKIE_SECURE=true.",
        )
    return (
        WARNING,
        THIRD_PARTY,
        f"{where} The sign-in cookie is SameSite=None; Secure, so browsers that allow "
        "third-party cookies send it; browsers that block them (Safari, and others by "
        "setting) do not, and answer 401.",
    )
