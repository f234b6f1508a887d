import os
import stat
import subprocess
import sys

import pytest
from helpers import ENCRYPTION_KEY, PASSWORD, csrf_token_from

from webapp import create_app
from webapp.config import ConfigError

PRODUCTION_SECRETS = {"SECRET_KEY": "s" * 64, "SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY}


def test_defaults_are_production(tmp_path):
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["DEPLOYMENT"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REGISTRATION_OPEN"] is True
    assert app.config["TOKEN_NBF_LEEWAY"] == 30
    assert app.config["TRUSTED_PROXIES"] == 0
    assert app.config["HSTS_MAX_AGE"] == 31_536_000
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'webapp.sqlite3'}"
    assert not app.testing


def test_test_config_wins(tmp_path):
    app = create_app(
        {**PRODUCTION_SECRETS, "TESTING": True, "TOKEN_NBF_LEEWAY": 5},
        instance_path=str(tmp_path),
    )
    assert app.testing
    assert app.config["TOKEN_NBF_LEEWAY"] == 5


def test_layers_in_order(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("REGISTRATION_OPEN = False\nTOKEN_NBF_LEEWAY = 10\n")
    monkeypatch.setenv("FLASK_TOKEN_NBF_LEEWAY", "20")
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["REGISTRATION_OPEN"] is False  # instance/config.py over the default
    assert app.config["TOKEN_NBF_LEEWAY"] == 20  # environment over instance/config.py


def test_explicit_setting_beats_deployment_default(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_SESSION_COOKIE_SECURE", "false")
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize("missing", ["SECRET_KEY", "SECRETS_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_a_secret(tmp_path, missing):
    given = {name: value for name, value in PRODUCTION_SECRETS.items() if name != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set.*FLASK_{missing}") as refusal:
        create_app(given, instance_path=str(tmp_path))
    assert "\n" not in str(refusal.value)
    assert not (tmp_path / "secret_key").exists()


def test_refusal_is_one_line_without_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    script = f"from webapp import create_app; create_app(instance_path={str(tmp_path)!r})"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("SECRET_KEY is not set")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_development_generates_secrets_once(tmp_path):
    first = create_app({"DEPLOYMENT": "development"}, instance_path=str(tmp_path))
    second = create_app({"DEPLOYMENT": "development"}, instance_path=str(tmp_path))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRETS_ENCRYPTION_KEYS"] == second.config["SECRETS_ENCRYPTION_KEYS"]
    for name in ("secret_key", "secrets_encryption_keys"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert first.config["SESSION_COOKIE_SECURE"] is False


def test_development_keeps_a_given_secret(tmp_path):
    app = create_app(
        {"DEPLOYMENT": "development", "SECRET_KEY": "given"}, instance_path=str(tmp_path)
    )
    assert app.config["SECRET_KEY"] == "given"
    assert not (tmp_path / "secret_key").exists()


def test_unknown_deployment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="DEPLOYMENT must be one of development, production"):
        create_app({**PRODUCTION_SECRETS, "DEPLOYMENT": "staging"}, instance_path=str(tmp_path))


def test_malformed_encryption_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key"):
        create_app(
            {**PRODUCTION_SECRETS, "SECRETS_ENCRYPTION_KEYS": f"{ENCRYPTION_KEY},not-a-key"},
            instance_path=str(tmp_path),
        )


def test_database_url_alias(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.internal/issuer")
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db.internal/issuer"


def test_flask_prefixed_database_uri_beats_the_alias(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal/issuer")
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", "sqlite:///explicit.sqlite3")
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///explicit.sqlite3"


def test_trusted_proxies_wraps_the_app(tmp_path):
    settings = {**PRODUCTION_SECRETS, "TRUSTED_PROXIES": 1, "TRUSTED_PROXY_NETWORKS": "::1"}
    app = create_app(settings, instance_path=str(tmp_path))
    assert type(app.wsgi_app).__name__ == "TrustedProxyFix"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FLASK_TOKEN_NBF_LEEWAY", "abc", "TOKEN_NBF_LEEWAY must be a whole number from 0 to 300"),
        ("FLASK_TOKEN_NBF_LEEWAY", "-5", "TOKEN_NBF_LEEWAY must be a whole number from 0 to 300"),
        ("FLASK_REGISTRATION_OPEN", "no", "REGISTRATION_OPEN must be true or false, not 'no'"),
        ("FLASK_TRUSTED_PROXIES", "true", "TRUSTED_PROXIES must be a whole number"),
        ("FLASK_USAGE_RETENTION_DAYS", "0", "USAGE_RETENTION_DAYS must be a whole number from 1"),
        ("FLASK_USAGE_RETENTION_DAYS", '"90"', "USAGE_RETENTION_DAYS must be a whole number"),
    ],
)
def test_a_bad_setting_is_refused_at_start(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))


def test_hsts_only_in_production_and_over_https(tmp_path, make_app):
    production = create_app(
        {**PRODUCTION_SECRETS, "TESTING": True}, instance_path=str(tmp_path)
    ).test_client()
    over_https = production.get("/ping", base_url="https://tokens.example.com")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    over_http = production.get("/ping", base_url="http://tokens.example.com")
    assert "Strict-Transport-Security" not in over_http.headers
    development = make_app().test_client()
    assert "Strict-Transport-Security" not in development.get("/ping", base_url="https://x").headers


def test_flask_shell_knows_the_models(app):
    with app.app_context():
        names = app.make_shell_context()
    assert {"db", "User", "Project", "AuditEvent"} <= names.keys()


@pytest.mark.parametrize(
    ("secret_key", "message"),
    [
        ("x", "SECRET_KEY is too short to be secret"),
        ("s" * 31, "SECRET_KEY is too short to be secret"),
    ],
)
def test_production_refuses_a_weak_secret_key(tmp_path, monkeypatch, secret_key, message):
    monkeypatch.setenv("FLASK_SECRET_KEY", secret_key)
    given = {"SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY}
    with pytest.raises(ConfigError, match=message) as refusal:
        create_app(given, instance_path=str(tmp_path))
    assert "\n" not in str(refusal.value)


def test_an_all_digit_secret_key_is_taken_as_written(tmp_path, monkeypatch):
    """Flask's prefixed environment parses values as JSON: digits would become an int."""
    digits = "0123456789" * 4
    monkeypatch.setenv("FLASK_SECRET_KEY", digits[1:])  # no leading zero: valid JSON number
    monkeypatch.setenv("FLASK_SECRETS_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == digits[1:]
    with app.test_request_context():
        from flask import session

        session["x"] = 1  # signing works: the key is a string
    assert app.test_client().get("/login").status_code == 200


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SECRET_KEY": 12345678901234567890123456789012345}, "SECRET_KEY must be a string"),
        ({"SECRETS_ENCRYPTION_KEYS": ["a", "b"]}, "SECRETS_ENCRYPTION_KEYS must be a string"),
        ({"SECRETS_ENCRYPTION_KEYS": "not-a-key"}, "key 1 is not a Fernet key"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must be at least"),
        ({"METRICS_TOKEN": 10**40}, "METRICS_TOKEN must be a string"),
    ],
)
def test_every_secret_is_type_and_strength_checked(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=message) as refusal:
        create_app({**PRODUCTION_SECRETS, **settings}, instance_path=str(tmp_path))
    assert "\n" not in str(refusal.value)


def test_an_all_digit_metrics_token_from_the_environment_stays_a_string(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_METRICS_TOKEN", "9" * 40)
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["METRICS_TOKEN"] == "9" * 40


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MAX_CONTENT_LENGTH": "big"}, "MAX_CONTENT_LENGTH must be a whole number"),
        ({"MAX_CONTENT_LENGTH": 0}, "MAX_CONTENT_LENGTH must be a whole number"),
        ({"TRUSTED_HOSTS": "bad host/"}, "TRUSTED_HOSTS must be host names"),
        ({"TRUSTED_HOSTS": 5}, "TRUSTED_HOSTS must be host names"),
        ({"RATELIMIT_SIGN_IN_PER_ACCOUNT": "lots"}, "RATELIMIT_SIGN_IN_PER_ACCOUNT must be a"),
        ({"RATELIMIT_TOKEN_PER_USER": 100}, "RATELIMIT_TOKEN_PER_USER must be a rate limit"),
        ({"RATELIMIT_ENABLED": "yes"}, "RATELIMIT_ENABLED must be true or false"),
    ],
)
def test_hardening_settings_are_checked_at_start(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=message):
        create_app({**PRODUCTION_SECRETS, **settings}, instance_path=str(tmp_path))


def test_trusted_hosts_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_TRUSTED_HOSTS", "tokens.example.com, .example.org")
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["TRUSTED_HOSTS"] == ["tokens.example.com", ".example.org"]


def test_secure_cookies_get_the_host_prefix(tmp_path, monkeypatch):
    app = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["REMEMBER_COOKIE_NAME"] == "__Host-remember_token"
    monkeypatch.setenv("FLASK_SESSION_COOKIE_SECURE", "false")
    plain = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert plain.config["SESSION_COOKIE_NAME"] == "session"  # a __Host- cookie needs Secure
    assert plain.config["REMEMBER_COOKIE_NAME"] == "__Host-remember_token"
    named = create_app(
        {**PRODUCTION_SECRETS, "SESSION_COOKIE_NAME": "sid", "REMEMBER_COOKIE_DOMAIN": "x.org"},
        instance_path=str(tmp_path),
    )
    assert named.config["SESSION_COOKIE_NAME"] == "sid"  # an explicit name wins
    assert named.config["REMEMBER_COOKIE_NAME"] == "remember_token"  # Domain rules it out


def test_host_prefixed_cookies_are_set_over_https(make_app, make_user):
    app = make_app(DEPLOYMENT="production", SECRET_KEY="s" * 64)
    user = make_user()
    client = app.test_client()
    base = "https://tokens.example.com"
    page = client.get("/login", base_url=base).get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "email": user.email, "password": PASSWORD}
    response = client.post(
        "/login",
        base_url=base,
        data={**data, "remember": "y"},
        headers={"Referer": f"{base}/login"},  # Flask-WTF checks it over HTTPS
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("__Host-session=") and "Secure" in c and "Path=/" in c for c in cookies)
    assert any(c.startswith("__Host-remember_token=") and "Secure" in c for c in cookies)
    assert client.get("/account", base_url=base).status_code == 200


def test_public_url_defaults(tmp_path, monkeypatch):
    production = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert production.config["PUBLIC_URL"] is None  # never guessed from a request
    monkeypatch.setenv("PORT", "8123")
    development = create_app(
        {**PRODUCTION_SECRETS, "DEPLOYMENT": "development"}, instance_path=str(tmp_path)
    )
    assert development.config["PUBLIC_URL"] == "http://127.0.0.1:8123"
    monkeypatch.setenv("FLASK_PUBLIC_URL", "https://tokens.example.com/")
    configured = create_app(PRODUCTION_SECRETS, instance_path=str(tmp_path))
    assert configured.config["PUBLIC_URL"] == "https://tokens.example.com"


@pytest.mark.parametrize(
    "value", ["tokens.example.com", "ftp://tokens.example.com", "https://", "https://a.b?x=1", 5]
)
def test_a_public_url_that_is_not_one_stops_the_start(tmp_path, value):
    with pytest.raises(ConfigError, match="^PUBLIC_URL must be an http:// or https:// URL"):
        create_app({**PRODUCTION_SECRETS, "PUBLIC_URL": value}, instance_path=str(tmp_path))
