"""A product website on another site, whose visitors signed in with its own identity
provider, gets tokens with that provider's token and no cookie, in Chromium, and connects
the vendor's Web SDK with them."""

import socket

import jwt
import pytest
from helpers import HOW_TO_ENABLE, HS256_KEY
from identity_provider import Client

from browser.web_sdk import SCENE_OPTIONS, install_sdk, serve_sdk_page
from webapp.rules.bearer_tokens import user_id_for

pytest.importorskip("playwright.sync_api", reason=HOW_TO_ENABLE)
pytestmark = pytest.mark.browser

SESSION_SERVER = "dh.soulmachines.cloud"

# The integration page's bearer snippet: the website's own token, no credentials mode.
CONNECT_WITH_BEARER = f"""async ([tokenUrl, idToken]) => {{
  const res = await fetch(tokenUrl, {{ headers: {{ Authorization: `Bearer ${{idToken}}` }} }});
  const body = await res.json();
  if (!res.ok) return {{ status: res.status, error: body.error }};
  const scene = new Scene({SCENE_OPTIONS});
  scene.connect({{ tokenServer: {{ uri: body.url, token: body.jwt }} }}).catch(() => {{}});
  return {{ status: res.status }};
}}"""


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_website_on_another_site_connects_with_its_providers_token(
    page, live_server, make_project, make_identity_provider
):
    provider = make_identity_provider(
        [Client("shop")], {"ana": {"email": "ana@example.com", "locale": "fr-FR"}}
    )
    # localhost and 127.0.0.1 are two sites: the issuer's cookie could never be sent.
    website = f"http://localhost:{unused_port()}"
    make_project(
        "shop", allowed_origins=[website], oidc_issuer=provider.issuer, oidc_audiences=["shop"]
    )
    traffic = serve_sdk_page(page, f"{website}/digital-person", install_sdk().read_bytes())
    page.goto(f"{website}/digital-person")
    id_token = provider.id_token("shop", "ana")  # what the website's provider SDK holds

    token_url = f"{live_server.url}/auth/authorize/shop"
    result = page.evaluate(CONNECT_WITH_BEARER, [token_url, id_token])

    assert result == {"status": 200}
    [opened] = traffic.wait_for_websocket(page)
    token = opened.split("access_token=", 1)[1]
    claims = jwt.decode(token, HS256_KEY, algorithms=["HS256"], issuer="sm-abcdef123456789")
    assert claims["user_id"] == user_id_for(provider.issuer, "ana")
    assert claims["locale"] == "fr-FR"
    assert claims["sm-session-server"] == SESSION_SERVER
    assert page.context.cookies(live_server.url) == []  # no cookie was needed, or made


def test_a_refused_token_is_a_readable_401_in_the_browser(
    page, live_server, make_project, make_identity_provider
):
    provider = make_identity_provider([Client("shop")])
    website = f"http://localhost:{unused_port()}"
    # Another slug than the test before: the live server, shared by the module, may reuse
    # its read of that project for up to a second (the token path's reuse rule).
    make_project(
        "outlet", allowed_origins=[website], oidc_issuer=provider.issuer, oidc_audiences=["other"]
    )
    traffic = serve_sdk_page(page, f"{website}/digital-person", install_sdk().read_bytes())
    page.goto(f"{website}/digital-person")
    result = page.evaluate(
        CONNECT_WITH_BEARER,
        [f"{live_server.url}/auth/authorize/outlet", provider.id_token("shop", "ana")],
    )
    assert result["status"] == 401
    assert "another audience" in result["error"]
    assert traffic.websockets == []
