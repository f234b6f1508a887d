"""Browser fixtures: the real app served over HTTP on a free port, and Chromium driving it.

The tests skip when Chromium or Playwright is missing. Rows the tests write are removed when
the server stops, because the rest of the suite shares the database.
"""

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HOW_TO_ENABLE,
    app_environment_variables,
    app_settings,
    delete_all_rows,
)
from werkzeug.serving import make_server

from webapp import create_app
from webapp.extensions import db
from webapp.observability.metrics import usage_of

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DEFAULT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="module")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app on the test database, served by werkzeug on 127.0.0.1 in a background thread."""
    # The suite's autouse `clean_environment` runs per test, after this module fixture is made.
    with pytest.MonkeyPatch.context() as env:
        for name in app_environment_variables():
            env.delenv(name)
        app = create_app(
            app_settings(database_url, DEPLOYMENT="development"),
            instance_path=str(tmp_path_factory.mktemp("live-instance")),
        )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server")
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        usage_of(app).close()  # nothing counted here is written after the rows are gone
        delete_all_rows(database_url)
        with app.app_context():
            db.engine.dispose()
        app.extensions["token_reads"].dispose()  # the token path's own pool


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright (whose own browser download is not used)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(HOW_TO_ENABLE)
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip(HOW_TO_ENABLE)
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server: LiveServer):
    """A fresh page (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshot():
    """`screenshot(page, name)` saves the full page to test-output/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
