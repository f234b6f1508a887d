"""The checks every setting passes at start: a wrong type, range or weak secret stops the app
with one line (a ConfigError), rather than breaking every request later."""

import os
import string
from datetime import timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit

from flask import Config
from limits import parse_many

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
METRICS_TOKEN_LENGTH = 16
# How to make each secret production must be given, for the message that asks for it.
HOW_TO_MAKE = {
    "SECRET_KEY": "python -c 'import secrets; print(secrets.token_hex(32))'",
    "SECRETS_ENCRYPTION_KEYS": (
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ),
}


class ConfigError(SystemExit):
    """The app refuses to start. A SystemExit, so servers and the CLI print the one-line
    message and exit non-zero instead of showing a traceback."""


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
    "TOKEN_STALE_IF_ERROR": (int, 0, 24 * 3600),
    "USAGE_RETENTION_DAYS": (int, 1, 3660),
    "TRUSTED_PROXIES": (int, 0, 10),
    "HSTS_MAX_AGE": (int, 0, 2 * 365 * 24 * 3600),
    "MAX_CONTENT_LENGTH": (int, 1024, 1024 * 1024 * 1024),
    "RATELIMIT_ENABLED": (bool, 0, 1),
    "OIDC_KEYS_REFRESH_INTERVAL": (int, 0, 3600),
    "OIDC_FETCH_TIMEOUT": (int, 1, 60),
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


# `webapp-serve` tells its workers how many of them there are (webapp.serve).
WORKERS_VARIABLE = "WEBAPP_SERVE_WORKERS"


def check_rate_limit_storage(config: Config, *, production: bool) -> None:
    """A per-process store (`memory://`) counts each worker alone, so N workers would allow
    N times every brute-force limit: production refuses that rather than promise limits it
    cannot keep. One worker, a shared store, or limits turned off are all honest."""
    workers = os.environ.get(WORKERS_VARIABLE, "1")
    shared = not config["RATELIMIT_STORAGE_URI"].startswith("memory://")
    if not production or shared or not config["RATELIMIT_ENABLED"] or workers in ("", "1"):
        return
    raise ConfigError(
        f"RATELIMIT_STORAGE_URI is memory://, which each of the {workers} workers would count "
        "alone: set FLASK_RATELIMIT_STORAGE_URI=redis://… (shared by every worker and "
        "instance) or run one worker (WORKERS=1)."
    )


# Cookie lifetimes, in seconds from the environment: (lowest, highest).
DURATIONS = {
    "PERMANENT_SESSION_LIFETIME": (1, 400 * 24 * 3600),
    "REMEMBER_COOKIE_DURATION": (1, 400 * 24 * 3600),
}


def check_durations(config: Config) -> None:
    """Seconds (the environment's form) or a timedelta; kept as a timedelta."""
    for name, (lowest, highest) in DURATIONS.items():
        value = config[name]
        seconds = value.total_seconds() if isinstance(value, timedelta) else value
        if type(seconds) not in (int, float) or not lowest <= seconds <= highest:
            raise ConfigError(
                f"{name} must be a number of seconds from {lowest} to {highest}, not {value!r}"
            )
        config[name] = timedelta(seconds=seconds)


def valid_limit(text: str) -> bool:
    try:
        return bool(parse_many(text))
    except ValueError:
        return False


# Secrets are never JSON: `from_prefixed_env` would turn an all-digit key into an int.
SECRET_SETTINGS = ("SECRET_KEY", "SECRETS_ENCRYPTION_KEYS", "METRICS_TOKEN", "SSO_CLIENT_SECRET")


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


def check_observability_settings(config: Config) -> None:
    level = config["LOG_LEVEL"]
    if not isinstance(level, str) or level.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    try:
        parse_networks(config["METRICS_ALLOWED_NETWORKS"])
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


def address_in_networks(text: str | None, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    """Whether a peer's address (REMOTE_ADDR) lies in one of the networks."""
    try:
        address: IPv4Address | IPv6Address = ip_address(text or "")
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack socket reports IPv4 clients this way
    return any(address in network for network in networks)


def check_proxy_settings(config: Config) -> None:
    """Forwarded headers are believed only from the proxies' own addresses, as nginx's
    set_real_ip_from: with TRUSTED_PROXIES set, TRUSTED_PROXY_NETWORKS must say where they
    are, or any client reaching the app directly could claim any address."""
    networks = config["TRUSTED_PROXY_NETWORKS"]
    if config["TRUSTED_PROXIES"] and not networks:
        raise ConfigError(
            f"TRUSTED_PROXIES is {config['TRUSTED_PROXIES']}, so set TRUSTED_PROXY_NETWORKS to "
            "the proxies' addresses or networks (for nginx on this machine: 127.0.0.1,::1); "
            "forwarded headers from any other peer are ignored."
        )
    try:
        parse_networks(networks or "")
    except ValueError as error:
        raise ConfigError(
            f"TRUSTED_PROXY_NETWORKS must be comma-separated addresses or networks such as "
            f"10.0.0.5,192.168.0.0/24: {error}"
        ) from None


def parse_networks(setting: object) -> tuple[IPv4Network | IPv6Network, ...]:
    """The networks in a setting such as `METRICS_ALLOWED_NETWORKS`; a ValueError names the one
    that is wrong."""
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
