"""/metrics: what it counts, and who may read it."""

import pytest
from helpers import PASSWORD, metric_value

from webapp.config import ConfigError

METRICS_TOKEN = "m" * 24


def read_metrics(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return response.get_data(as_text=True)


def test_tokens_issued_and_refused_per_project_and_reason(client, make_project, user, login):
    make_project("demo")
    make_project("other")
    client.get("/auth/authorize?project=demo")  # not signed in yet
    login(user)
    for _ in range(3):
        assert client.get("/auth/authorize?project=demo").status_code == 200
    assert client.post("/auth/authorize?project=other").status_code == 200
    assert client.get("/auth/authorize?project=nope").status_code == 404
    assert client.get("/auth/authorize").status_code == 400

    text = read_metrics(client)
    assert metric_value(text, "webapp_tokens_issued_total", project="demo") == 3
    assert metric_value(text, "webapp_tokens_issued_total", project="other") == 1
    refused = "webapp_tokens_refused_total"
    assert metric_value(text, refused, project="demo", reason="not_signed_in") == 1
    assert metric_value(text, refused, project="", reason="unknown_project") == 1  # no slug label
    assert metric_value(text, refused, project="", reason="no_default_project") == 1
    assert "nope" not in text


def test_sign_ins_by_outcome(client, forms, make_user, login):
    user = make_user()
    make_user("gone@example.com", is_active=False)
    forms.post("/login", {"email": user.email, "password": "not it"})
    forms.post("/login", {"email": user.email, "password": "not it either"})
    forms.post("/login", {"email": "nobody@example.com", "password": PASSWORD})
    forms.post("/login", {"email": "gone@example.com", "password": PASSWORD})
    login(user)

    text = read_metrics(client)
    counts = {
        outcome: metric_value(text, "webapp_sign_ins_total", outcome=outcome)
        for outcome in ("success", "wrong_password", "unknown_email", "disabled")
    }
    assert counts == {"success": 1, "wrong_password": 2, "unknown_email": 1, "disabled": 1}


def test_latency_histogram_per_endpoint_not_per_path(client, make_project, signed_in_user):
    make_project("demo")
    client.get("/auth/authorize?project=demo")
    client.get("/auth/authorize?project=demo&sessionId=1")
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")

    text = read_metrics(client)
    histogram = "webapp_request_duration_seconds"
    assert metric_value(text, f"{histogram}_count", endpoint="api.authorize") == 2
    assert metric_value(text, f"{histogram}_count", endpoint="none") == 2
    assert metric_value(text, f"{histogram}_bucket", endpoint="api.authorize", le="+Inf") == 2
    assert "/no/such/path" not in text


def status_of(app, remote_addr: str = "127.0.0.1", **headers) -> int:
    client = app.test_client()
    return client.get(
        "/metrics", environ_base={"REMOTE_ADDR": remote_addr}, headers=headers
    ).status_code


@pytest.mark.parametrize("remote_addr", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_read_by_default(app, remote_addr):
    assert status_of(app, remote_addr) == 200


@pytest.mark.parametrize("remote_addr", ["203.0.113.9", "10.0.0.1", "2001:db8::1", "garbage"])
def test_others_get_404_as_if_there_were_no_metrics(app, remote_addr):
    assert status_of(app, remote_addr) == 404
    assert (
        status_of(app, remote_addr, Authorization=f"Bearer {METRICS_TOKEN}") == 404
    )  # no token set


def test_allowed_networks_are_configurable(make_app):
    app = make_app(METRICS_ALLOWED_NETWORKS="10.0.0.0/8, 2001:db8::/32")
    assert status_of(app, "10.20.30.40") == 200
    assert status_of(app, "2001:db8::7") == 200
    assert status_of(app, "127.0.0.1") == 404


def test_the_metrics_token_lets_anyone_in(make_app):
    app = make_app(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_NETWORKS="")
    outside = "203.0.113.9"
    assert status_of(app, outside, Authorization=f"Bearer {METRICS_TOKEN}") == 200
    assert status_of(app, outside, Authorization=f"bearer {METRICS_TOKEN}") == 200
    assert status_of(app, outside, Authorization=f"Bearer {METRICS_TOKEN}x") == 404
    assert status_of(app, outside, Authorization=f"Basic {METRICS_TOKEN}") == 404
    assert status_of(app, outside) == 404
    assert status_of(app, "127.0.0.1") == 404  # no network allowed


def test_behind_a_proxy_the_forwarded_client_is_checked(make_app):
    app = make_app(TRUSTED_PROXIES=1, TRUSTED_PROXY_NETWORKS="127.0.0.1")
    assert status_of(app, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"}) == 404
    assert status_of(app, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"}) == 200


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"METRICS_ALLOWED_NETWORKS": "10.0.0.1/8"}, "^METRICS_ALLOWED_NETWORKS .*host bits"),
        ({"METRICS_ALLOWED_NETWORKS": "localhost"}, "^METRICS_ALLOWED_NETWORKS .*'localhost'"),
        ({"METRICS_ALLOWED_NETWORKS": ["127.0.0.1"]}, "^METRICS_ALLOWED_NETWORKS "),
        ({"METRICS_TOKEN": "short"}, "^METRICS_TOKEN must be at least 16 characters"),
        ({"LOG_LEVEL": "LOUD"}, "^LOG_LEVEL must be one of"),
    ],
)
def test_bad_settings_stop_the_app_with_one_line(make_app, settings, message):
    with pytest.raises(ConfigError, match=message) as refusal:
        make_app(**settings)
    assert "\n" not in str(refusal.value)


def test_a_missing_multiprocess_folder_stops_the_app(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="^PROMETHEUS_MULTIPROC_DIR .* not a directory"):
        make_app()


def test_engine_options_keep_hidden_parameters(make_app):
    assert make_app().config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    options = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 7}).config[
        "SQLALCHEMY_ENGINE_OPTIONS"
    ]
    options.pop("connect_args", None)  # PostgreSQL's connect timeout: test_database_unavailable
    assert options == {"pool_pre_ping": True, "hide_parameters": True, "pool_size": 7}
