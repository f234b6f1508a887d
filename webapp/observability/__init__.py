"""What ops watch: logs (`logs`), the request id and request line (`request_log`), Prometheus
metrics on `/metrics` (`metrics`), and the token and sign-in events that feed both (`events`)."""

from flask import Flask

from webapp.observability import logs, metrics, request_log


def init_app(app: Flask) -> None:
    logs.init_app(app)
    metrics.init_app(app)
    # Before every other hook, so a request refused by one (CSRF, sign-in) still has an id.
    request_log.init_app(app)
