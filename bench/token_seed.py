"""The token benchmark's databases: migrated by the CLI, then seeded in bulk through Core.

Run as a script in the app's environment (`DATABASE_URL`, secrets):
    python bench/token_seed.py USERS PROJECTS [BEARER_ISSUER]
prints one JSON line: the signed-in user's email and the slugs of the measured projects.
With BEARER_ISSUER, the project `bench-bearer` trusts that identity provider
(bench/token_provider.py).
"""

import json
import sys
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.extensions import db
from webapp.models import Project, User
from webapp.rules.encryption import fingerprint
from webapp.secret_box import secret_box

EMAIL = "bench@example.com"
PASSWORD = "bench password 1234"  # noqa: S105  (a throwaway account in a throwaway database)
HS256_KEY = "k" * 32
BATCH = 5_000


def pem(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def project_row(slug: str, key: str, algorithm: str, now: datetime) -> dict:
    return {
        "slug": slug,
        "name": slug.title(),
        "session_server": "dh.soulmachines.cloud",
        "issuer": "bench-issuer",
        "algorithm": algorithm,
        "signing_key_encrypted": secret_box.encrypt(key),
        "signing_key_fingerprint": fingerprint(key),
        "allowed_origins": [],
        "custom_claims": {},
        "token_lifetime": 1800,
        "environment": "production",
        "control_via_browser": False,
        "is_default": False,
        "enabled": True,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def bearer_project_row(issuer: str, now: datetime) -> dict:
    """HS256 out, like `bench`; bearer tokens from `issuer` in."""
    return {
        **project_row("bench-bearer", HS256_KEY, "HS256", now),
        "oidc_issuer": issuer,
        "oidc_audiences": ["bench-web"],
        "oidc_max_age": 7 * 86_400,
    }


def seed(users: int, projects: int, bearer_issuer: str | None = None) -> dict:
    now = datetime.now(UTC)
    password_hash = generate_password_hash(PASSWORD)
    slugs = {"HS256": "bench", "ES256": "bench-es256", "RS256": "bench-rs256"}
    measured = [
        project_row(slugs["HS256"], HS256_KEY, "HS256", now),
        project_row(slugs["ES256"], pem(ec.generate_private_key(ec.SECP256R1())), "ES256", now),
        project_row(slugs["RS256"], pem(rsa.generate_private_key(65537, 2048)), "RS256", now),
    ]
    with db.engine.begin() as connection:
        rows = [measured]
        rows += [
            [project_row(f"p{number}", HS256_KEY, "HS256", now) for number in range(start, end)]
            for start, end in batches(len(measured), projects)
        ]
        for batch in rows:
            connection.execute(Project.__table__.insert(), batch)
        if bearer_issuer:
            row = bearer_project_row(bearer_issuer, now)
            connection.execute(Project.__table__.insert(), [row])
            slugs["bearer"] = row["slug"]
        connection.execute(User.__table__.insert(), [user_row(EMAIL, password_hash, now)])
        for start, end in batches(1, users):
            batch = [user_row(f"u{n}@example.com", password_hash, now) for n in range(start, end)]
            connection.execute(User.__table__.insert(), batch)
    return {"email": EMAIL, "password": PASSWORD, "slugs": slugs}


def user_row(email: str, password_hash: str, now: datetime) -> dict:
    return {
        "public_id": str(uuid.uuid4()),
        "email": email,
        "password_hash": password_hash,
        "locale": "en-US",
        "is_admin": False,
        "is_active": True,
        "created_at": now,
        "session_version": 1,
    }


def batches(start: int, total: int) -> list[tuple[int, int]]:
    return [(low, min(low + BATCH, total)) for low in range(start, total, BATCH)]


if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        bearer_issuer = sys.argv[3] if len(sys.argv) > 3 else None
        print(json.dumps(seed(int(sys.argv[1]), int(sys.argv[2]), bearer_issuer)))
