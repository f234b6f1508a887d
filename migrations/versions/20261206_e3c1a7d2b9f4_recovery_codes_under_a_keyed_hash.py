"""recovery codes under a keyed hash

Revision ID: e3c1a7d2b9f4
Revises: ef73d284e5b0
Create Date: 2026-12-06 16:00:00

The codes were kept as a plain SHA-256, which a copy of the database could search in one pass.
They are now HMAC-SHA256(pepper, SHA-256(code)), the pepper derived from SECRET_KEY, so the
stored hashes are keyed in place: every code a user holds keeps working, and no plain hash
is left behind. The schema does not change. This runs with the app's SECRET_KEY (as
`flask db upgrade` does): the instances must then run with that same key.
"""

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "e3c1a7d2b9f4"
down_revision = "ef73d284e5b0"
branch_labels = None
depends_on = None

# As webapp.rules.totp has it today; written out here so this revision never changes.
PEPPER_LABEL = b"webapp recovery codes"

codes = sa.table(
    "recovery_codes", sa.column("id", sa.Integer), sa.column("code_hash", sa.String(64))
)


def keyed(inner_hex: str, secret_key: str) -> str:
    pepper = hmac.new(secret_key.encode("utf-8"), PEPPER_LABEL, hashlib.sha256).digest()
    return hmac.new(pepper, inner_hex.encode("ascii"), hashlib.sha256).hexdigest()


def upgrade():
    secret_key = current_app.config["SECRET_KEY"]
    connection = op.get_bind()
    for row in connection.execute(sa.select(codes.c.id, codes.c.code_hash)).all():
        connection.execute(
            codes.update()
            .where(codes.c.id == row.id)
            .values(code_hash=keyed(row.code_hash, secret_key))
        )


def downgrade():
    # A keyed hash cannot be turned back into the plain one: the codes are dropped, and their
    # users make new ones by turning two-factor off and on (their app's codes still work).
    op.execute(codes.delete())
