import os
import stat
import subprocess
import sys

import pytest
from helpers import ENCRYPTION_KEY

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
    app = create_app({**PRODUCTION_SECRETS, "TRUSTED_PROXIES": 1}, instance_path=str(tmp_path))
    assert type(app.wsgi_app).__name__ == "ProxyFix"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FLASK_TOKEN_NBF_LEEWAY", "abc", "TOKEN_NBF_LEEWAY must be a whole number from 0 to 300"),
        ("FLASK_TOKEN_NBF_LEEWAY", "-5", "TOKEN_NBF_LEEWAY must be a whole number from 0 to 300"),
        ("FLASK_REGISTRATION_OPEN", "no", "REGISTRATION_OPEN must be true or false, not 'no'"),
        ("FLASK_TRUSTED_PROXIES", "true", "TRUSTED_PROXIES must be a whole number"),
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
