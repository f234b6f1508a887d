"""Locales as BCP 47 tags, checked and normalised with Babel's CLDR data."""

import re
from collections.abc import Iterable
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers

DEFAULT_LOCALE = "en-US"
# Language, script, territory and variant subtags, separated by "-" or "_".
TAG_SHAPE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8}){0,4}")


class InvalidLocale(ValueError):
    """A tag Babel does not know, or no tag at all."""


def normalise_locale(tag: str) -> str:
    """'en_us' and 'EN-us' become 'en-US'; anything Babel does not know is refused."""
    tag = (tag or "").strip()
    if not TAG_SHAPE.fullmatch(tag):
        raise InvalidLocale("Enter a locale tag such as en-US, de-DE or pt-BR.")
    unknown = InvalidLocale(f"“{tag}” is not a locale we know. Pick one from the list.")
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise unknown from None
    normalised = to_bcp47(locale)
    # Babel fills in likely subtags (zh-TW → zh-Hant-TW) but also swaps unknown ones
    # (en-ZZ → en-US, und → en-US): only accept a tag whose every part survives.
    asked = set(re.split("[-_]", tag.lower()))
    if locale.language == "root" or not asked <= set(normalised.lower().split("-")):
        raise unknown
    return normalised


def to_bcp47(locale: Locale) -> str:
    parts = (locale.language, locale.script, locale.territory, locale.variant)
    return "-".join(part for part in parts if part)


def best_locale(preferred: Iterable[str]) -> str:
    """The first locale we know from a browser's Accept-Language, else en-US."""
    for tag in preferred:
        try:
            return normalise_locale(tag)
        except InvalidLocale:
            continue
    return DEFAULT_LOCALE


@cache
def locale_choices() -> list[tuple[str, str]]:
    """(tag, English display name) for every locale Babel knows, sorted by name.

    Names are composed from English CLDR data so that only one locale's data is loaded.
    """
    english = Locale("en")
    choices = []
    for identifier in locale_identifiers():
        if identifier == "root":
            continue
        language, _, rest = identifier.partition("_")
        details = [
            english.scripts.get(part) or english.territories.get(part) or part
            for part in rest.split("_")
            if part
        ]
        name = english.languages.get(language, language)
        if details:
            name = f"{name} ({', '.join(details)})"
        choices.append((name, identifier.replace("_", "-")))
    return [
        (tag, f"{name} · {tag}")
        for name, tag in sorted(choices, key=lambda choice: choice[0].casefold())
    ]


# Offered first in the locale picker: the locales most Digital People speak.
COMMON_LOCALES = (
    "en-US", "en-GB", "en-AU", "en-CA", "en-IN", "de-DE", "fr-FR", "fr-CA", "es-ES", "es-MX",
    "it-IT", "pt-BR", "pt-PT", "nl-NL", "sv-SE", "da-DK", "nb-NO", "fi-FI", "pl-PL", "tr-TR",
    "ja-JP", "ko-KR", "zh-Hans-CN", "zh-Hant-TW", "ar-SA", "hi-IN",
)  # fmt: skip


@cache
def locale_suggestions() -> list[tuple[str, str]]:
    """(tag, name) for the picker: the common locales first, then every other by name."""
    names = {tag: label.rpartition(" · ")[0] for tag, label in locale_choices()}
    common = [(tag, names[tag]) for tag in COMMON_LOCALES if tag in names]
    return common + [(tag, name) for tag, name in names.items() if tag not in COMMON_LOCALES]
