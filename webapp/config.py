"""Configuration in layers, later wins: built-in defaults, `instance/config.py`,
`FLASK_`-prefixed environment variables, then the test mapping given to `create_app`.

Settings that depend on the deployment (secure cookies, generated development secrets) are
only defaults: a layer that sets one explicitly wins.
"""

import os
import secrets
import string
import tempfile
from collections.abc import Callable, Mapping
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from flask import Config, Flask
from limits import parse_many
from sqlalchemy.engine import make_url

DEPLOYMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
METRICS_TOKEN_LENGTH = 16

DEFAULTS: dict[str, Any] = {
    "DEPLOYMENT": "production",
    "REGISTRATION_OPEN": True,
    "TOKEN_NBF_LEEWAY": 30,
    "TRUSTED_PROXIES": 0,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_NAME": "remember_token",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
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

HOW_TO_MAKE = {
    "SECRET_KEY": "python -c 'import secrets; print(secrets.token_hex(32))'",
    "SECRETS_ENCRYPTION_KEYS": (
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ),
}


class ConfigError(SystemExit):
    """The app refuses to start. A SystemExit, so servers and the CLI print the one-line
    message and exit non-zero instead of showing a traceback."""


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
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = with_connect_timeout(
        app.config["SQLALCHEMY_ENGINE_OPTIONS"], app.config["SQLALCHEMY_DATABASE_URI"]
    )
    for name in GENERATED_SECRETS:
        if not app.config.get(name):
            app.config[name] = missing_secret(name, deployment, app.instance_path)
    check_settings(app.config)
    check_secrets(app.config, production=deployment == "production")
    check_observability_settings(app.config)
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config["TRUSTED_HOSTS"])
    app.config["PUBLIC_URL"] = checked_public_url(app.config["PUBLIC_URL"])
    check_account_settings(app.config)


def checked_public_url(value: Any) -> str | None:
    """`https://tokens.example.com` (a path prefix is kept), without a trailing slash."""
    if value is None or value == "":
        return None
    problem = "PUBLIC_URL must be an http:// or https:// URL such as https://tokens.example.com"
    if not isinstance(value, str):
        raise ConfigError(f"{problem}, not {value!r}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ConfigError(f"{problem}, not {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{problem}, not {value!r}")
    return value.rstrip("/")


# Settings whose type and range the app relies on: (kind, lowest, highest).
CHECKED_SETTINGS: dict[str, tuple[type, int, int]] = {
    "REGISTRATION_OPEN": (bool, 0, 1),
    "TOKEN_NBF_LEEWAY": (int, 0, 300),
    "TRUSTED_PROXIES": (int, 0, 10),
    "HSTS_MAX_AGE": (int, 0, 2 * 365 * 24 * 3600),
    "MAX_CONTENT_LENGTH": (int, 1024, 1024 * 1024 * 1024),
    "RATELIMIT_ENABLED": (bool, 0, 1),
}

RATE_LIMITS = (
    "RATELIMIT_SIGN_IN_PER_ACCOUNT",
    "RATELIMIT_SIGN_IN_PER_ADDRESS",
    "RATELIMIT_REGISTER_PER_ADDRESS",
    "RATELIMIT_SETUP_PER_ADDRESS",
    "RATELIMIT_TOKEN_PER_USER",
    "RATELIMIT_RESET_PER_ADDRESS",
    "RATELIMIT_RESET_PER_EMAIL",
    "RATELIMIT_TWO_FACTOR_PER_ACCOUNT",
)


def check_settings(config: Config) -> None:
    """Refuse to start on a setting that would break every request later."""
    for name, (kind, lowest, highest) in CHECKED_SETTINGS.items():
        value = config[name]
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} must be true or false, not {value!r}")
        elif type(value) is not int or not lowest <= value <= highest:
            raise ConfigError(
                f"{name} must be a whole number from {lowest} to {highest}, not {value!r}"
            )
    for name in RATE_LIMITS:
        if not isinstance(config[name], str) or not valid_limit(config[name]):
            raise ConfigError(
                f"{name} must be a rate limit such as '10 per minute' or '5/minute;50/day', "
                f"not {config[name]!r}"
            )
    for name in ("RATELIMIT_STORAGE_URI", "RATELIMIT_KEY_PREFIX"):
        if not isinstance(config[name], str):
            raise ConfigError(f"{name} must be a string, not {config[name]!r}")


def valid_limit(text: str) -> bool:
    try:
        return bool(parse_many(text))
    except ValueError:
        return False


# Secrets are never JSON: `from_prefixed_env` would turn an all-digit key into an int.
SECRET_SETTINGS = ("SECRET_KEY", "SECRETS_ENCRYPTION_KEYS", "METRICS_TOKEN")
MIN_SECRET_LENGTH = 32


def check_secrets(config: Config, *, production: bool) -> None:
    """Refuse a secret of the wrong type or a guessable one. (The secret box checks that the
    encryption keys load, check_observability_settings the metrics token's length.)"""
    for name in SECRET_SETTINGS:
        value = config[name]
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, not a {type(value).__name__}")
    if production and len(config["SECRET_KEY"]) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too short to be secret: use at least {MIN_SECRET_LENGTH} random "
            f"characters, for example {HOW_TO_MAKE['SECRET_KEY']}"
        )


