"""Configuration in layers, later wins: built-in defaults, `instance/config.py`,
`FLASK_`-prefixed environment variables, then the test mapping given to `create_app`.

Settings that depend on the deployment (secure cookies, generated development secrets) are
only defaults: a layer that sets one explicitly wins.
"""

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet
from flask import Config, Flask
from sqlalchemy.engine import make_url

from webapp.config_checks import (
    HOW_TO_MAKE,
    SECRET_SETTINGS,
    ConfigError,
    check_account_settings,
    check_durations,
    check_observability_settings,
    check_proxy_settings,
    check_rate_limit_storage,
    check_secrets,
    check_settings,
    checked_public_url,
    trusted_hosts,
)

__all__ = ["ConfigError", "load_config"]

DEPLOYMENTS = ("development", "production")

DEFAULTS: dict[str, Any] = {
    "DEPLOYMENT": "production",
    "REGISTRATION_OPEN": True,
    "TOKEN_NBF_LEEWAY": 30,
    # Seconds a visitor's last read may serve tokens while the database cannot be reached.
    "TOKEN_STALE_IF_ERROR": 300,
    "USAGE_RETENTION_DAYS": 90,
    "TRUSTED_PROXIES": 0,
    # The proxies' own addresses or networks: forwarded headers from any other peer are ignored.
    "TRUSTED_PROXY_NETWORKS": None,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_NAME": "remember_token",
    "REMEMBER_COOKIE_HTTPONLY": True,
    # How long a remember-me cookie signs in, from the sign-in that made it (signed inside).
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
    # The session length: a session cookie is accepted this long after it was last written
    # (Flask's setting; it bounds every session cookie's signature, not only "permanent" ones).
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    # hide_parameters keeps bound values (password hashes, encrypted keys, emails) out of
    # engine errors, and so out of every log and traceback.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "LOG_LEVEL": "INFO",
    "METRICS_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
    "METRICS_TOKEN": "",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Host names the app answers to (`Host`, or `X-Forwarded-Host` behind trusted proxies);
    # None answers any, which only a proxy that checks the name itself makes safe.
    "TRUSTED_HOSTS": None,
    # Brute-force limits (Flask-Limiter): one counter store shared by every instance.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_KEY_PREFIX": "webapp",
    # A storage failure surfaces as limits' StorageError, answered 503 (rate_limits.py).
    "RATELIMIT_STORAGE_OPTIONS": {"wrap_exceptions": True},
    "RATELIMIT_SIGN_IN_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_SIGN_IN_PER_ADDRESS": "30 per 15 minutes",
    "RATELIMIT_REGISTER_PER_ADDRESS": "10 per hour",
    "RATELIMIT_SETUP_PER_ADDRESS": "20 per hour",
    "RATELIMIT_TOKEN_PER_USER": "120 per minute",
    "RATELIMIT_RESET_PER_ADDRESS": "10 per hour",
    "RATELIMIT_RESET_PER_EMAIL": "3 per hour",
    "RATELIMIT_TWO_FACTOR_PER_ACCOUNT": "10 per 15 minutes",
    "ADMIN_TWO_FACTOR": "optional",
    # Identity providers' keys: fetched again on an unknown kid at most this often (s), and
    # how long a fetch may take (s) before the token request answers 503.
    "OIDC_KEYS_REFRESH_INTERVAL": 60,
    "OIDC_FETCH_TIMEOUT": 5,
    # Single sign-on with one OpenID Connect provider (webapp/auth/sso.py): off unless set.
    "SSO_ISSUER": None,
    "SSO_CLIENT_ID": None,
    "SSO_CLIENT_SECRET": None,
    "SSO_NAME": "your organisation's sign-in",
    "MAIL_SERVER": None,
    "MAIL_PORT": None,  # by the mode: 465 with SSL, 587 with STARTTLS, else 25
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": None,
}

# Secrets that production must be given and development generates once into instance/.
GENERATED_SECRETS = {
    "SECRET_KEY": ("secret_key", lambda: secrets.token_hex(32)),
    "SECRETS_ENCRYPTION_KEYS": (
        "secrets_encryption_keys",
        lambda: Fernet.generate_key().decode("ascii"),
    ),
}


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    given = explicit_settings(app, test_config)
    deployment = given.get("DEPLOYMENT", DEFAULTS["DEPLOYMENT"])
    if deployment not in DEPLOYMENTS:
        raise ConfigError(f"DEPLOYMENT must be one of {', '.join(DEPLOYMENTS)}, not {deployment!r}")

    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(deployment_defaults(deployment, app.instance_path))
    app.config.from_mapping(given)
    # Engine options given are added to the defaults, so hide_parameters is kept unless
    # it is turned off by name.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"],
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    app.config.from_mapping(host_only_cookie_names(app.config, given))
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    check_database_driver(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = with_connect_timeout(
        app.config["SQLALCHEMY_ENGINE_OPTIONS"], app.config["SQLALCHEMY_DATABASE_URI"]
    )
    for name in GENERATED_SECRETS:
        if not app.config.get(name):
            app.config[name] = missing_secret(name, deployment, app.instance_path)
    check_settings(app.config)
    check_durations(app.config)
    check_secrets(app.config, production=deployment == "production")
    check_rate_limit_storage(app.config, production=deployment == "production")
    check_observability_settings(app.config)
    check_proxy_settings(app.config)
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config["TRUSTED_HOSTS"])
    app.config["PUBLIC_URL"] = checked_public_url(app.config["PUBLIC_URL"])
    check_account_settings(app.config)


