"""Which forwarded headers to believe: those of the proxies in front of the app, and only
when the request comes from one of them (as nginx's set_real_ip_from)."""

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config_checks import address_in_networks, parse_networks

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Peers remembered as trusted or not; the proxies are few, and a flood of others only
# refills the dict.
MAX_PEERS = 1024


class TrustedProxyFix:
    """ProxyFix for a request whose peer is one of the proxies; a client reaching the app
    directly keeps its own address, scheme and host, whatever X-Forwarded-* it sends. One
    dict lookup per request: each peer's verdict is remembered."""

    def __init__(
        self,
        app: "WSGIApplication",
        proxies: int,
        networks: tuple[IPv4Network | IPv6Network, ...],
    ):
        self.plain = app
        self.fixed = ProxyFix(app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
        self.networks = networks
        self.verdicts: dict[str, bool] = {}

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR") or ""
        trusted = self.verdicts.get(peer)
        if trusted is None:
            trusted = address_in_networks(peer, self.networks)
            if len(self.verdicts) >= MAX_PEERS:
                self.verdicts.clear()
            self.verdicts[peer] = trusted
        return (self.fixed if trusted else self.plain)(environ, start_response)


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        networks = parse_networks(app.config["TRUSTED_PROXY_NETWORKS"])
        # Wrapping `wsgi_app` is Werkzeug's documented way to add middleware.
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, proxies, networks)  # type: ignore[method-assign]
