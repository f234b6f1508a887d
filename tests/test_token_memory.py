"""A worker's memory stays flat over many token requests (the reuse and issuer caches are
bounded; nothing grows per token). The benchmark runs the same check over 1,000,000 requests
on the real server; here, 20,000 through the app in a process of its own."""

import json
import os
import subprocess
import sys

from helpers import ENCRYPTION_KEY, SECRET_KEY

REQUESTS = 20_000
SAMPLES = 10

# Runs in its own process, so pytest's log capture and the suite's other apps do not count.
LOOP = """
import json, os, sys
from webapp import create_app

requests, samples, login_id = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
app = create_app()
client = app.test_client()
with app.test_request_context():
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": login_id, "_fresh": True}
    )
client.set_cookie("session", cookie)
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * page

found = []
for number in range(requests):
    answer = client.get("/auth/authorize?project=demo")
    assert answer.status_code == 200, answer.status_code
    if (number + 1) % (requests // samples) == 0:
        found.append(rss())
print(json.dumps(found))
"""


def test_rss_is_flat_over_many_token_requests(make_project, user, database_url, tmp_path):
    make_project("demo")
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("FLASK_")},
        "FLASK_DEPLOYMENT": "development",
        "FLASK_SECRET_KEY": SECRET_KEY,
        "FLASK_SECRETS_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
        # One user asks for every token here: the limit stays in the path, set above that.
        "FLASK_RATELIMIT_TOKEN_PER_USER": "1000000 per minute",
    }
    environment.pop("DATABASE_URL", None)
    finished = subprocess.run(
        [sys.executable, "-c", LOOP, str(REQUESTS), str(SAMPLES), user.get_id()],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    samples = json.loads(finished.stdout.strip().splitlines()[-1])
    assert len(samples) == SAMPLES
    half, end = samples[SAMPLES // 2 - 1], samples[-1]
    assert end <= half * 1.05, f"RSS grew from {half} to {end} bytes in the second half"
