"""Prometheus metrics, read on `/metrics` by ops only.

With `PROMETHEUS_MULTIPROC_DIR` set (the production server sets it to a fresh folder), every
worker process writes its values to files there and `/metrics` adds them up, whichever worker
answers. Without it, each app counts in its own registry.
"""

import hmac
import os
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

from webapp.config_checks import address_in_networks, parse_networks
from webapp.observability.usage import UsageCounter

bp = Blueprint("metrics", __name__)
# Labels are bounded (slugs, endpoints); this bounds the kept children all the same.
MAX_CHILDREN = 10_000


class Children:
    """A metric's labelled children, made once: `labels()` checks and locks on every call,
    which the token path would pay twice per request."""

    def __init__(self, metric: Any):
        self.metric = metric
        self.made: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self.made.get(labels)
        if child is None:
            if len(self.made) >= MAX_CHILDREN:
                self.made.clear()
            child = self.made[labels] = self.metric.labels(*labels)
        return child


class Metrics:
    """The app's metrics. Labels are bounded: project slugs, fixed reasons, endpoint names."""

    def __init__(self, allowed_networks: str, token: str, multiprocess_dir: str | None):
        self.networks = parse_networks(allowed_networks)
        self.token = token.encode() if token else None
        self.multiprocess = multiprocess_dir is not None
        self.registry = CollectorRegistry()
        if not self.multiprocess:
            ProcessCollector(registry=self.registry)  # per process, so only without workers
        self.tokens_issued = Counter(
            "webapp_tokens_issued",
            "Tokens issued by the token endpoint, by project.",
            ["project"],
            registry=self.registry,
        )
        self.tokens_refused = Counter(
            "webapp_tokens_refused",
            "Token requests refused, by project (empty when unknown) and reason.",
            ["project", "reason"],
            registry=self.registry,
        )
        self.tokens_served_stale = Counter(
            "webapp_tokens_served_stale",
            "Tokens issued from a read kept while the database could not be reached "
            "(TOKEN_STALE_IF_ERROR), by project; counted in webapp_tokens_issued too.",
            ["project"],
            registry=self.registry,
        )
        self.sign_ins = Counter(
            "webapp_sign_ins",
            "Sign-in attempts by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "webapp_request_duration_seconds",
            "Time to answer a request, by Flask endpoint.",
            ["endpoint"],
            registry=self.registry,
        )

        self.issued_in = Children(self.tokens_issued)
        self.stale_in = Children(self.tokens_served_stale)
        # The admins' usage figures, counted beside these (services/usage.py writes them).
        self.usage = UsageCounter()
        self.duration_of = Children(self.request_duration)

    def exposition(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)

    def may_be_read(self, remote_addr: str | None, authorization: str | None) -> bool:
        """From an allowed network, or with `Authorization: Bearer <METRICS_TOKEN>`."""
        if self.token and authorization:
            scheme, _, given = authorization.partition(" ")
            given_token = given.strip().encode()
            if scheme.lower() == "bearer" and hmac.compare_digest(given_token, self.token):
                return True
        return address_in_networks(remote_addr, self.networks)


def metrics_of(app: Flask) -> Metrics:
    return app.extensions["webapp.metrics"]


def usage_of(app: Flask) -> UsageCounter:
    return metrics_of(app).usage


@bp.get("/metrics")
def metrics_page() -> Response:
    metrics = metrics_of(current_app)
    if not metrics.may_be_read(request.remote_addr, request.headers.get("Authorization")):
        abort(404)  # the same answer as a path that does not exist
    return Response(
        metrics.exposition(),
        content_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )


def init_app(app: Flask) -> None:
    app.extensions["webapp.metrics"] = Metrics(
        app.config["METRICS_ALLOWED_NETWORKS"],
        app.config["METRICS_TOKEN"],
        os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
    )
    app.register_blueprint(bp)
