"""Forwarded headers are believed only from the configured proxies, as nginx's
set_real_ip_from: a client reaching an instance directly keeps its own address."""

import pytest
from helpers import PASSWORD, Forms

from webapp.config import ConfigError

PROXY = "10.0.0.5"
CLIENT = "203.0.113.9"


def metrics_status(app, peer: str, forwarded_for: str) -> int:
    client = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for}
    return client.get("/metrics", environ_base={"REMOTE_ADDR": peer}, headers=headers).status_code


@pytest.fixture
def proxied_app(make_app):
    return make_app(TRUSTED_PROXIES=1, TRUSTED_PROXY_NETWORKS=f"{PROXY},192.168.0.0/24")


def test_a_direct_client_cannot_claim_loopback_to_read_metrics(proxied_app):
    assert metrics_status(proxied_app, CLIENT, "127.0.0.1") == 404
    assert metrics_status(proxied_app, "192.168.0.7", "127.0.0.1") == 200  # a listed proxy
    assert metrics_status(proxied_app, PROXY, CLIENT) == 404  # the client it forwards


def test_a_direct_client_gets_no_fresh_address_per_request(make_app, user):
    """Every per-address limit would otherwise count each forged address apart."""
    app = make_app(
        TRUSTED_PROXIES=1,
        TRUSTED_PROXY_NETWORKS=PROXY,
        RATELIMIT_SIGN_IN_PER_ADDRESS="3 per hour",
    )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT
    forms = Forms(client)
    statuses = []
    for number in range(4):
        data = {"email": user.email, "password": PASSWORD + "wrong"}
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{number}"
        statuses.append(forms.post("/login", data).status_code)
    assert statuses == [200, 200, 200, 429]


def test_https_and_host_are_believed_only_from_a_proxy(proxied_app):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    client = proxied_app.test_client()
    direct = client.get("/admin", environ_base={"REMOTE_ADDR": CLIENT}, headers=forwarded)
    assert direct.location == "http://localhost/admin/"
    via_proxy = client.get("/admin", environ_base={"REMOTE_ADDR": PROXY}, headers=forwarded)
    assert via_proxy.location == "https://evil.example/admin/"  # TRUSTED_HOSTS unset


def test_trusted_proxies_without_their_addresses_stops_the_start(make_app):
    with pytest.raises(ConfigError, match="set TRUSTED_PROXY_NETWORKS to the proxies' addr"):
        make_app(TRUSTED_PROXIES=1)
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_NETWORKS must be comma-separated"):
        make_app(TRUSTED_PROXIES=1, TRUSTED_PROXY_NETWORKS="nginx.internal")
