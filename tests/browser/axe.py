"""axe-core (npm `axe-core`, pinned exactly), installed once into a cache folder outside the
repository, the way web_sdk.py installs the vendor's SDK, and run on a page.

The pages' Content-Security-Policy forbids injected scripts, so the page that runs axe must
come from a browser context made with `bypass_csp=True`.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

AXE_PACKAGE = "axe-core"
AXE_VERSION = "4.14.1"
AXE_CACHE = Path(
    os.environ.get("AXE_CORE_CACHE", Path.home() / ".cache" / "webapp-tests" / "axe-core")
)
AXE_DIR = AXE_CACHE / "node_modules" / "axe-core"
AXE_SCRIPT = AXE_DIR / "axe.min.js"
INSTALL_TIMEOUT_S = 300
# WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def installed_version() -> str | None:
    try:
        return json.loads((AXE_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def install_axe() -> Path:
    """The script's path; installs axe-core on first use, skips when that cannot be done."""
    if installed_version() == AXE_VERSION and AXE_SCRIPT.exists():
        return AXE_SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"the accessibility tests need npm to install {AXE_PACKAGE}@{AXE_VERSION}")
    AXE_CACHE.mkdir(parents=True, exist_ok=True)
    manifest = AXE_CACHE / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true, "description": "webapp test cache"}\n')
    try:
        result = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--save-exact",
                f"{AXE_PACKAGE}@{AXE_VERSION}",
            ],
            cwd=AXE_CACHE,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install {AXE_PACKAGE}@{AXE_VERSION} took over {INSTALL_TIMEOUT_S} s")
    if result.returncode != 0 or installed_version() != AXE_VERSION:
        pytest.skip(
            f"npm install {AXE_PACKAGE}@{AXE_VERSION} into {AXE_CACHE} failed: "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
    return AXE_SCRIPT


def violations(page, script: str) -> list[str]:
    """Each WCAG A/AA violation on the page as one line: rule, impact, the first elements."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=script)
    result = page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } })", WCAG_AA
    )
    return [
        f"{found['id']} ({found['impact']}): {found['help']} at "
        + ", ".join(str(node["target"]) for node in found["nodes"][:3])
        for found in result["violations"]
    ]
