"""Usage per hour in the database: the batches each process's counter hands over
(webapp/observability/usage.py), added to what other workers and instances wrote, and the
figures the admin pages and usage.json read back."""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import Table, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.models import Project, SignInUsage, TokenUsage
from webapp.observability.metrics import usage_of
from webapp.observability.usage import ISSUED, SIGN_INS, TOKENS, Key

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def init_app(app: Flask) -> None:
    """The app's usage counter (made with its metrics) writes through `write_for`."""
    usage_of(app).write = partial(write_for, app)


def write_for(app: Flask, batch: Counter[Key]) -> bool:
    """The counter's writer: never raises for a database that is away, says so instead."""
    with app.app_context():
        try:
            write_counts(batch, retention_days=app.config["USAGE_RETENTION_DAYS"])
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning("usage counts kept for the next try: %s", str(error).splitlines()[0])
            return False
    return True


def write_counts(batch: Counter[Key], *, retention_days: int, now: datetime | None = None) -> None:
    """Add a batch to the stored counts, drop hours past the retention, and commit."""
    token_counts = {key: n for key, n in batch.items() if key[0] == TOKENS}
    slugs = {slug for _, _, slug, _ in token_counts}
    project_ids = dict(
        db.session.execute(select(Project.slug, Project.id).where(Project.slug.in_(slugs))).all()
    )
    # A project deleted or renamed since its last token was counted loses those seconds.
    token_rows = [
        {"project_id": project_ids[slug], "hour": at(hour), "outcome": outcome, "count": n}
        for (_, hour, slug, outcome), n in token_counts.items()
        if slug in project_ids
    ]
    sign_in_rows = [
        {"hour": at(hour), "outcome": outcome, "count": n}
        for (kind, hour, _, outcome), n in batch.items()
        if kind == SIGN_INS
    ]
    add_rows(TokenUsage.__table__, token_rows)
    add_rows(SignInUsage.__table__, sign_in_rows)
    purge(retention_days, now)
    db.session.commit()


def at(hour: int) -> datetime:
    return datetime.fromtimestamp(hour, UTC)


def add_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count: another worker's
    count for the same hour is added to, not overwritten."""
    if not rows:
        return
    keys = [column.name for column in table.primary_key.columns]
    # The same order in every worker, so two of them upserting at once never deadlock.
    rows.sort(key=lambda row: [row[name] for name in keys])
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={"count": table.c["count"] + statement.excluded["count"]}
    )
    db.session.execute(statement, rows)


def purge(retention_days: int, now: datetime | None = None) -> None:
    cutoff = hour_of(now) - timedelta(days=retention_days)
    db.session.execute(delete(TokenUsage).where(TokenUsage.hour < cutoff))
    db.session.execute(delete(SignInUsage).where(SignInUsage.hour < cutoff))


def forget_project(project_id: int) -> None:
    """With its project (SQLite keeps no foreign keys, and may give the id to a new one)."""
    db.session.execute(delete(TokenUsage).where(TokenUsage.project_id == project_id))


def hour_of(moment: datetime | None = None) -> datetime:
    moment = moment or datetime.now(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass
class Period:
    """Counts by outcome from `start`, for one hour or one day."""

    start: datetime
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def issued(self) -> int:
        return self.counts[ISSUED]

    @property
    def refused(self) -> dict[str, int]:
        return {outcome: n for outcome, n in sorted(self.counts.items()) if outcome != ISSUED}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def periods(start: datetime, count: int, width: timedelta) -> list[Period]:
    return [Period(start + width * index) for index in range(count)]


def last_hours(hours: int, now: datetime | None = None) -> list[Period]:
    """The last `hours` hours, this one included, oldest first."""
    return periods(hour_of(now) - HOUR * (hours - 1), hours, HOUR)


def last_days(days: int, now: datetime | None = None) -> list[Period]:
    """The last `days` days (UTC), today included, oldest first."""
    today = hour_of(now).replace(hour=0)
    return periods(today - DAY * (days - 1), days, DAY)


def width_of(buckets: list[Period]) -> timedelta:
    return buckets[1].start - buckets[0].start if len(buckets) > 1 else HOUR


def fill(buckets: list[Period], rows: Any) -> list[Period]:
    """Add (hour, outcome, count) rows into the buckets they fall in."""
    width, first = width_of(buckets), buckets[0].start
    for hour, outcome, n in rows:
        index = (hour - first) // width
        if 0 <= index < len(buckets):
            buckets[index].counts[outcome] += n
    return buckets


def token_usage(project_ids: list[int], buckets: list[Period]) -> dict[int, list[Period]]:
    """For each project, the buckets (copies of `buckets`) filled with its tokens."""
    end = buckets[-1].start + width_of(buckets)
    rows = db.session.execute(
        select(TokenUsage.project_id, TokenUsage.hour, TokenUsage.outcome, TokenUsage.count).where(
            TokenUsage.project_id.in_(project_ids),
            TokenUsage.hour >= buckets[0].start,
            TokenUsage.hour < end,
        )
    )
    by_project: dict[int, list[tuple[datetime, str, int]]] = {id_: [] for id_ in project_ids}
    for project_id, hour, outcome, n in rows:
        by_project[project_id].append((hour, outcome, n))
    return {
        id_: fill([Period(bucket.start) for bucket in buckets], project_rows)
        for id_, project_rows in by_project.items()
    }


def sign_in_usage(buckets: list[Period]) -> list[Period]:
    rows = db.session.execute(
        select(SignInUsage.hour, SignInUsage.outcome, SignInUsage.count).where(
            SignInUsage.hour >= buckets[0].start
        )
    )
    return fill(buckets, rows)


def busiest_projects(since: datetime, limit: int) -> list[Project]:
    """Projects by their tokens (issued and refused) since `since`, then by name."""
    total = func.coalesce(func.sum(TokenUsage.count), 0)
    joined = and_(TokenUsage.project_id == Project.id, TokenUsage.hour >= since)
    query = (
        select(Project)
        .outerjoin(TokenUsage, joined)
        .group_by(Project.id)
        .order_by(total.desc(), Project.name)
        .limit(limit)
    )
    return list(db.session.scalars(query))
