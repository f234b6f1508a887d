"""The vendor's real Web SDK (npm `@soulmachines/smwebsdk` 15), installed once into a cache
folder outside the repository, and a page that loads its browser bundle.

The SDK talks to three places: the token endpoint (the live server, for real), the session
server's `/api/telemetry/jwt` (answered by Playwright) and the session server's WebSocket
(taken over by Playwright's `route_web_socket`), so no vendor server is needed.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest

SDK_PACKAGE = "@soulmachines/smwebsdk"
SDK_MAJOR = "15"
SDK_CACHE = Path(
    os.environ.get("SMWEBSDK_CACHE", Path.home() / ".cache" / "webapp-tests" / "smwebsdk")
)
SDK_DIR = SDK_CACHE / "node_modules" / "@soulmachines" / "smwebsdk"
# The webpack UMD bundle: in a page it puts Scene, Persona, … on `window`.
SDK_BUNDLE = SDK_DIR / "bundles" / "smwebsdk.js"
INSTALL_TIMEOUT_S = 300

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


def installed_version() -> str | None:
    try:
        return json.loads((SDK_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def install_sdk() -> Path:
    """The bundle's path; installs the SDK on first use, skips when that cannot be done."""
    version = installed_version()
    if version and version.split(".")[0] == SDK_MAJOR and SDK_BUNDLE.exists():
        return SDK_BUNDLE
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            f"the Web SDK tests need npm to install {SDK_PACKAGE}@{SDK_MAJOR} "
            "(apt-get install nodejs npm)"
        )
    SDK_CACHE.mkdir(parents=True, exist_ok=True)
    manifest = SDK_CACHE / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true, "description": "webapp test cache"}\n')
    try:
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", f"{SDK_PACKAGE}@{SDK_MAJOR}"],
            cwd=SDK_CACHE,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install {SDK_PACKAGE}@{SDK_MAJOR} took over {INSTALL_TIMEOUT_S} s")
    if result.returncode != 0 or not SDK_BUNDLE.exists():
        pytest.skip(
            f"npm install {SDK_PACKAGE}@{SDK_MAJOR} into {SDK_CACHE} failed: "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
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
