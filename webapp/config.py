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
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from cryptography.fernet import Fernet
from flask import Config, Flask

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
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    for name in GENERATED_SECRETS:
        if not app.config.get(name):
            app.config[name] = missing_secret(name, deployment, app.instance_path)
    check_settings(app.config)
    check_observability_settings(app.config)


# Settings whose type and range the app relies on: (kind, lowest, highest).
CHECKED_SETTINGS: dict[str, tuple[type, int, int]] = {
    "REGISTRATION_OPEN": (bool, 0, 1),
    "TOKEN_NBF_LEEWAY": (int, 0, 300),
    "TRUSTED_PROXIES": (int, 0, 10),
    "HSTS_MAX_AGE": (int, 0, 2 * 365 * 24 * 3600),
}


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


def explicit_settings(app: Flask, test_config: Mapping[str, Any] | None) -> Config:
    """Everything set on purpose, by a file, the environment or a test."""
    given = Config(app.instance_path)
    given.from_pyfile("config.py", silent=True)
    if os.environ.get("DATABASE_URL"):
        given["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    given.from_prefixed_env()
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
    }


def normalise_database_url(url: str) -> str:
    """Hosting platforms hand out `postgres://` URLs; this app speaks psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


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
