"""Brute-force limits, counted in memory or in Redis, and the bound on concurrent hashing."""

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from helpers import PASSWORD, Forms, csrf_token_from, setup_link

from webapp.extensions import limiter
from webapp.protection import password_hashing

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
GENEROUS = "1000 per hour"


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, make_app):
    """`limited_app(**limits)`: an app counting in memory, or in Redis under a key prefix of
    its own (other test runs share the server); its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex}"
    storage = "memory://"
    if request.param == "redis":
        connection = redis.Redis.from_url(REDIS_URL)
        try:
            connection.ping()
        except redis.ConnectionError:
            pytest.skip(f"no Redis at {REDIS_URL}")
        storage = REDIS_URL

    def make(**limits):
        settings = {
            "RATELIMIT_SIGN_IN_PER_ACCOUNT": GENEROUS,
            "RATELIMIT_SIGN_IN_PER_ADDRESS": GENEROUS,
            "RATELIMIT_REGISTER_PER_ADDRESS": GENEROUS,
            "RATELIMIT_SETUP_PER_ADDRESS": GENEROUS,
            "RATELIMIT_TOKEN_PER_USER": GENEROUS,
            **limits,
        }
        return make_app(RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=prefix, **settings)

    yield make
    if request.param == "redis":
        keys = list(connection.scan_iter(match=f"*{prefix}*", count=1000))
        assert keys, "nothing was counted in Redis"
        connection.delete(*keys)
        connection.close()


def sign_in(client, email: str, password: str = PASSWORD):
    return Forms(client).post("/login", {"email": email, "password": password})


def assert_too_many_as_a_page(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert "Too many attempts" in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


def test_sign_in_is_limited_per_account(limited_app, make_user):
    app = limited_app(RATELIMIT_SIGN_IN_PER_ACCOUNT="3 per hour")
    ada, grace = make_user("ada@example.com"), make_user("grace@example.com")
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, ada.email, "wrong password!").status_code == 200
    # The right password no longer helps, in any spelling of the address...
    assert_too_many_as_a_page(sign_in(client, ada.email))
    assert_too_many_as_a_page(sign_in(client, " ADA@example.com "))
    # ...from another address either; another account is not affected.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert sign_in(elsewhere, ada.email).status_code == 429
    assert sign_in(client, grace.email).status_code == 302


def test_current_password_checks_count_with_the_sign_ins_of_the_account(limited_app, make_user):
    """Change password, delete account, two-factor on and off: each check is a guess."""
    app = limited_app(RATELIMIT_SIGN_IN_PER_ACCOUNT="4 per hour")
    ada = make_user("ada@example.com")
    client = app.test_client()
    assert sign_in(client, ada.email).status_code == 302  # 1
    forms = Forms(client)
    wrong = "not my password"
    change = {"password-current_password": wrong, "password-new_password": "a new password here"}
    change["password-submit"] = "Change password"
    assert forms.post("/account", change).status_code == 200  # 2
    delete = {"delete-current_password": wrong}
    assert forms.post("/account/delete", delete, page="/account").status_code == 400  # 3
    on = {"code": "000000", "current_password": wrong}
    assert forms.post("/account/two-factor", on).status_code == 200  # 4
    assert_too_many_as_a_page(forms.post("/account/two-factor", on))
    assert_too_many_as_a_page(forms.post("/account", change))
    assert_too_many_as_a_page(sign_in(app.test_client(), ada.email))  # the door is shared


def test_sign_in_is_limited_per_address(limited_app, make_user):
    app = limited_app(RATELIMIT_SIGN_IN_PER_ADDRESS="3 per hour")
    ada = make_user("ada@example.com")
    client = app.test_client()
    for number in range(3):
        assert sign_in(client, f"guess{number}@example.com").status_code == 200
    assert_too_many_as_a_page(sign_in(client, ada.email))
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert sign_in(elsewhere, ada.email).status_code == 302


def test_registration_is_limited_per_address(limited_app):
    app = limited_app(RATELIMIT_REGISTER_PER_ADDRESS="2 per hour")
    client = app.test_client()
    forms = Forms(client)
    for number in range(2):
        data = {"email": f"new{number}@example.com", "password": "short", "locale": "en-US"}
        assert forms.post("/register", data).status_code == 200
    data = {"email": "new@example.com", "password": PASSWORD, "locale": "en-US"}
    assert_too_many_as_a_page(forms.post("/register", data))
    assert client.get("/register").status_code == 200  # reading the form is free


def test_setup_guesses_are_limited_per_address(limited_app):
    app = limited_app(RATELIMIT_SETUP_PER_ADDRESS="3 per hour")
    link = setup_link(app)
    client = app.test_client()
    for number in range(3):
        assert client.get(f"/setup?code=guess{number}").status_code == 404
    assert_too_many_as_a_page(client.get(link))  # even the right code waits now


def test_tokens_are_limited_per_user_in_json(limited_app, make_user, make_project):
    app = limited_app(RATELIMIT_TOKEN_PER_USER="3 per minute")
    make_project()
    ada, grace = make_user("ada@example.com"), make_user("grace@example.com")
    ada_client, grace_client = app.test_client(), app.test_client()
    assert sign_in(ada_client, ada.email).status_code == 302
    assert sign_in(grace_client, grace.email).status_code == 302
    for _ in range(3):
        assert ada_client.post("/auth/authorize?project=demo").status_code == 200
    refused = ada_client.get("/auth/authorize?project=demo")
    assert refused.status_code == 429
    assert refused.get_json() == {"success": False, "error": refused.get_json()["error"]}
    assert "Too many token requests" in refused.get_json()["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert grace_client.post("/auth/authorize?project=demo").status_code == 200


def test_the_token_limit_costs_one_storage_round_trip(
    limited_app, make_user, make_project, monkeypatch
):
    """The token endpoint is hot: its limit is one increment, with no read before or after."""
    app = limited_app()
    make_project()
    client = app.test_client()
    assert sign_in(client, make_user().email).status_code == 302
    storage, calls, depth = limiter.storage, [], [0]

    def counted(name: str):
        """Counts the limiter's calls into the storage, not the storage's calls to itself."""
        real = getattr(storage, name)

        def call(*args, **kwargs):
            if not depth[0]:
                calls.append(name)
            depth[0] += 1
            try:
                return real(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for name in ("incr", "get", "get_expiry", "get_moving_window", "get_sliding_window"):
        monkeypatch.setattr(storage, name, counted(name))
    assert client.post("/auth/authorize?project=demo").status_code == 200
    assert calls == ["incr"]


def test_unreachable_counters_answer_503_not_unlimited(make_app, make_user, make_project):
    """Redis gone: sign-in and tokens fail closed, with a clear answer in the usual form."""
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")  # nothing listens on port 1
    make_project()
    client = app.test_client()
    page = sign_in(client, make_user().email)
    assert page.status_code == 503
    assert "cannot check its limits" in page.get_data(as_text=True)
    api = client.post("/auth/authorize?project=demo")
    assert api.status_code == 503
    assert api.get_json()["success"] is False
    assert client.get("/login").status_code == 200  # unlimited pages still work


def test_concurrent_password_hashing_is_bounded(make_app, make_user, served):
    """Sixteen sign-ins at once through a real threaded server: no more hashes run at a time
    than the bound, so memory stays bounded (each scrypt hash takes 32 MiB)."""
    app = make_app(RATELIMIT_SIGN_IN_PER_ACCOUNT=GENEROUS, RATELIMIT_SIGN_IN_PER_ADDRESS=GENEROUS)
    user = make_user()
    host, port = served(app)
    base = f"http://{host}:{port}"
    start = threading.Barrier(16, timeout=60)
    password_hashing.reset_peak()

    def one_sign_in(number: int) -> int:
        import http.cookiejar
        import urllib.parse
        import urllib.request

        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = opener.open(f"{base}/login", timeout=60).read().decode()
        password = PASSWORD if number % 2 else "a wrong password"
        data = urllib.parse.urlencode(
            {"csrf_token": csrf_token_from(page), "email": user.email, "password": password}
        ).encode()
        start.wait()
        with opener.open(f"{base}/login", data=data, timeout=120) as response:
            return response.status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one_sign_in, range(16)))
    assert statuses == [200] * 16  # right ones were redirected to /, wrong ones shown the form
    assert 1 <= password_hashing.peak_running <= password_hashing.MAX_CONCURRENT_HASHES
