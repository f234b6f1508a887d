"""The identity providers' published keys (JWKS), fetched through their discovery documents
and kept in memory per worker, so that in steady state no token costs a request to a provider.

Not PyJWT's `PyJWKClient` cache, for two documented behaviours of it: it fetches again on
every unknown `kid` (a stream of forged tokens would become a stream of requests to the
provider), and once its cache's lifespan is over, a provider that is down makes every
lookup fail, though the keys it had are still valid. Here, per provider:
- the keys are fetched on first use and kept; an unknown `kid` fetches again at most once per
  `OIDC_KEYS_REFRESH_INTERVAL` (60 s); keys older than KEYS_FRESH_FOR are fetched again on
  the next use, under the same limit;
- a failed fetch keeps the keys there are: known keys keep working while the provider is away,
  and an unknown `kid` is ProviderUnavailable (503) until a fetch succeeds;
- each fetch has a timeout (`OIDC_FETCH_TIMEOUT`), so a hanging provider costs one request
  that long, not a hang.
The keys are parsed by PyJWT (`PyJWKSet`); only public keys of the accepted algorithms count.
"""

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from webapp.rules.bearer_tokens import ALGORITHMS, BearerRefused
from webapp.rules.identity_providers import discovery_problem, discovery_url
from webapp.rules.problems import Problem

KEYS_FRESH_FOR = 15 * 60.0
MAX_DOCUMENT = 1024 * 1024  # bytes: a discovery document or key set is a few KiB


class ProviderUnavailable(Exception):
    """The provider's keys cannot be fetched now; the message is for the log."""


class ProviderRefused(Exception):
    """What the provider publishes is not usable: a Problem for the admin."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A provider's documents are fetched where it says, not wherever a redirect points."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def fetch_json(url: str, timeout: float) -> object:
    # Only URLs the rules admitted (https://, or http:// on this machine) come here.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_DOCUMENT + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        # URLError and HTTPError (a 3xx, 4xx or 5xx), refused or reset connections, timeouts.
        raise ProviderUnavailable(f"{url}: {error}") from None
    if len(body) > MAX_DOCUMENT:
        raise ProviderUnavailable(f"{url}: larger than {MAX_DOCUMENT:,} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise ProviderUnavailable(f"{url}: not JSON") from None


def signing_keys(document: object) -> dict[str | None, PyJWK]:
    """The usable public signing keys of a JWKS document, by kid."""
    if not isinstance(document, dict):
        raise ProviderRefused(Problem("oidc_issuer", "no_keys"))
    try:
        key_set = PyJWKSet.from_dict(document)
    except (PyJWKSetError, PyJWKError):
        raise ProviderRefused(Problem("oidc_issuer", "no_keys")) from None
    keys = {
        key.key_id: key
        for key in key_set.keys
        if key.algorithm_name in ALGORITHMS
        and key.public_key_use in (None, "sig")
        and not hasattr(key.key, "private_bytes")  # a published private key: refused
    }
    if not keys:
        raise ProviderRefused(Problem("oidc_issuer", "no_keys"))
    return keys


def fetch_keys(issuer: str, timeout: float) -> dict[str | None, PyJWK]:
    """Discovery, then the key set it names. ProviderUnavailable when either cannot be
    fetched; ProviderRefused when what was fetched is not usable."""
    document = fetch_json(discovery_url(issuer), timeout)
    if problem := discovery_problem(issuer, document):
        raise ProviderRefused(problem)
    assert isinstance(document, dict)  # for mypy: discovery_problem said so
    return signing_keys(fetch_json(document["jwks_uri"], timeout))


def probe(issuer: str, timeout: float) -> Problem | None:
    """Why a provider cannot be trusted now (checked when a project is saved), or None."""
    try:
        fetch_keys(issuer, timeout)
    except ProviderUnavailable as error:
        return Problem("oidc_issuer", "unreachable", {"error": str(error)[:300]})
    except ProviderRefused as refused:
        return refused.problem
    return None


@dataclass
class CachedKeys:
    keys: dict[str | None, PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None
    attempted_at: float | None = None
    failed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class ProviderKeys:
    """One per app: every provider's keys, in this worker."""

    def __init__(self, refresh_interval: float, timeout: float, clock: Callable[[], float]):
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self.clock = clock
        self._cached: dict[str, CachedKeys] = {}
        self._lock = threading.Lock()

    def key(self, issuer: str, kid: str | None, algorithm: str) -> PyJWK:
        """The provider's key; BearerRefused for an unknown key, ProviderUnavailable when it
        may exist but the provider cannot be asked."""
        cached = self.cached(issuer)
        now = self.clock()
        stale = cached.fetched_at is None or now - cached.fetched_at > KEYS_FRESH_FOR
        key = find(cached.keys, kid, algorithm)
        if key is None or stale:
            self.refresh(issuer, cached, now, quietly=key is not None)
            key = find(cached.keys, kid, algorithm)
        if key is not None:
            return key
        if cached.failed:
            raise ProviderUnavailable(f"the keys of {issuer} cannot be fetched now")
        raise BearerRefused(
            "unknown_key",
            f"The provider publishes no key {str(kid)[:100]!r} for {algorithm}: was the token "
            "issued by another provider, or another tenant of it?",
        )

    def cached(self, issuer: str) -> CachedKeys:
        with self._lock:
            return self._cached.setdefault(issuer, CachedKeys())

    def refresh(self, issuer: str, cached: CachedKeys, now: float, *, quietly: bool) -> None:
        """Fetch the keys again unless an attempt was made within the refresh interval. A
        failure keeps the keys there are; `quietly` when a known key is still at hand."""
        with cached.lock:
            if (
                cached.attempted_at is not None
                and now - cached.attempted_at < self.refresh_interval
            ):
                return
            cached.attempted_at = now
            try:
                keys = fetch_keys(issuer, self.timeout)
            except (ProviderUnavailable, ProviderRefused) as error:
                cached.failed = True
                if not quietly:
                    raise ProviderUnavailable(str(error)) from None
                return
            cached.keys, cached.fetched_at, cached.failed = keys, self.clock(), False


def find(keys: dict[str | None, PyJWK], kid: str | None, algorithm: str) -> PyJWK | None:
    """By kid; a token without one matches only a provider's one key for its algorithm."""
    if kid is not None:
        return keys.get(kid)
    candidates = [key for key in keys.values() if key.algorithm_name == algorithm]
    return candidates[0] if len(candidates) == 1 else None


def provider_keys(app: Flask) -> ProviderKeys:
    keys: ProviderKeys = app.extensions["provider_keys"]
    return keys


def init_app(app: Flask) -> None:
    app.extensions["provider_keys"] = ProviderKeys(
        app.config["OIDC_KEYS_REFRESH_INTERVAL"], app.config["OIDC_FETCH_TIMEOUT"], time.monotonic
    )
