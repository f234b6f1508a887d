"""The deployment unit: the wheel `make dist` builds, installed into a fresh venv outside the
checkout with the locked dependencies, migrates, and serves tokens with the production server."""

import http.cookiejar
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest
from cryptography.fernet import Fernet
from helpers import HS256_KEY, PASSWORD, using_postgresql
from servers import free_port, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "wheel@example.com"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(using_postgresql(), reason="the wheel is tested once, on SQLite"),
]

SEED_PROJECT = f"""
from webapp import create_app
from webapp.extensions import db
from webapp.models import Project
with create_app().app_context():
    project = Project(slug="wheel", name="Wheel", session_server="dh.soulmachines.cloud",
                      issuer="wheel-issuer")
    project.set_signing_key({HS256_KEY!r})
    db.session.add(project)
    db.session.commit()
"""


def run(*command, **options) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the wheel and its locked dependencies; returns its bin folder."""
    place = tmp_path_factory.mktemp("wheel")
    run("make", "-C", str(ROOT), "--no-print-directory", "dist", f"DIST_DIR={place}")
    # `make dist` bootstraps the pinned uv here.
    uv = os.environ.get("UV", str(ROOT / ".uv" / "bin" / "uv"))
    run(uv, "venv", "--quiet", "--python", sys.executable, str(place / "venv"))
    (wheel,) = place.glob("webapp-*.whl")
    python = place / "venv" / "bin" / "python"
    run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        "-r",
        str(place / "requirements.txt"),
        str(wheel),
    )
    return place / "venv" / "bin"


@pytest.fixture
def deployment(installed: Path, tmp_path: Path) -> dict:
    """A production configuration in the environment, the cwd outside the checkout."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FLASK_", "PYTHON", "VIRTUAL_ENV", "PROMETHEUS_"))
        and name != "DATABASE_URL"
    }
    environment.update(
        FLASK_SECRET_KEY=secrets.token_hex(32),
        FLASK_SECRETS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        FLASK_SESSION_COOKIE_SECURE="false",  # plain HTTP on loopback
        DATABASE_URL=f"sqlite:///{tmp_path / 'webapp.sqlite3'}",
    )
    return {"env": environment, "cwd": tmp_path}


def public_id(deployment: dict) -> str:
    database = deployment["env"]["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        (found,) = connection.execute("SELECT public_id FROM users WHERE email = ?", [EMAIL])
    return found[0]


def sign_in_and_get_token(base: str) -> dict:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": csrf}
    landing = opener.open(f"{base}/login", urllib.parse.urlencode(form).encode())
    assert landing.url == f"{base}/"
    with opener.open(f"{base}/auth/authorize?project=wheel") as answer:
        return json.load(answer)


def test_installed_wheel_migrates_and_serves_tokens(installed: Path, deployment: dict):
    flask = [str(installed / "flask"), "--app", "webapp"]
    where = run(
        str(installed / "python"), "-c", "import webapp; print(webapp.__file__)", **deployment
    ).stdout
    assert where.startswith(str(installed.parent)), "the checkout's webapp was imported"

    run(*flask, "db", "upgrade", **deployment)
    run(*flask, "users", "create", EMAIL, "--password-stdin", input=PASSWORD, **deployment)
    run(str(installed / "python"), "-c", SEED_PROJECT, **deployment)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = deployment["cwd"] / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(installed / "webapp-serve"), "--port", str(port), "--workers", "1"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its worker stops with it
            **deployment,
        )
    try:
        wait_until_serving(base, server, log)
        with urllib.request.urlopen(f"{base}/static/style.css") as stylesheet:
            assert stylesheet.status == 200
        answer = sign_in_and_get_token(base)
    finally:
        stop(server)

    assert answer["success"] is True
    assert answer["url"] == "wss://dh.soulmachines.cloud"
    claims = jwt.decode(answer["jwt"], HS256_KEY, algorithms=["HS256"], issuer="wheel-issuer")
    assert claims["user_id"] == public_id(deployment)
    assert "Traceback" not in log.read_text()
