"""The claims builder: every token obeys SPEC.md, or there is no token and a clear reason."""

import json
from types import SimpleNamespace
from urllib.parse import urlsplit

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.rules.claims import RESERVED_CLAIMS, VENDOR_CLAIMS, build_claims, project_problems
from webapp.rules.problems import InvalidProject
from webapp.rules.signing import sign
from webapp.rules.wording import describe

NOW = 1_800_000_000


def project(**fields) -> SimpleNamespace:
    values = {
        "session_server": "dh.soulmachines.cloud",
        "orchestration_url": None,
        "issuer": "sm-abcdef123456789",
        "algorithm": "HS256",
        "token_lifetime": 1800,
        "environment": "production",
        "control_via_browser": False,
        "control_cookie_header": None,
        "allowed_origins": [],
        "custom_claims": {},
    }
    return SimpleNamespace(**{**values, **fields})


def problems_of(**fields) -> dict[str, list[str]]:
    """The problems as an admin reads them, by field."""
    worded: dict[str, list[str]] = {}
    for problem in project_problems(project(**fields)):
        worded.setdefault(problem.field, []).append(describe(problem))
    return worded


def test_a_plain_production_project_is_fine():
    assert problems_of() == {}


def test_origins_with_ports_and_loopback_addresses_are_fine():
    origins = ["https://www.example.com", "http://localhost:3000", "http://[::1]:8080"]
    assert problems_of(allowed_origins=origins) == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"control_via_browser": True, "orchestration_url": "wss://orch.example.com"},
            "control_via_browser",
            "Control via browser is only allowed in development projects.",
        ),
        (
            {"control_via_browser": True, "environment": "development"},
            "control_via_browser",
            "Control via browser needs an orchestration URL.",
        ),
        (
            {"orchestration_url": "wss://localhost:8080"},
            "orchestration_url",
            "A localhost orchestration server is only reachable with Control via browser",
        ),
        (
            {"orchestration_url": "ws://127.0.0.1:8080", "environment": "development"},
            "orchestration_url",
            "A localhost orchestration server is only reachable with Control via browser",
        ),
        ({"orchestration_url": "ws://orch.example.com"}, "orchestration_url", "Use wss://"),
        ({"orchestration_url": "https://orch.example.com"}, "orchestration_url", "WebSocket URL"),
        ({"custom_claims": {"sm-foo": 1}}, "custom_claims", "may not begin with “sm-”"),
        ({"custom_claims": {"SM-Foo": 1}}, "custom_claims", "may not begin with “sm-”"),
        ({"custom_claims": {"iss": "x"}}, "custom_claims", "set by the issuer itself"),
        ({"custom_claims": {"user_id": "x"}}, "custom_claims", "set by the issuer itself"),
        ({"custom_claims": {"Exp": 1}}, "custom_claims", "set by the issuer itself"),
        ({"session_server": ""}, "session_server", "Digital Person server's host"),
        ({"session_server": "wss://dh.soulmachines.cloud"}, "session_server", "host"),
        ({"issuer": " "}, "issuer", "key name Soul Machines assigned"),
        ({"algorithm": "none"}, "algorithm", "Choose one of"),
        ({"environment": "staging"}, "environment", "development or production"),
        ({"token_lifetime": 59}, "token_lifetime", "between 60 and 86,400 seconds"),
        ({"token_lifetime": 86_401}, "token_lifetime", "between 60 and 86,400 seconds"),
        (
            {"control_cookie_header": "a=b\r\nX-Evil: 1"},
            "control_cookie_header",
            "control characters",
        ),
        ({"allowed_origins": ["https://*.example.com"]}, "allowed_origins", "no wildcard"),
        ({"allowed_origins": ["https://example.com/app"]}, "allowed_origins", "no path"),
        ({"allowed_origins": ["example.com"]}, "allowed_origins", "scheme://host[:port]"),
    ],
)
def test_each_rule_names_its_field(fields, field, message):
    problems = problems_of(**fields)
    assert field in problems
    assert any(message in text for text in problems[field])


def test_localhost_orchestration_with_control_via_browser_in_development_is_fine():
    assert (
        problems_of(
            environment="development",
            control_via_browser=True,
            orchestration_url="ws://localhost:8080",
        )
        == {}
    )


