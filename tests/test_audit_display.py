"""How the audit trail reads (webapp/rules/audit_display.py), without a browser: lists and
mappings as items added and removed, text as written, exact and relative times, and a create
or delete summarised with every value one click away."""

import html
from datetime import UTC, datetime, timedelta

import pytest

from webapp.rules.audit_display import (
    describe_change,
    event_view,
    exact_time,
    relative_time,
    show_value,
)

NOW = datetime(2026, 12, 6, 15, 0, 0, tzinfo=UTC)


def test_a_list_change_shows_only_the_items_added_and_removed():
    change = describe_change(
        "allowed_origins",
        ["https://a.example.com", "https://b.example.com"],
        ["https://b.example.com", "https://c.example.com"],
    )
    assert change.kind == "items"
    assert change.added == ("https://c.example.com",)
    assert change.removed == ("https://a.example.com",)


def test_a_list_from_nothing_is_all_added():
    change = describe_change("allowed_origins", None, ["https://a.example.com"])
    assert (change.added, change.removed) == (("https://a.example.com",), ())


def test_a_mapping_change_shows_keys_added_removed_and_changed():
    change = describe_change(
        "custom_claims",
        {"tier": 2, "team": "Ava", "old": True},
        {"tier": 3, "team": "Ava", "new": "x"},
    )
    assert change.added == ("new = x",)
    assert change.removed == ("old = true",)
    assert change.changed == (("tier", "2", "3"),)


def test_text_is_shown_as_written():
    change = describe_change("name", "Ava – Support", "Ava – Customer Support")
    assert (change.before, change.after) == ("Ava – Support", "Ava – Customer Support")
    assert show_value({"team": "Zoë"}) == "team = Zoë"
    assert show_value(None) == "none" and show_value(True) == "yes" and show_value(1800) == "1800"


def test_a_create_is_summarised_with_every_value_behind_it():
    changes = {
        "name": {"before": None, "after": "Shop"},
        "environment": {"before": None, "after": "development"},
        "issuer": {"before": None, "after": "sm-abc"},
        "allowed_origins": {"before": None, "after": ["https://a.example.com"]},
    }
    view = event_view(changes, shows_before=False, shows_after=True)
    assert view.changes == ()
    assert view.summary == (("name", "Shop"), ("environment", "development"))
    assert dict(view.values)["allowed_origins"] == "https://a.example.com"
    assert len(view.values) == 4


def test_a_delete_shows_the_last_values():
    changes = {"name": {"before": "Shop", "after": None}}
    view = event_view(changes, shows_before=True, shows_after=False)
    assert view.values == (("name", "Shop"),)


def test_times_to_the_second_in_utc():
    moment = datetime(2026, 12, 6, 14, 4, 9, tzinfo=UTC)
    assert exact_time(moment) == "2026-12-06 14:04:09 UTC"


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(seconds=50), "1 min ago"),
        (timedelta(minutes=3, seconds=20), "3 min ago"),
        (timedelta(hours=5, minutes=59), "5 h ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=12), "12 days ago"),
        (-timedelta(minutes=4), "in 4 min"),
    ],
)
def test_relative_time(ago, text):
    assert relative_time(NOW - ago, NOW) == text


def test_the_page_shows_added_origins_and_unescaped_text(
    client, forms, make_project, signed_in_admin
):
    from test_admin_projects import edit_data

    project = make_project("shop", name="Ava", allowed_origins=["https://a.example.com"])
    data = edit_data(
        project,
        name="Ava – Customer Support",
        allowed_origins="https://a.example.com\nhttps://b.example.com",
    )
    assert forms.post("/admin/projects/shop", data).status_code == 302
    page = html.unescape(client.get("/admin/audit?project=shop").get_data(as_text=True))
    update = page[page.index("update project") :]
    assert '<ins class="after">Ava – Customer Support</ins>' in update
    assert "\\u2013" not in page
    origins = update[update.index('data-field="allowed_origins"') :].split("</dl>")[0]
    assert '<ins class="after">https://b.example.com</ins>' in origins
    assert "https://a.example.com" not in origins  # unchanged: not shown
    # The project's pages' tabs, with History the current one.
    assert 'aria-current="page">History</a>' in page
    assert "UTC</time>" in page and "just now" in page
