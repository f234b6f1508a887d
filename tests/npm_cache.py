"""npm packages the tests need (the vendor's Web SDK, axe-core, oidc-provider), installed once
each into a cache folder outside the repository; a test that cannot have one skips saying why."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_TIMEOUT_S = 300
CACHES = Path.home() / ".cache" / "webapp-tests"


def cache_folder(environment_variable: str, name: str) -> Path:
    """`~/.cache/webapp-tests/<name>`, unless the environment variable names another."""
    return Path(os.environ.get(environment_variable, CACHES / name))


def installed_version(folder: Path, package: str) -> str | None:
    try:
        return json.loads((folder / "node_modules" / package / "package.json").read_text())[
            "version"
        ]
    except (OSError, ValueError, KeyError):
        return None


def npm(folder: Path, *arguments: str, what: str) -> None:
    """`npm <arguments>` in `folder` (made, with a private package.json unless one is there);
    skips the test when npm is missing, too slow or fails. `what` names it in the note."""
    command = shutil.which("npm")
    if command is None:
        pytest.skip(f"{what} needs npm (apt-get install nodejs npm)")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true, "description": "webapp test cache"}\n')
    try:
        result = subprocess.run(
            [command, *arguments, "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm {' '.join(arguments)} for {what} took over {INSTALL_TIMEOUT_S} s")
    if result.returncode != 0:
        pytest.skip(
            f"npm {' '.join(arguments)} into {folder} for {what} failed: "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
