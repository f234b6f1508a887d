"""How the audit trail reads: each recorded change as a person would say it. Plain functions
of the stored values, with no database or request: the page and the tests call the same.

- a list shows the items added and removed, a mapping the keys added, removed and changed;
- text is shown as written (no JSON quoting or `\\u2013` escapes); other values as JSON;
- times are exact to the second, with the relative time beside them ("3 min ago").
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# On a create or delete event these are shown on the line itself; the rest one click away.
SUMMARY_FIELDS = ("name", "environment", "enabled", "is_default", "email", "is_admin")


@dataclass(frozen=True)
class Change:
    """One field's change. `kind` is "value" (before → after) or "items" (a list or a
    mapping: what was added, removed and, for a mapping, changed)."""

    field: str
    kind: str
    before: str = ""
    after: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()  # (key, before, after)


@dataclass(frozen=True)
class EventView:
    """What the page shows of one event: the changes, or for a create or delete a summary
    line and every value behind a disclosure."""

    changes: tuple[Change, ...] = ()
    summary: tuple[tuple[str, str], ...] = ()  # (field, value) on the line itself
    values: tuple[tuple[str, str], ...] = field(default=())  # every value, one click away


def show_value(value: Any) -> str:
    """Text as written; None as "none"; anything else as JSON without escapes."""
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(show_value(item) for item in value) if value else "none"
    if isinstance(value, dict):
        if not value:
            return "none"
        return "; ".join(f"{key} = {show_item(item)}" for key, item in value.items())
    return json.dumps(value, ensure_ascii=False)


def show_item(value: Any) -> str:
    """A list item or a mapping's value: strings as written, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def describe_change(name: str, before: Any, after: Any) -> Change:
    if isinstance(before, list | None) and isinstance(after, list | None) and (before or after):
        old, new = [show_item(x) for x in before or []], [show_item(x) for x in after or []]
        return Change(
            name,
            "items",
            added=tuple(x for x in new if x not in old),
            removed=tuple(x for x in old if x not in new),
        )
    if isinstance(before, dict | None) and isinstance(after, dict | None) and (before or after):
        old_map, new_map = before or {}, after or {}
        return Change(
            name,
            "items",
            added=tuple(f"{k} = {show_item(v)}" for k, v in new_map.items() if k not in old_map),
            removed=tuple(f"{k} = {show_item(v)}" for k, v in old_map.items() if k not in new_map),
            changed=tuple(
                (k, show_item(old_map[k]), show_item(v))
                for k, v in new_map.items()
                if k in old_map and old_map[k] != v
            ),
        )
    return Change(name, "value", before=show_value(before), after=show_value(after))


def event_view(
    changes: dict[str, dict[str, Any]], *, shows_before: bool, shows_after: bool
) -> EventView:
    """A create shows its new values, a delete its last ones, each summarised; any other
    event shows each change."""
    if shows_before and shows_after:
        return EventView(
            changes=tuple(
                describe_change(name, change.get("before"), change.get("after"))
                for name, change in changes.items()
            )
        )
    side = "after" if shows_after else "before"
    values = tuple((name, show_value(change.get(side))) for name, change in changes.items())
    summary = tuple((name, text) for name, text in values if name in SUMMARY_FIELDS)
    return EventView(summary=summary, values=values)


def exact_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "3 min ago", "5 h ago", "2 days ago"; a moment ahead reads "in …"."""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        amount = f"{max(1, seconds // 60)} min"
    elif seconds < 86400:
        amount = f"{seconds // 3600} h"
    else:
        days = seconds // 86400
        amount = f"{days} day{'s' if days != 1 else ''}"
    return f"in {amount}" if ahead else f"{amount} ago"
