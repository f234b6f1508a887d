"""The production server's workers each count for themselves; /metrics adds them up."""

import urllib.request
from concurrent.futures import ThreadPoolExecutor

from helpers import ENCRYPTION_KEY, SECRET_KEY, metric_value
from servers import production_server

ROUNDS = 50  # at most this many rounds of ROUND_SIZE token requests (one worker may take many)
ROUND_SIZE = 20


def status_of(url: str, cookie: str) -> int:
    # A new connection per request (urllib closes it), so the workers share the load.
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


def worker_pids_that_counted(multiprocess_dir) -> set[str]:
    """prometheus_client writes one file per metric kind and process: counter_<pid>.db."""
    return {path.stem.split("_", 1)[1] for path in multiprocess_dir.glob("counter_*.db")}


def test_token_totals_add_up_across_worker_processes(
    client, database_url, make_project, signed_in_user, tmp_path
):
    make_project("demo")
    session = client.get_cookie("session")
    assert session is not None
    cookie = f"session={session.value}"  # signed with the SECRET_KEY the server is given too
    multiprocess_dir = tmp_path / "metrics"
    multiprocess_dir.mkdir()
    settings = {
        "FLASK_DEPLOYMENT": "development",
        "FLASK_SECRET_KEY": SECRET_KEY,
        "FLASK_SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),
        # One user asks for up to ROUNDS x ROUND_SIZE tokens: above the default limit.
        "FLASK_RATELIMIT_TOKEN_PER_USER": "100000 per minute",
    }

    issued = 0
    with production_server(settings, tmp_path / "server.log", workers=2) as base_url:
        token_url = f"{base_url}/auth/authorize?project=demo"
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(ROUNDS):
                statuses = list(pool.map(lambda _: status_of(token_url, cookie), range(ROUND_SIZE)))
                assert statuses == [200] * ROUND_SIZE
                issued += ROUND_SIZE
                if len(worker_pids_that_counted(multiprocess_dir)) >= 2:
                    break
        assert len(worker_pids_that_counted(multiprocess_dir)) == 2, "one worker served them all"
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=30) as answer:
            text = answer.read().decode()

    assert metric_value(text, "webapp_tokens_issued_total", project="demo") == issued
