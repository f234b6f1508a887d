"""How the admin pages and the token endpoint hold up with 10,000 projects and 1,000,000
audit events. Run with `make bench-admin`; results go to bench/RESULTS.md by hand, from one run.

Requests go through Flask's test client, so the figures are the application's own time
(database included), without a network or a WSGI server in front.
"""

import os
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.extensions import db
from webapp.models import Project, User

# BENCH_PROJECTS and BENCH_EVENTS give a small baseline to compare the large run with.
PROJECTS = int(os.environ.get("BENCH_PROJECTS", 10_000))
EVENTS = int(os.environ.get("BENCH_EVENTS", 1_000_000))
ROUNDS = 30
PASSWORD = "bench password 1234"  # noqa: S105  (a throwaway account in a throwaway database)

SEED_EVENTS = {
    # One statement each, so a million rows take seconds, not minutes.
    "postgresql": """
        INSERT INTO audit_events
            (created_at, actor_id, target_type, target_id, target_label, action, changes)
        SELECT now(), :admin, 'project', 1 + n % :projects, 'p' || (1 + n % :projects),
               'update', '{"name": {"before": "a", "after": "b"}}'
        FROM generate_series(1, :events) AS n
    """,
    "sqlite": """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :events)
        INSERT INTO audit_events
            (created_at, actor_id, target_type, target_id, target_label, action, changes)
        SELECT datetime('now'), :admin, 'project', 1 + i % :projects, 'p' || (1 + i % :projects),
               'update', '{"name": {"before": "a", "after": "b"}}'
        FROM n
    """,
}


def build(app) -> int:
    """A fresh schema with an admin, the projects and the events; returns the admin's id."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    admin = User(email="admin@example.com", is_admin=True)
    admin.password_hash = generate_password_hash(PASSWORD)
    db.session.add(admin)
    template = Project(slug="x", name="x", session_server="x", issuer="x")
    template.set_signing_key("k" * 32)
    db.session.execute(
        sa.insert(Project),
        [
            {
                "slug": f"p{n}",
                "name": f"Project {n:05}",
                "session_server": "dh.soulmachines.cloud",
                "issuer": f"sm-{n}",
                "signing_key_encrypted": template.signing_key_encrypted,
                "signing_key_fingerprint": template.signing_key_fingerprint,
                "allowed_origins": [],
                "custom_claims": {},
                "is_default": n == 1,
            }
            for n in range(1, PROJECTS + 1)
        ],
    )
    db.session.commit()
    started = time.perf_counter()
    db.session.execute(
        sa.text(SEED_EVENTS[db.engine.dialect.name]),
        {"admin": admin.id, "projects": PROJECTS, "events": EVENTS},
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    print(f"seeded {EVENTS:,} events in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return admin.id


def timed(client, path: str, method: str = "GET") -> list[float]:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.open(path, method=method)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app(
        {
            "DEPLOYMENT": "development",
            "SECRET_KEY": "bench",
            "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
        },
        instance_path=tempfile.mkdtemp(),
    )
    with app.app_context():
        admin_id = build(app)
        middle = (
            db.session.scalar(
                sa.select(sa.func.max(sa.text("id"))).select_from(sa.text("audit_events"))
            )
            // 2
        )
        dialect = db.engine.dialect.name
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    pages = [
        ("GET", "/admin/projects"),
        ("GET", f"/admin/projects?page={PROJECTS // 50}"),
        ("GET", f"/admin/projects?q=project%20{PROJECTS - 1:05}"),
        ("GET", "/admin/audit"),
        ("GET", f"/admin/audit?before={middle}"),
        ("GET", f"/admin/audit?project=p{PROJECTS // 2}"),
        ("GET", f"/admin/audit?admin={admin_id}&before={middle}"),
        ("GET", "/admin/audit?project=gone-project"),
        ("GET", "/admin/"),
        ("POST", "/auth/authorize?project=p1"),
    ]
    print(f"{dialect}: {PROJECTS:,} projects, {EVENTS:,} audit events, {ROUNDS} requests each")
    print("| request | median ms | p90 ms |")
    print("|---|---:|---:|")
    for method, path in pages:
        times = sorted(timed(client, path, method))
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"| `{method} {path}` | {statistics.median(times):.1f} | {p90:.1f} |")


if __name__ == "__main__":
    main()