def host_only_cookie_names(config: Config, given: Config) -> dict[str, str]:
    """Secure cookies get the `__Host-` prefix, so no sibling subdomain can set or shadow
    them. Browsers drop such a cookie unless it has Path=/ and no Domain, so a cookie with
    either, or a name given explicitly, keeps its name."""
    names = {}
    for kind, name in (("SESSION", "__Host-session"), ("REMEMBER", "__Host-remember_token")):
        path = config.get(f"{kind}_COOKIE_PATH") or config["APPLICATION_ROOT"]
        host_only = path == "/" and not config.get(f"{kind}_COOKIE_DOMAIN")
        secure = config[f"{kind}_COOKIE_SECURE"] is True
        if secure and host_only and f"{kind}_COOKIE_NAME" not in given:
            names[f"{kind}_COOKIE_NAME"] = name
    return names


def explicit_settings(app: Flask, test_config: Mapping[str, Any] | None) -> Config:
    """Everything set on purpose, by a file, the environment or a test."""
    given = Config(app.instance_path)
    given.from_pyfile("config.py", silent=True)
    if os.environ.get("DATABASE_URL"):
        given["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    given.from_prefixed_env()
    for name in SECRET_SETTINGS:
        if f"FLASK_{name}" in os.environ:
            given[name] = os.environ[f"FLASK_{name}"]
    if test_config:
        given.from_mapping(test_config)
    return given


def deployment_defaults(deployment: str, instance_path: str) -> dict[str, Any]:
    production = deployment == "production"
    database = os.path.join(instance_path, "webapp.sqlite3")
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "HSTS_MAX_AGE": 365 * 24 * 3600 if production else 0,
        # Production must be told its public address; it is never guessed from a request.
        "PUBLIC_URL": None if production else f"http://127.0.0.1:{os.environ.get('PORT', '5000')}",
    }


def normalise_database_url(url: str) -> str:
    """Hosting platforms hand out `postgres://` URLs; this app speaks psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_database_driver(url: str) -> None:
    """PostgreSQL needs psycopg, an extra (`[postgres]`) a checkout's plain `.venv` lacks:
    one line saying what to install, rather than a ModuleNotFoundError traceback."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    try:
        import psycopg  # noqa: F401  (only to see that it is there)
    except ImportError:
        raise ConfigError(
            "The database is PostgreSQL, but its driver (psycopg) is not installed: in a "
            "checkout run `make serve` (it installs it), or `pip install 'psycopg[binary]'`."
        ) from None


# Seconds to wait for PostgreSQL to accept a connection. libpq waits forever by default, so a
# database host that drops packets would hold every request (and the health check) until the
# proxy gave up; with a bound, each answers 503 instead.
DATABASE_CONNECT_TIMEOUT = 5


def with_connect_timeout(options: Mapping[str, Any], url: str) -> dict[str, Any]:
    """PostgreSQL connections get a connect timeout unless the URL (`?connect_timeout=`) or
    `connect_args` gives one."""
    parsed = make_url(url)
    # SQLite opens a file and knows no such argument.
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return dict(options)
    connect_args = {"connect_timeout": DATABASE_CONNECT_TIMEOUT, **options.get("connect_args", {})}
    return {**options, "connect_args": connect_args}


def missing_secret(name: str, deployment: str, instance_path: str) -> str:
    if deployment == "production":
        raise ConfigError(
            f"{name} is not set: production needs it. Make one with {HOW_TO_MAKE[name]} "
            f"and set it as FLASK_{name}."
        )
    filename, make = GENERATED_SECRETS[name]
    return read_or_create_secret(os.path.join(instance_path, filename), make)


def read_or_create_secret(path: str, make: Callable[[], str]) -> str:
    """Create the file once (mode 0600); every later start, and every worker, reads it.

    The value is written to a private temporary file and linked into place, so a worker
    starting at the same moment never reads a half-written secret.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        descriptor, draft = tempfile.mkstemp(dir=os.path.dirname(path))  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(make() + "\n")
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won the race; use its value
        finally:
            os.unlink(draft)
    with open(path, encoding="ascii") as file:
        return file.read().strip()
