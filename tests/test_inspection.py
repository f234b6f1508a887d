"""The token inspector: any issuer's token, decoded, checked, and judged by SPEC.md's rules."""

import json
import time

import jwt
import pytest
from helpers import HS256_KEY

from webapp.extensions import db
from webapp.models import Project
from webapp.services.inspection import inspect_token, relative

NOW = 1_800_000_000


def vendor_token(key: str = HS256_KEY, algorithm: str = "HS256", **claims) -> str:
    """What the vendor's Express template issues, plus whatever a test adds or removes."""
    body = {
        "iss": "sm-abcdef123456789",
        "sm-session-server": "dh.soulmachines.cloud",
        "sm-control-via-browser": False,
        "iat": NOW,
        "nbf": NOW - 30,
        "exp": NOW + 1800,
        **claims,
    }
    payload = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
    # Through PyJWS, which signs any payload: other issuers' tokens need not pass PyJWT's checks.
    return jwt.api_jws.encode(payload, key, algorithm=algorithm)


def test_a_clean_vendor_token_breaks_nothing():
    inspection = inspect_token(vendor_token(), project=None, now=NOW)
    assert inspection.problems == []
    assert inspection.signature_valid is None
    assert inspection.header == {"alg": "HS256", "typ": "JWT"}
    assert inspection.claims["iss"] == "sm-abcdef123456789"


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"sm-session-server": None}, "sm-session-server is missing; it is mandatory."),
        ({"iss": None}, "iss is missing; it is mandatory."),
        ({"sm-foo": 1}, "may not begin with “sm-”"),
        (
            {"sm-control-via-browser": True, "sm-control": "wss://o.example.com"},
            "sm-control-via-browser: true is only allowed in development projects.",
        ),
        (
            {"sm-control-via-browser": True},
            "sm-control-via-browser: true needs sm-control, the orchestration URL.",
        ),
        ({"sm-control": "ws://localhost:8080"}, "sm-control: a localhost orchestration server"),
        ({"sm-control-via-browser": "yes"}, "sm-control-via-browser: must be true or false."),
        ({"iat": "now"}, "iat must be a whole number of seconds."),
        ({"nbf": NOW + 10}, "nbf is later than iat"),
        ({"exp": NOW}, "exp is not after iat"),
        ({"exp": NOW + 90_000}, "exp: the lifetime (exp − iat) must be 60 to 86,400 seconds."),
    ],
)
def test_each_broken_rule_is_named(claims, problem):
    problems = inspect_token(vendor_token(**claims), project=None, now=NOW).problems
    assert any(problem in text for text in problems), problems


def test_an_unsigned_token_is_flagged():
    token = jwt.encode(
        {"iss": "x", "sm-session-server": "h.example", "iat": NOW, "exp": NOW + 60},
        None,
        algorithm="none",
    )
    problems = inspect_token(token, project=None, now=NOW).problems
    assert problems[0].startswith("alg: the token is unsigned")


def test_times_in_plain_words():
    inspection = inspect_token(vendor_token(), project=None, now=NOW + 1860)
    assert "Expires 2027-01-15 08:30:00 UTC (1 minute ago)." in inspection.times
    assert "The token has expired: a session server would refuse it now." in inspection.times
    assert (
        relative(7200) == "in 2 hours" and relative(-1) == "1 second ago" and relative(0) == "now"
    )


def test_garbage_is_not_a_traceback():
    inspection = inspect_token("not.a.token", project=None, now=NOW)
    assert inspection.unreadable.startswith("This is not a readable JWT")


def test_signature_against_a_project(app, make_project, signing_keys):
    make_project("hs")
    make_project("es", key=signing_keys["ES256"][0], algorithm="ES256", environment="development")
    with app.app_context():
        hs, es = (db.session.scalar(db.select(Project).filter_by(slug=s)) for s in ("hs", "es"))
        assert inspect_token(vendor_token(), project=hs, now=NOW).signature_valid is True
        wrong_key = inspect_token(vendor_token(key="z" * 32), project=hs, now=NOW)
        assert wrong_key.signature_valid is False
        assert "does not match its key" in wrong_key.signature
        es_token = vendor_token(
            key=signing_keys["ES256"][0],
            algorithm="ES256",
            **{"sm-control-via-browser": True, "sm-control": "ws://localhost:1"},
        )
        judged = inspect_token(es_token, project=es, now=NOW)
        assert judged.signature_valid is True and judged.problems == []
        assert "is not HS256" in inspect_token(es_token, project=hs, now=NOW).signature


def test_inspector_page_shows_the_verdict(client, forms, make_project, signed_in_admin):
    make_project("shop")
    now = int(time.time())
    token = vendor_token(iat=now, nbf=now, exp=now + 630, **{"sm-foo": 1})
    page = forms.post("/admin/inspect", {"token": token, "project": "shop"}).get_data(as_text=True)
    assert "Signature: valid" in page
    assert "may not begin with" in page
    assert "Expires" in page and "in 10 minutes" in page  # 630 s, give or take one
    assert "Shop (shop)" in page  # the project picker


def test_inspector_page_with_nothing_pasted(forms, signed_in_admin):
    page = forms.post("/admin/inspect", {"token": ""}).get_data(as_text=True)
    assert "Paste a token." in page


@pytest.mark.parametrize(
    "claims",
    [
        {"sm-control": 5},
        {"sm-control": "wss://["},
        {"sm-control-cookie-header": 5},
        {"sm-session-server": ["a"]},
        {"iss": {"x": 1}},
        {"exp": 10**20},
        {"iat": -(10**18)},
    ],
)
def test_odd_tokens_from_other_issuers_are_judged_not_crashed_on(claims):
    inspection = inspect_token(vendor_token(**claims), project=None, now=NOW)
    assert inspection.problems
    assert all(isinstance(line, str) for line in inspection.times)
