"""Usage figures: counted in memory by the token path and sign-ins, written in batches that add
up across processes, purged past the retention, and read by admins as pages and JSON."""

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from helpers import MIGRATIONS, PASSWORD, Forms, app_settings

from webapp import create_app
from webapp.extensions import db
from webapp.models import SignInUsage, TokenUsage
from webapp.observability.metrics import usage_of
from webapp.observability.usage import ISSUED, SIGN_INS, TOKENS, UsageCounter
from webapp.services import usage


def this_hour() -> int:
    now = int(time.time())
    return now - now % 3600


@pytest.fixture
def admin_client(app, admin):
    """An admin in a browser of their own, beside `client` (the end user's)."""
    browser = app.test_client()
    response = Forms(browser).post("/login", {"email": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def stored_tokens(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(db.select(TokenUsage.outcome, TokenUsage.count)).all()
        return dict(Counter(dict(rows)))


def test_tokens_issued_and_refused_reach_usage_json(
    app, client, signed_in_user, make_project, admin_client
):
    make_project("demo")
    for _ in range(3):
        assert client.get("/auth/authorize/demo").status_code == 200  # the fast path
    assert client.post("/auth/authorize?project=demo").status_code == 200  # Flask's view
    assert client.get("/auth/authorize/nothing").status_code == 404  # no project: not counted
    anonymous = app.test_client()
    for _ in range(2):
        assert anonymous.get("/auth/authorize/demo").status_code == 401
    assert anonymous.options("/auth/authorize/demo").status_code == 204  # asks for no token

    usage_of(app).write_batch()

    answer = admin_client.get("/admin/projects/demo/usage.json?hours=3")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["project"] == "demo"
    assert [len(body["hours"]), body["hours"][-1]["issued"]] == [3, 4]
    assert body["hours"][-1]["refused"] == {"not_signed_in": 2}
    assert body["hours"][0] == {
        "start": (datetime.fromtimestamp(this_hour(), UTC) - timedelta(hours=2)).isoformat(),
        "issued": 0,
        "refused": {},
    }


def test_sign_ins_are_counted_by_outcome(app, client, user, forms, admin_client):
    forms.post("/login", {"email": user.email, "password": "wrong password!"})
    forms.post("/login", {"email": "nobody@example.com", "password": "wrong password!"})
    forms.post("/login", {"email": user.email, "password": PASSWORD})
    usage_of(app).write_batch()
    with app.app_context():
        rows = dict(db.session.execute(db.select(SignInUsage.outcome, SignInUsage.count)).all())
    # The admin's own sign-in (admin_client) counts too.
    assert rows == {"success": 2, "wrong_password": 1, "unknown_email": 1}
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "Sign-ins, last 7 days" in page
    assert "Wrong password" in page


def test_batches_from_two_workers_add_up(make_app, make_project):
    """Two apps on one database stand for two workers (or instances) writing the same hour."""
    first, second = make_app(), make_app()
    make_project("demo")
    hour = this_hour()
    for app, issued in ((first, 5), (second, 7), (first, 1)):
        batch = Counter({(TOKENS, hour, "demo", ISSUED): issued})
        batch[(SIGN_INS, hour, "", "success")] = 1
        assert usage.write_for(app, batch)
    assert stored_tokens(first) == {ISSUED: 13}
    with first.app_context():
        assert db.session.scalar(db.select(SignInUsage.count)) == 3


def test_counts_wait_in_memory_until_a_batch_is_written(app, client, signed_in_user, make_project):
    make_project("demo")
    client.get("/auth/authorize/demo")
    client.get("/auth/authorize/demo")
    assert stored_tokens(app) == {}  # the request wrote nothing
    counter = usage_of(app)
    assert counter.writer is not None and counter.writer.daemon  # started by the first count
    assert counter.counts[(TOKENS, this_hour(), "demo", ISSUED)] == 2
    counter.write_batch()
    assert stored_tokens(app) == {ISSUED: 2}
    assert not counter.counts
    counter.write_batch()  # nothing new: nothing added
    assert stored_tokens(app) == {ISSUED: 2}


def test_a_failed_write_keeps_the_counts_for_the_next_try(tmp_path):
    """A database without the tables refuses the write as one that is away would."""
    url = f"sqlite:///{tmp_path / 'later.sqlite3'}"
    app = create_app(app_settings(url), instance_path=str(tmp_path / "instance"))
    counter = UsageCounter()
    counter.write = lambda batch: usage.write_for(app, batch)
    counter.bump(SIGN_INS, "", "success")
    counter.bump(SIGN_INS, "", "success")
    counter.write_batch()  # no exception: the writer thread must live on
    assert sum(counter.counts.values()) == 2
    counter.bump(SIGN_INS, "", "success")
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        counter.write_batch()
        assert db.session.scalar(db.select(SignInUsage.count)) == 3
        db.engine.dispose()
    assert not counter.counts
    counter.close()


def test_hours_past_the_retention_are_purged(make_app, make_project):
    app = make_app(USAGE_RETENTION_DAYS=30)
    make_project("demo")
    hour = this_hour()
    old, kept = hour - 31 * 86400, hour - 29 * 86400
    batch = Counter(
        {
            (TOKENS, old, "demo", ISSUED): 4,
            (TOKENS, kept, "demo", ISSUED): 2,
            (SIGN_INS, old, "", "success"): 1,
        }
    )
    assert usage.write_for(app, batch)
    with app.app_context():
        hours = db.session.scalars(db.select(TokenUsage.hour)).all()
        assert hours == [datetime.fromtimestamp(kept, UTC)]
        assert db.session.scalar(db.select(db.func.count()).select_from(SignInUsage)) == 0


def test_counts_of_a_deleted_project_are_dropped(app, make_project):
    project = make_project("demo")
    assert usage.write_for(app, Counter({(TOKENS, this_hour(), "demo", ISSUED): 1}))
    with app.app_context():
        from webapp.services.projects import delete_project

        delete_project(db.session.get(type(project), project.id), None)
        db.session.commit()
    assert stored_tokens(app) == {}
    # Counted before the deletion, written after: nothing to add them to.
    assert usage.write_for(app, Counter({(TOKENS, this_hour(), "demo", ISSUED): 1}))
    assert stored_tokens(app) == {}


@pytest.mark.parametrize("hours", ["0", "-1", "abc", "1.5", "٣", "2161", "9" * 30, "%00", " "])
def test_usage_json_refuses_bad_hours(admin_client, make_project, hours):
    make_project("demo")
    answer = admin_client.get(f"/admin/projects/demo/usage.json?hours={hours}")
    if hours == " ":  # blank is no value: the default, 24 hours
        assert len(answer.get_json()["hours"]) == 24
        return
    assert answer.status_code == 400
    if hours == "%00":  # refused before any view by the input guard, with its own page
        return
    assert answer.get_json() == {
        "success": False,
        "error": "“hours” takes a whole number from 1 to 2,160.",
    }


def test_usage_json_answers_the_longest_span_and_unknown_projects(admin_client, make_project):
    make_project("demo")
    longest = admin_client.get("/admin/projects/demo/usage.json?hours=2160").get_json()
    assert len(longest["hours"]) == 2160
    answer = admin_client.get("/admin/projects/nope/usage.json")
    assert answer.status_code == 404
    assert answer.get_json() == {"success": False, "error": "There is no project “nope”."}


def test_usage_is_for_admins_only(app, client, signed_in_user, make_project):
    make_project("demo")
    assert client.get("/admin/projects/demo/usage.json").status_code == 403
    assert client.get("/admin/projects/demo/usage").status_code == 403
    assert app.test_client().get("/admin/projects/demo/usage.json").status_code == 302


def test_usage_page_shows_each_span_with_refusals_by_reason(app, admin_client, make_project):
    make_project("demo", name="Pilot")
    hour = this_hour()
    batch = Counter(
        {
            (TOKENS, hour, "demo", ISSUED): 1234,
            (TOKENS, hour, "demo", "not_signed_in"): 5,
            (TOKENS, hour - 3 * 86400, "demo", "cannot_sign"): 2,
        }
    )
    assert usage.write_for(app, batch)
    day = admin_client.get("/admin/projects/demo/usage?period=24h").get_data(as_text=True)
    assert "Usage: Pilot" in day
    assert "1,234" in day and "refused: not signed in" in day and "Not signed in" in day
    assert "cannot sign" not in day  # three days ago
    week = admin_client.get("/admin/projects/demo/usage").get_data(as_text=True)
    assert '<rect class="series-cannot_sign"' in week
    assert "Cannot sign" in week
    assert admin_client.get("/admin/projects/demo/usage?period=30d").status_code == 200
    assert admin_client.get("/admin/projects/demo/usage?period=1y").status_code == 400
    assert admin_client.get("/admin/projects/nope/usage").status_code == 404


def test_dashboard_charts_each_project_with_its_totals(app, admin_client, make_project):
    make_project("busy", name="Busy")
    make_project("idle", name="Idle")
    batch = Counter(
        {(TOKENS, this_hour(), "busy", ISSUED): 40, (TOKENS, this_hour(), "busy", "cannot_sign"): 3}
    )
    assert usage.write_for(app, batch)
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert page.index("Busy") < page.index("Idle")  # the busiest first
    assert "<strong>40</strong> issued · <strong>3</strong> refused" in page
    assert "<strong>0</strong> issued · <strong>0</strong> refused" in page
    assert 'href="/admin/projects/busy/usage"' in page


# Run in a process of its own: forking pytest itself, with its threads, is not safe.
FORK = """
import os
from webapp.observability.usage import SIGN_INS, UsageCounter

written = []
counter = UsageCounter()
counter.write = lambda batch: written.append(sum(batch.values())) or True
counter.bump(SIGN_INS, "", "success")
assert counter.writer is not None
pid = os.fork()
if pid == 0:  # the child counts afresh, with a writer of its own once it counts
    fresh = not counter.counts and counter.writer is None
    counter.bump(SIGN_INS, "", "success")
    counter.write_batch()
    os._exit(0 if fresh and counter.writer.is_alive() and written == [1] else 1)
_, status = os.waitpid(pid, 0)
counter.write_batch()
assert os.waitstatus_to_exitcode(status) == 0, "the child kept the parent's counts"
assert written == [1], written
print("ok")
"""


def test_a_forked_worker_counts_only_its_own_requests():
    done = subprocess.run([sys.executable, "-c", FORK], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
