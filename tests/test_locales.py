import pytest

from webapp.rules.locales import InvalidLocale, best_locale, locale_choices, normalise_locale


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en_us", "en-US"),
        ("EN-us", "en-US"),
        ("de-DE", "de-DE"),
        ("pt_br", "pt-BR"),
        ("zh_hant_tw", "zh-Hant-TW"),
        ("zh-TW", "zh-Hant-TW"),
        (" fr ", "fr"),
    ],
)
def test_normalised_to_bcp47(tag, expected):
    assert normalise_locale(tag) == expected


@pytest.mark.parametrize(
    "tag",
    ["xx-YY", "../etc", "a" * 200, "", "en US", "en-US;q=1", "<script>", "und", "root", "en-ZZ"],
)
def test_unknown_or_malformed_tags_are_refused(tag):
    with pytest.raises(InvalidLocale):
        normalise_locale(tag)


def test_best_locale_skips_what_babel_does_not_know():
    assert best_locale(["xx-YY", "pt-br", "en"]) == "pt-BR"
    assert best_locale([]) == "en-US"


def test_choices_cover_babel_by_display_name():
    choices = dict(locale_choices())
    assert len(choices) > 500
    assert choices["de-DE"] == "German (Germany) · de-DE"
    assert all(normalise_locale(tag) == tag for tag in ("en-US", "pt-BR", "zh-Hant-TW"))
