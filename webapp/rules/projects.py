"""Every rule a project's settings obey: its name and slug, its flags, and the token rules."""

import re
from typing import Any, Protocol

from webapp.rules.claims import TokenSettings, is_text, project_problems
from webapp.rules.identity_providers import ProviderSettings, provider_problems
from webapp.rules.problems import Problem

MAX_NAME, MAX_SLUG = 120, 64
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Words that are pages of their own under /admin/projects/.
RESERVED_SLUGS = frozenset({"new"})
FLAGS = ("is_default", "enabled")


class ProjectSettings(TokenSettings, ProviderSettings, Protocol):
    name: str
    slug: str
    is_default: bool
    enabled: bool


def settings_problems(settings: ProjectSettings) -> list[Problem]:
    """What a project must satisfy to be stored; values of any type are judged, not trusted."""
    problems: list[Problem] = []
    name: Any = settings.name
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("name", "required"))
    elif not is_text(name, MAX_NAME):
        problems.append(Problem("name", "text", {"longest": MAX_NAME}))
    problems.extend(slug_problems(settings.slug))
    for flag in FLAGS:
        if not isinstance(getattr(settings, flag), bool):
            problems.append(Problem(flag, "boolean"))
    return problems + project_problems(settings) + provider_problems(settings)


def slug_problems(slug: object) -> list[Problem]:
    """A slug is part of URLs and file names: the whole of it must match, not just its start."""
    if not isinstance(slug, str) or not slug:
        return [Problem("slug", "required")]
    if len(slug) > MAX_SLUG or not SLUG.fullmatch(slug):
        return [Problem("slug", "pattern")]
    if slug in RESERVED_SLUGS:
        return [Problem("slug", "reserved", {"slug": slug})]
    return []
