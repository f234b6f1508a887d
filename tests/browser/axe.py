"""axe-core (npm `axe-core`, pinned exactly), installed once into a cache folder outside the
repository, the way web_sdk.py installs the vendor's SDK, and run on a page.

The pages' Content-Security-Policy forbids injected scripts, so the page that runs axe must
come from a browser context made with `bypass_csp=True`.
"""

from pathlib import Path

import pytest
from npm_cache import cache_folder, installed_version, npm

AXE_PACKAGE = "axe-core"
AXE_VERSION = "4.14.1"
AXE_CACHE = cache_folder("AXE_CORE_CACHE", "axe-core")
AXE_SCRIPT = AXE_CACHE / "node_modules" / AXE_PACKAGE / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def install_axe() -> Path:
    """The script's path; installs axe-core on first use, skips when that cannot be done."""
    if installed_version(AXE_CACHE, AXE_PACKAGE) != AXE_VERSION or not AXE_SCRIPT.exists():
        npm(AXE_CACHE, "install", "--save-exact", f"{AXE_PACKAGE}@{AXE_VERSION}", what="axe-core")
        if installed_version(AXE_CACHE, AXE_PACKAGE) != AXE_VERSION:
            pytest.skip(f"npm did not install {AXE_PACKAGE}@{AXE_VERSION} into {AXE_CACHE}")
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
