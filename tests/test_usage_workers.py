"""Usage figures through the production server: two worker processes count for themselves,
write within 10 s and when they stop, and admins see the sum in usage.json and on the chart."""

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from helpers import ENCRYPTION_KEY, PASSWORD, SECRET_KEY, Forms
from servers import production_server
from test_metrics_workers import worker_pids_that_counted

from webapp.extensions import db
from webapp.models import TokenUsage

ROUNDS = 50  # at most this many rounds of ROUND_SIZE token requests (one worker may take many)
ROUND_SIZE = 20
VISIBLE_WITHIN = 15  # seconds, from the last request to the figures on the admin's pages


def get(url: str, cookie: str | None = None) -> tuple[int, str]:
    # A new connection per request (urllib closes it), so the workers share the load.
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def session_cookie(client) -> str:
    session = client.get_cookie("session")
    assert session is not None
    return f"session={session.value}"  # signed with the SECRET_KEY the server is given too


def test_two_workers_figures_reach_usage_json_and_the_chart(
    app, client, database_url, make_project, signed_in_user, admin, tmp_path
):
    make_project("demo")
    user_cookie = session_cookie(client)
    admin_browser = app.test_client()
    Forms(admin_browser).post("/login", {"email": admin.email, "password": PASSWORD})
    admin_cookie = session_cookie(admin_browser)
    multiprocess_dir = tmp_path / "metrics"
    multiprocess_dir.mkdir()
    settings = {
        "FLASK_DEPLOYMENT": "development",
        "FLASK_SECRET_KEY": SECRET_KEY,
        "FLASK_SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),  # shows which workers answered
        "FLASK_RATELIMIT_TOKEN_PER_USER": "100000 per minute",
    }

    issued = refused = 0
    with production_server(settings, tmp_path / "server.log", workers=2) as base_url:
        token_url = f"{base_url}/auth/authorize/demo"
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(ROUNDS):
                asked = [user_cookie] * ROUND_SIZE + [None] * (ROUND_SIZE // 4)
                statuses = [status for status, _ in pool.map(lambda c: get(token_url, c), asked)]
                assert sorted(statuses) == [200] * ROUND_SIZE + [401] * (ROUND_SIZE // 4)
                issued += ROUND_SIZE
                refused += ROUND_SIZE // 4
                if len(worker_pids_that_counted(multiprocess_dir)) >= 2:
                    break
        assert len(worker_pids_that_counted(multiprocess_dir)) == 2, "one worker served them all"
        last_request = time.monotonic()

        hours: list = []
        while time.monotonic() - last_request < VISIBLE_WITHIN:
            status, body = get(f"{base_url}/admin/projects/demo/usage.json?hours=2", admin_cookie)
            assert status == 200, body
            hours = json.loads(body)["hours"]
            if sum(hour["issued"] for hour in hours) == issued:
                break
            time.sleep(0.5)
        # Figures of the hour just begun: the requests may straddle two hours.
        assert sum(hour["issued"] for hour in hours) == issued
        assert sum(hour["refused"].get("not_signed_in", 0) for hour in hours) == refused
        status, page = get(f"{base_url}/admin/projects/demo/usage?period=24h", admin_cookie)
        assert status == 200
        assert time.monotonic() - last_request < VISIBLE_WITHIN
        assert f"<strong>{issued:,}</strong><span>tokens issued in 24 hours</span>" in page
        assert f"{issued:,} issued, {refused:,} refused</title>" in page  # the chart's title
        assert '<rect class="series-issued"' in page

        # What the workers count in their last seconds is written as they stop.
        for _ in range(4):
            assert get(token_url, user_cookie)[0] == 200

    with app.app_context():
        stored = db.session.scalar(
            db.select(db.func.sum(TokenUsage.count)).filter_by(outcome="issued")
        )
    assert stored == issued + 4
