"""The mail, public URL and two-factor settings are checked when the app starts."""

import pytest
from helpers import ENCRYPTION_KEY

from webapp import create_app
from webapp.config import ConfigError

PRODUCTION = {"SECRET_KEY": "s" * 64, "SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY}
MAIL = {"MAIL_SERVER": "smtp.example.com", "MAIL_DEFAULT_SENDER": "tokens@example.com"}


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("PORT", "8080")
    development = create_app({"DEPLOYMENT": "development"}, instance_path=str(tmp_path / "d"))
    assert development.config["PUBLIC_URL"] == "http://127.0.0.1:8080"
    production = create_app(PRODUCTION, instance_path=str(tmp_path / "p"))
    assert production.config["PUBLIC_URL"] is None
    assert production.config["MAIL_SERVER"] is None
    assert production.config["MAIL_PORT"] == 25
    assert production.config["ADMIN_TWO_FACTOR"] == "optional"


@pytest.mark.parametrize(
    "settings, port",
    [({"MAIL_USE_TLS": True}, 587), ({"MAIL_USE_SSL": True}, 465), ({"MAIL_PORT": 2525}, 2525)],
)
def test_the_mail_port_follows_the_mode(tmp_path, settings, port):
    given = {**PRODUCTION, **MAIL, "PUBLIC_URL": "https://tokens.example.com/", **settings}
    app = create_app(given, instance_path=str(tmp_path))
    assert app.config["MAIL_PORT"] == port
    assert app.config["PUBLIC_URL"] == "https://tokens.example.com"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({**MAIL}, "PUBLIC_URL is not"),
        ({"MAIL_SERVER": "smtp.example.com", "PUBLIC_URL": "https://t.example"}, "MAIL_DEFAULT"),
        ({"PUBLIC_URL": "tokens.example.com"}, "PUBLIC_URL must be an http"),
        ({"PUBLIC_URL": "javascript:alert(1)"}, "PUBLIC_URL must be an http"),
        ({"MAIL_USE_TLS": True, "MAIL_USE_SSL": True}, "not both"),
        ({"MAIL_USE_TLS": "yes"}, "MAIL_USE_TLS must be true or false"),
        ({"MAIL_PORT": 70000}, "MAIL_PORT must be"),
        ({"MAIL_PORT": "25"}, "MAIL_PORT must be"),
        ({"ADMIN_TWO_FACTOR": "always"}, "ADMIN_TWO_FACTOR must be optional or required"),
    ],
)
def test_wrong_settings_stop_the_start(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=message):
        create_app({**PRODUCTION, **settings}, instance_path=str(tmp_path))
