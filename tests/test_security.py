"""What every request and response passes: body size, host names, protective headers."""

import http.client
import io
from urllib.parse import urlencode

import pytest
from helpers import PASSWORD, csrf_token_from

CSP = (
    "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def placeholder_url(rule) -> str:
    """The rule's path with every variable filled in (the route need not find anything)."""
    path = rule.rule
    for argument in rule.arguments:
        path = path.replace(f"<{argument}>", "x").replace(f"<path:{argument}>", "x")
    return path


def test_every_route_refuses_a_body_over_the_limit_before_reading_it(make_app):
    app = make_app(MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    body = b"email=" + b"a" * 4096
    tried = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD"}):
            response = client.open(
                placeholder_url(rule),
                method=method,
                data=body,
                content_type="application/x-www-form-urlencoded",
            )
            assert response.status_code == 413, (method, rule.rule)
            tried += 1
    assert tried > 20


def test_too_large_is_a_page_for_forms_and_json_for_the_api(client):
    body = b"password=" + b"a" * (1024 * 1024)  # just over the default limit of 1 MiB
    page = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413
    assert page.mimetype == "text/html"
    assert "at most 1,048,576 bytes" in page.get_data(as_text=True)
    api = client.post("/auth/authorize", data=body, content_type="application/json")
    assert api.status_code == 413
    assert api.get_json()["success"] is False
    assert "at most 1,048,576 bytes" in api.get_json()["error"]


def test_a_body_at_the_limit_is_read(client, make_project, signed_in_user):
    make_project()
    body = b"x=" + b"a" * (1024 * 1024 - 2)
    response = client.post(
        "/auth/authorize?project=demo", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200


def test_a_chunked_body_without_length_is_cut_off_at_the_limit(make_app, served):
    host, port = served(make_app(MAX_CONTENT_LENGTH=64 * 1024))
    connection = http.client.HTTPConnection(host, port, timeout=30)
    chunks = (b"email=" + b"a" * 16 * 1024 for _ in range(16))  # 256 KiB, no Content-Length
    connection.request(
        "POST",
        "/login",
        body=chunks,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


@pytest.mark.parametrize("path", ["/", "/login", "/ping", "/auth/authorize", "/no-such-page"])
def test_every_answer_carries_the_protective_headers(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_carry_the_headers_and_may_be_cached(client):
    with client.get("/static/style.css") as response:
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    "path", ["/", "/account", "/admin/", "/admin/users", "/admin/audit", "/admin/inspect"]
)
def test_signed_in_pages_are_not_stored(client, signed_in_admin, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == CSP


def test_the_token_answer_is_not_stored(client, make_project, signed_in_user):
    make_project()
    response = client.post("/auth/authorize?project=demo")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == CSP


def test_an_untrusted_host_is_refused_not_redirected_to(make_app):
    client = make_app(TRUSTED_HOSTS=["tokens.example.com"]).test_client()
    for path in ("/admin", "/login", "/auth/authorize"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400, path
        assert "evil.example" not in response.headers.get("Location", "")
    trusted = client.get("/admin", headers={"Host": "tokens.example.com"})
    assert trusted.status_code == 308
    assert trusted.headers["Location"] == "http://tokens.example.com/admin/"


def test_an_untrusted_forwarded_host_is_refused(make_app):
    client = make_app(
        TRUSTED_HOSTS=["tokens.example.com"], TRUSTED_PROXIES=1, TRUSTED_PROXY_NETWORKS="127.0.0.1"
    ).test_client()
    forwarded = {"Host": "tokens.example.com", "X-Forwarded-Host": "evil.example"}
    response = client.get("/admin", headers=forwarded)
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")


def test_a_chunked_body_within_the_limit_is_read_whole(client, user):
    """A body without Content-Length, as a chunked upload arrives from the server, is
    buffered by the size check and handed on whole."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    body = urlencode({"csrf_token": token, "email": user.email, "password": PASSWORD})
    response = client.post(
        "/login",
        input_stream=io.BytesIO(body.encode()),
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 302  # signed in: every field arrived
