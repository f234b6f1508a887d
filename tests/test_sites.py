"""Sites from the Public Suffix List, and whether an origin can send the sign-in cookie."""

import base64
import json

import pytest

from webapp.rules.integration import api_key_snippet, documented_flow_snippet, sdk_api_key
from webapp.rules.sites import (
    ERROR,
    LATER,
    NEEDS_HTTPS,
    NOT_AN_ORIGIN,
    OK,
    OTHER_SITE,
    THIRD_PARTY,
    WARNING,
    WORKS,
    cookie_verdict,
    is_loopback,
    site_of,
)

ISSUER = "https://tokens.example.co.uk"


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("www.example.co.uk", "example.co.uk"),  # not "co.uk": the list knows the suffix
        ("tokens.example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("alice.github.io", "alice.github.io"),  # a private suffix: each user is a site
        ("github.io", "github.io"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("WWW.Example.COM.", "example.com"),
    ],
)
def test_site_of(host, site):
    assert site_of(host) == site


@pytest.mark.parametrize("host", ["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "[::1]"])
def test_loopback(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "localhost.example.com"])
def test_not_loopback(host):
    assert not is_loopback(host)


def verdict(origin, issuer=ISSUER, samesite="Lax", secure=True):
    return cookie_verdict(origin, issuer, cookie_samesite=samesite, cookie_secure=secure)


def test_same_origin_is_fine():
    result = verdict(ISSUER)
    assert result.level == OK
    assert "own origin" in result.notes[0]


def test_same_site_is_fine_with_lax_cookies():
    result = verdict("https://www.example.co.uk:8443")
    assert result.level == OK
    assert "Same site as the issuer (example.co.uk)" in result.notes[0]


def test_another_site_with_lax_cookies_will_not_work_and_says_what_to_change():
    result = verdict("https://shop.example.com")
    assert result.level == ERROR
    [note] = result.notes
    assert "example.com, not example.co.uk" in note
    assert "SameSite=Lax" in note and "401" in note
    assert "FLASK_SESSION_COOKIE_SAMESITE=None" in note
    assert "FLASK_SESSION_COOKIE_SECURE=true" in note


def test_a_shared_public_suffix_is_not_a_shared_site():
    result = verdict("https://bob.github.io", issuer="https://alice.github.io")
    assert result.level == ERROR


def test_unset_samesite_counts_as_lax():
    assert verdict("https://shop.example.com", samesite=None).level == ERROR


def test_another_site_with_samesite_none_but_not_secure_will_not_work():
    result = verdict("https://shop.example.com", samesite="None", secure=False)
    assert result.level == ERROR
    assert "must also be Secure" in result.notes[0]


def test_another_site_with_samesite_none_and_secure_is_a_warning():
    result = verdict("https://shop.example.com", samesite="None", secure=True)
    assert result.level == WARNING
    assert "third-party cookies" in result.notes[0]


def test_plain_http_outside_localhost_is_a_warning_and_another_site():
    result = verdict("http://www.example.co.uk")
    assert result.level == ERROR  # http and https are different sites for cookies
    assert any("Plain http://" in note for note in result.notes)
    assert any("different sites" in note for note in result.notes)


def test_plain_http_on_the_same_http_site_is_only_a_warning():
    result = verdict("http://www.example.com", issuer="http://tokens.example.com")
    assert result.level == WARNING
    assert "Plain http://" in result.notes[0]


def test_plain_http_on_localhost_is_fine():
    assert verdict("http://127.0.0.1:3000", issuer="http://127.0.0.1:5000").level == OK
    # ...but localhost and 127.0.0.1 are two sites, as the browser tests show
    assert verdict("http://localhost:3000", issuer="http://127.0.0.1:5000").level == ERROR


def test_not_an_origin():
    assert verdict("ftp://example.com").level == ERROR
    assert verdict("ftp://example.com").summary == NOT_AN_ORIGIN


@pytest.mark.parametrize(
    ("origin", "summary"),
    [
        ("https://shop.example.co.uk", WORKS),
        ("https://shop.example.com", OTHER_SITE),
        ("http://shop.example.co.uk", OTHER_SITE),  # the worst of its two notes
    ],
)
def test_each_verdict_has_a_one_line_summary(origin, summary):
    assert verdict(origin).summary == summary


def test_a_plain_http_website_on_the_same_http_site_needs_https():
    result = verdict("http://www.example.com", issuer="http://tokens.example.com")
    assert result.summary == NEEDS_HTTPS


def test_the_bearer_flow_is_named_where_the_cookie_cannot_go():
    assert "bearer flow" in verdict("https://shop.example.com").notes[0]
    result = verdict("https://shop.example.com", samesite="None", secure=True)
    assert result.summary == THIRD_PARTY


def test_an_issuer_on_loopback_says_what_production_will_do():
    """Under `make run` the issuer is on 127.0.0.1: a public website's verdict is a forecast,
    not a red box; a website on loopback itself gets the real verdict."""
    result = verdict("https://shop.example.com", issuer="http://127.0.0.1:5000")
    assert result.level == LATER
    assert result.summary == "In production: works if the issuer is on example.com"
    assert "tokens.example.com" in result.notes[0] and "bearer flow" in result.notes[0]
    assert verdict("http://www.example.org", issuer="http://127.0.0.1:5000").summary == NEEDS_HTTPS
    assert verdict("http://127.0.0.1:3000", issuer="http://127.0.0.1:5000").summary == WORKS


def test_api_key_is_what_the_sdk_decodes():
    key = sdk_api_key("https://tokens.example.com/auth/authorize/shop")
    assert json.loads(base64.b64decode(key)) == {
        "authServer": "https://tokens.example.com/auth/authorize/shop"
    }
    assert key in api_key_snippet("https://tokens.example.com/auth/authorize/shop")


def test_documented_snippet_sends_the_cookie():
    snippet = documented_flow_snippet("https://tokens.example.com/auth/authorize/shop")
    assert (
        'fetch("https://tokens.example.com/auth/authorize/shop", { credentials: "include" })'
        in (snippet)
    )
    assert "scene.connect({ tokenServer: { uri: body.url, token: body.jwt } })" in snippet