HOST_CHARACTERS = frozenset(string.ascii_letters + string.digits + ".-:[]")


def trusted_hosts(value: Any) -> list[str] | None:
    """TRUSTED_HOSTS as Flask wants it: a list of names (a leading dot admits subdomains).
    The environment may give a comma-separated string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(host, str) and host and set(host) <= HOST_CHARACTERS for host in value
        )
    ):
        raise ConfigError(
            f"TRUSTED_HOSTS must be host names separated by commas "
            f"('tokens.example.com,.example.org'), not {value!r}"
        )
    return value


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


def check_observability_settings(config: Config) -> None:
    level = config["LOG_LEVEL"]
    if not isinstance(level, str) or level.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    try:
        metrics_networks(config["METRICS_ALLOWED_NETWORKS"])
    except ValueError as error:
        raise ConfigError(
            f"METRICS_ALLOWED_NETWORKS must be comma-separated networks such as "
            f"127.0.0.0/8,::1: {error}"
        ) from None
    token = config["METRICS_TOKEN"]
    if token and (not isinstance(token, str) or len(token) < METRICS_TOKEN_LENGTH):
        raise ConfigError(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_LENGTH} characters; make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir is not None and not os.path.isdir(multiprocess_dir):
        raise ConfigError(
            f"PROMETHEUS_MULTIPROC_DIR is {multiprocess_dir!r}, which is not a directory"
        )


def metrics_networks(setting: object) -> tuple[IPv4Network | IPv6Network, ...]:
    """The networks in `METRICS_ALLOWED_NETWORKS`; a ValueError names the one that is wrong."""
    if not isinstance(setting, str):
        raise ValueError(f"not {setting!r}")
    networks = []
    for part in setting.split(","):
        if part.strip():
            networks.append(ip_network(part.strip()))  # its ValueError names the part
    return tuple(networks)


def check_account_settings(config: Config) -> None:
    """Mail, public URL and two-factor policy: wrong ones would only show when a reset
    mail fails to go, so they stop the start instead."""
    if config["ADMIN_TWO_FACTOR"] not in ("optional", "required"):
        raise ConfigError(
            f"ADMIN_TWO_FACTOR must be optional or required, not {config['ADMIN_TWO_FACTOR']!r}"
        )
    public_url = config["PUBLIC_URL"]  # already checked by checked_public_url
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL"):
        if not isinstance(config[name], bool):
            raise ConfigError(f"{name} must be true or false, not {config[name]!r}")
    if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
        raise ConfigError("Set MAIL_USE_TLS (STARTTLS) or MAIL_USE_SSL, not both.")
    port = config["MAIL_PORT"]
    if port is None:
        config["MAIL_PORT"] = (
            465 if config["MAIL_USE_SSL"] else 587 if config["MAIL_USE_TLS"] else 25
        )
    elif type(port) is not int or not 1 <= port <= 65535:
        raise ConfigError(f"MAIL_PORT must be a port number from 1 to 65535, not {port!r}")
    if config["MAIL_SERVER"]:
        if not config["MAIL_DEFAULT_SENDER"]:
            raise ConfigError(
                "MAIL_SERVER is set but MAIL_DEFAULT_SENDER (the From address) is not."
            )
        if public_url is None:
            raise ConfigError(
                "MAIL_SERVER is set but PUBLIC_URL is not: reset links need this service's "
                "public address, such as https://tokens.example.com."
            )


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
