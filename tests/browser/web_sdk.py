"""The vendor's real Web SDK (npm `@soulmachines/smwebsdk` 15), installed once into a cache
folder outside the repository, and a page that loads its browser bundle.

The SDK talks to three places: the token endpoint (the live server, for real), the session
server's `/api/telemetry/jwt` (answered by Playwright) and the session server's WebSocket
(taken over by Playwright's `route_web_socket`), so no vendor server is needed.
"""

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest
from npm_cache import cache_folder, installed_version, npm

SDK_PACKAGE = "@soulmachines/smwebsdk"
SDK_MAJOR = "15"
SDK_CACHE = cache_folder("SMWEBSDK_CACHE", "smwebsdk")
# The webpack UMD bundle: in a page it puts Scene, Persona, … on `window`.
SDK_BUNDLE = SDK_CACHE / "node_modules" / SDK_PACKAGE / "bundles" / "smwebsdk.js"

# A page of a product website: the SDK's bundle and a video element, nothing else.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Product website</title>
<script src="/smwebsdk.js"></script></head>
<body><video id="digital-person" autoplay playsinline></video></body></html>"""

# No camera or microphone, so the SDK goes straight to the session server's WebSocket.
SCENE_OPTIONS = """{
  videoElement: document.getElementById("digital-person"),
  requestedMediaDevices: { microphone: false, camera: false },
  requiredMediaDevices: { microphone: false, camera: false },
}"""


def install_sdk() -> Path:
    """The bundle's path; installs the SDK on first use, skips when that cannot be done."""
    version = installed_version(SDK_CACHE, SDK_PACKAGE) or ""
    if version.split(".")[0] != SDK_MAJOR or not SDK_BUNDLE.exists():
        npm(SDK_CACHE, "install", f"{SDK_PACKAGE}@{SDK_MAJOR}", what="the Web SDK tests")
        if not SDK_BUNDLE.exists():
            pytest.skip(f"npm did not install {SDK_PACKAGE}@{SDK_MAJOR} into {SDK_CACHE}")
    return SDK_BUNDLE


@dataclass
class SdkTraffic:
    """What the SDK sent beyond the token endpoint."""

    websockets: list[str] = field(default_factory=list)
    telemetry_authorizations: list[str] = field(default_factory=list)

    def wait_for_websocket(self, page, *, attempts: int = 100) -> list[str]:
        """The WebSocket URLs the SDK opened, once it has opened one (or after ~10 s).
        Playwright runs the route handlers while the page waits."""
        for _ in range(attempts):
            if self.websockets:
                break
            page.wait_for_timeout(100)
        return self.websockets


def serve_sdk_page(page, page_url: str, bundle: bytes) -> SdkTraffic:
    """Answer `page_url` with the product page and its bundle, and stand in for the session
    server: its telemetry endpoint refuses politely, its WebSocket is closed once opened."""
    traffic = SdkTraffic()
    # Playwright answers for the website, so Chromium cannot place it on the loopback and
    # treats it as public, and a public page needs permission to call a loopback server.
    # Deployed, the website and the issuer are both public and no permission is asked.
    page.context.grant_permissions(["local-network-access"], origin=urljoin(page_url, "/")[:-1])
    page.route(page_url, lambda route: route.fulfill(content_type="text/html", body=PAGE))
    page.route(
        urljoin(page_url, "/smwebsdk.js"),
        lambda route: route.fulfill(content_type="text/javascript", body=bundle),
    )

    def telemetry(route):
        traffic.telemetry_authorizations.append(route.request.headers.get("authorization", ""))
        route.fulfill(
            json={"success": False},
            headers={"Access-Control-Allow-Origin": "*"},
        )

    def session_server(websocket):
        traffic.websockets.append(websocket.url)
        websocket.close(code=4000, reason="no session server in tests")

    page.route("https://*/api/telemetry/jwt", telemetry)
    page.route_web_socket(lambda url: url.startswith("wss://"), session_server)
    return traffic