def test_builder_refuses_a_project_that_breaks_a_rule():
    with pytest.raises(InvalidProject) as refusal:
        build_claims(project(custom_claims={"sm-x": 1}), "u", "en-US", now=NOW, nbf_leeway=30)
    assert "custom_claims" in refusal.value.fields()


# Generated projects are mostly sound, with the mistakes admins, imports and hand edits make
# mixed in at a rate that leaves both outcomes, token and refusal, well exercised.
def mostly(valid: list, invalid: list) -> st.SearchStrategy:
    return st.sampled_from(valid * 6 + invalid)


hosts = mostly(["dh.soulmachines.cloud", "eu.sm.example:8443"], ["", "wss://x.y", "a b"])
orchestration = st.one_of(
    mostly(
        [None, "wss://orch.example.com:8080", "ws://localhost:8080", "wss://127.0.0.1:9000"],
        ["ws://orch.example.com", "https://orch.example.com", "wss://[", "wss://h:99999", 5],
    ),
    st.text(max_size=30).map(lambda text: "wss://" + text),
)
claim_names = st.one_of(
    mostly(["sessionId", "tier", "orchestrationHint"], ["sm-foo", "SM-control", "iss", "EXP", ""]),
    st.text(min_size=1, max_size=12),
)
claim_values = st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.none(), st.floats())
projects = st.builds(
    project,
    session_server=hosts,
    orchestration_url=orchestration,
    issuer=mostly(["sm-abcdef123456789"], ["", "issuer\n"]),
    algorithm=mostly(["HS256", "HS512"], ["none", "hs256"]),
    token_lifetime=st.one_of(st.integers(60, 86_400), st.integers(-10, 100_000)),
    environment=mostly(["development", "production"], ["staging"]),
    control_via_browser=st.one_of(st.booleans(), mostly([True], ["yes", 1])),
    control_cookie_header=st.one_of(
        st.none(), mostly(["AWSALB=abc; AWSALBCORS=abc"], ["a\r\nb", 5]), st.text(max_size=8)
    ),
    custom_claims=st.dictionaries(claim_names, claim_values, max_size=3),
)


def assert_obeys_spec(claims: dict, settings: SimpleNamespace, user_id: str, locale: str):
    assert claims["iss"] == settings.issuer and claims["iss"].strip()
    assert claims["sm-session-server"]
    via_browser = claims["sm-control-via-browser"]
    assert isinstance(via_browser, bool)
    if via_browser:
        assert settings.environment == "development"
        assert claims.get("sm-control")
    control = claims.get("sm-control")
    if control is not None:
        parts = urlsplit(control)
        assert parts.scheme in ("wss", "ws") and parts.hostname and parts.port != -1
        if parts.hostname in ("localhost", "127.0.0.1", "::1") or parts.scheme == "ws":
            assert via_browser
    for name in ("iat", "nbf", "exp"):
        assert type(claims[name]) is int
    assert claims["nbf"] <= claims["iat"] == NOW
    assert 60 <= claims["exp"] - claims["iat"] <= 86_400
    assert claims["user_id"] == user_id and claims["locale"] == locale
    assert claims["jti"]
    for name in set(claims) - VENDOR_CLAIMS:
        assert not name.lower().startswith("sm-")
    for name, value in settings.custom_claims.items():
        assert name.lower() not in RESERVED_CLAIMS
        assert claims[name] == value
    if "sm-control-cookie-header" in claims:
        cookie = claims["sm-control-cookie-header"]
        assert isinstance(cookie, str) and all(" " <= character <= "~" for character in cookie)
    json.dumps(claims, allow_nan=False)  # strict JSON, as the session server parses it


@settings(max_examples=300, deadline=None)
@given(settings=projects, user_id=st.uuids().map(str), leeway=st.integers(0, 300))
def test_a_token_obeys_every_rule_or_is_refused(settings, user_id, leeway):
    try:
        claims = build_claims(settings, user_id, "de-DE", now=NOW, nbf_leeway=leeway)
    except InvalidProject as refusal:
        assert refusal.problems and all(problem.field for problem in refusal.problems)
        return
    assert_obeys_spec(claims, settings, user_id, "de-DE")
    token = sign(claims, "s" * 64, settings.algorithm)
    decoded = jwt.decode(
        token,
        "s" * 64,
        algorithms=[settings.algorithm],
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert decoded == claims
