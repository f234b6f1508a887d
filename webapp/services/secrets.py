"""Re-encrypting every stored secret under the first key of SECRETS_ENCRYPTION_KEYS.

A rotation changes the ciphertext only, never a setting or the secret itself: it goes around
the ORM, so it does not bump a project's optimistic-lock version (an admin's open form stays
valid) or its `updated_at`, and it is not a settings change for the audit trail. The command
logs one summary line instead."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, CursorResult, Table

from webapp.extensions import db
from webapp.models import Project, User
from webapp.rules.encryption import SecretUnreadable
from webapp.secret_box import secret_box


@dataclass(frozen=True)
class SecretColumn:
    """A column holding values encrypted by secret_box, and the column that names its row."""

    table: Table
    column: str
    label: str


# Every stored secret. A user is named by public id: the command's output names no e-mail.
SECRET_COLUMNS = (
    SecretColumn(Project.__table__, "signing_key_encrypted", "slug"),
    SecretColumn(User.__table__, "totp_secret_encrypted", "public_id"),
)


@dataclass
class Rotation:
    rotated: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)


def secrets_count() -> int:
    return sum(
        db.session.scalar(
            db.select(db.func.count()).select_from(secret.table).where(column(secret).is_not(None))
        )
        or 0
        for secret in SECRET_COLUMNS
    )


def column(secret: SecretColumn) -> Column[Any]:
    return secret.table.c[secret.column]


def rotate_secrets(
    batch_size: int, progress: Callable[[int], None] = lambda done: None
) -> Rotation:
    """Rotate every secret, committing once per batch.

    Safe to interrupt and to run again: every row is readable by one of the keys at any time,
    and a row already under the first key is only counted."""
    rotation = Rotation()
    for secret in SECRET_COLUMNS:
        for batch in batches(secret, batch_size):
            for row_id, label, token in batch:
                rotate_row(secret, row_id, label, token, rotation)
            db.session.commit()
            progress(len(batch))
    return rotation


def batches(secret: SecretColumn, batch_size: int) -> Iterator[list[tuple[int, str, str]]]:
    """Rows in primary-key order, one page at a time (keyset paging: rows may change between)."""
    table = secret.table
    last_id = None
    while True:
        select = db.select(table.c.id, table.c[secret.label], column(secret))
        select = select.where(column(secret).is_not(None)).order_by(table.c.id).limit(batch_size)
        if last_id is not None:
            select = select.where(table.c.id > last_id)
        rows = db.session.execute(select).all()
        if not rows:
            return
        yield [(row[0], row[1], row[2]) for row in rows]
        last_id = rows[-1][0]


def rotate_row(
    secret: SecretColumn, row_id: int, label: str, token: str, rotation: Rotation
) -> None:
    if secret_box.is_current(token):
        rotation.current += 1
        return
    try:
        rotated = secret_box.rotate(token)
    except SecretUnreadable:
        rotation.unreadable.append(label)
        return
    table = secret.table
    # Columns with an automatic on-update value (updated_at) keep theirs: set each to itself.
    unchanged = {other: other for other in table.columns if other.onupdate is not None}
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        db.update(table)
        # Only if nobody wrote the row since we read it; a new value is under the first key.
        .where(table.c.id == row_id, column(secret) == token)
        .values({column(secret): rotated, **unchanged})
    )
    if result.rowcount:
        rotation.rotated += 1
    else:
        rotation.current += 1
