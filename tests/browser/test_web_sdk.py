"""The vendor's real Web SDK gets a token from the live server on each path it takes, and
opens the session server's WebSocket with it (taken over by Playwright)."""

import base64
import json
import socket
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from helpers import HOW_TO_ENABLE, HS256_KEY, PASSWORD

from browser.web_sdk import SCENE_OPTIONS, install_sdk, serve_sdk_page

expect = pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE).expect
pytestmark = pytest.mark.browser

SESSION_SERVER = "dh.soulmachines.cloud"


@pytest.fixture(scope="module")
def sdk_bundle() -> bytes:
    return install_sdk().read_bytes()


@pytest.fixture
def signed_in(page, live_server, make_project, make_user):
    """A project and an end user with a locale of their own, signed in on the issuer."""
    user = make_user("ines@example.com", locale="pt-BR")
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation")).to_contain_text(user.email)
    return user


def unused_port() -> int:
    """A port nothing listens on: Playwright answers for the product website's origin."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sdk_api_key(auth_server: str) -> str:
    """What the SDK reads from a key: base64 of JSON whose `authServer` it GETs."""
    return base64.b64encode(json.dumps({"authServer": auth_server}).encode()).decode()


def connected_jwt(websocket_url: str, path: str = "/") -> str:
    """The token from `wss://<session server><path>?access_token=<jwt>` (the browser writes
    the SDK's `wss://host?…` as `wss://host/?…`)."""
    parts = urlsplit(websocket_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", SESSION_SERVER, path)
    query = parse_qs(parts.query)
    assert list(query) == ["access_token"]
    [token] = query["access_token"]
    return token


def assert_token_for(token: str, user) -> None:
    claims = jwt.decode(token, HS256_KEY, algorithms=["HS256"], issuer="sm-abcdef123456789")
    assert claims["user_id"] == user.public_id
    assert claims["locale"] == "pt-BR"
    assert claims["sm-session-server"] == SESSION_SERVER


# The SDK's guide, with the cookie sent to another origin. `connect` is not awaited: without
# a session server it never settles; the test waits for the WebSocket instead.
CONNECT_DOCUMENTED = f"""async (tokenUrl) => {{
  const res = await fetch(tokenUrl, {{ credentials: "include" }});
  const body = await res.json();
  if (!res.ok) return {{ status: res.status, error: body.error }};
  const scene = new Scene({SCENE_OPTIONS});
  scene.connect({{ tokenServer: {{ uri: body.url, token: body.jwt }} }}).catch(() => {{}});
  return {{ status: res.status }};
}}"""

CONNECT_WITH_API_KEY = f"""(apiKey) => {{
  const scene = new Scene({{ apiKey, ...{SCENE_OPTIONS} }});
  scene.connect().catch(() => {{}});
}}"""


def test_documented_flow_from_another_origin_of_the_same_site(
    page, live_server, make_project, signed_in, sdk_bundle
):
    website = f"http://127.0.0.1:{unused_port()}"  # another origin, the same site as the issuer
    make_project("shop", allowed_origins=[website])
    traffic = serve_sdk_page(page, f"{website}/digital-person", sdk_bundle)
    page.goto(f"{website}/digital-person")

    result = page.evaluate(CONNECT_DOCUMENTED, f"{live_server.url}/auth/authorize/shop")

    assert result["status"] == 200, result
    [opened] = traffic.wait_for_websocket(page)
    token = connected_jwt(opened)
    assert_token_for(token, signed_in)
    assert traffic.telemetry_authorizations == [f"Bearer {token}"]


def test_documented_flow_from_another_site_gets_a_readable_401_with_lax_cookies(
    page, live_server, make_project, signed_in, sdk_bundle
):
    """localhost and 127.0.0.1 are different sites: a SameSite=Lax cookie stays home, and the
    allowed origin can read why the endpoint refused."""
    website = f"http://localhost:{unused_port()}"
    make_project("shop", allowed_origins=[website])
    traffic = serve_sdk_page(page, f"{website}/digital-person", sdk_bundle)
    page.goto(f"{website}/digital-person")

    result = page.evaluate(CONNECT_DOCUMENTED, f"{live_server.url}/auth/authorize/shop")

    assert result == {"status": 401, "error": "Sign in first."}
    assert traffic.websockets == []


def test_api_key_flow_on_the_issuers_own_origin(
    page, live_server, make_project, signed_in, sdk_bundle
):
    make_project("shop")
    traffic = serve_sdk_page(page, f"{live_server.url}/sdk-test-page", sdk_bundle)
    page.goto("/sdk-test-page")
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    page.evaluate(CONNECT_WITH_API_KEY, sdk_api_key(f"{live_server.url}/auth/authorize/shop"))

    [opened] = traffic.wait_for_websocket(page)  # after the token request
    assert f"{live_server.url}/auth/authorize/shop" in requested
    token = connected_jwt(opened)
    assert_token_for(token, signed_in)


def test_api_key_flow_resuming_a_session(page, live_server, make_project, signed_in, sdk_bundle):
    """A resumed session: the SDK asks `authServer + '?sessionId=<id>'` and connects to the
    server it was on. Its session storage is set as the SDK leaves it after a first session."""
    make_project("shop")
    api_key = sdk_api_key(f"{live_server.url}/auth/authorize/shop")
    traffic = serve_sdk_page(page, f"{live_server.url}/sdk-test-page", sdk_bundle)
    page.goto("/sdk-test-page")
    page.evaluate(
        """(apiKey) => {
          sessionStorage.setItem("sm-server", "persona-7");
          sessionStorage.setItem("sm-session-id", "3f2a-9c1d");
          sessionStorage.setItem("sm-api-key", apiKey);
        }""",
        api_key,
    )
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    page.evaluate(CONNECT_WITH_API_KEY, api_key)

    [opened] = traffic.wait_for_websocket(page)  # after the token request
    assert f"{live_server.url}/auth/authorize/shop?sessionId=3f2a-9c1d" in requested
    token = connected_jwt(opened, "/server/persona-7")
    assert_token_for(token, signed_in)
