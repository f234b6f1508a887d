"""Production servers over real HTTP: wrk drives `GET /ping` and the token endpoint (signed in,
HS256) on a server started on a loopback port with a database of its own.

    python bench/serve_bench.py [--servers granian:2,gunicorn-sync,...] [--workers 2]
        [--connections 32] [--duration 10] [--warmup 2] [--rounds 2] [--database-url URL]

Each round starts every server in turn and measures every path on it, so the cases are
interleaved; each figure is the median over the rounds. The machine is shared: compare ratios
from one run, never figures from different runs. `make bench-serve` runs it with the defaults.
"""

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet
from werkzeug.security import generate_password_hash

BIN = Path(sys.executable).parent
EMAIL = "bench@example.com"
PASSWORD = "bench password 1234"  # a throwaway account in a throwaway database
PATHS = {"ping": "/ping", "token": "/auth/authorize?project=bench"}
USER_AGENT = "webapp-bench"  # the same for sign-in and wrk, as session protection compares it
APP = "webapp:create_app()"
# wrk reports through this script: one JSON line with the counts and the latency percentiles.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def server_command(spec: str, port: int, workers: int) -> list[str]:
    """`granian:T` is `webapp-serve` (what `make serve` runs) with T blocking threads per
    worker, `granian:default` Granian's own command with its default threads; `gunicorn-sync`
    and `gunicorn-gthread:T` are gunicorn's workers."""
    kind, _, threads = spec.partition(":")
    if spec == "granian:default":  # Granian's own default: hundreds of threads per worker
        return [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-ws",
            APP.removesuffix("()"),
        ]
    if kind == "granian":
        options = ["--threads", threads] if threads else []
        return [str(BIN / "webapp-serve"), "--port", str(port), "--workers", str(workers)] + (
            options
        )
    gunicorn = [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    if kind == "gunicorn-sync":
        return gunicorn + ["-k", "sync", APP]
    if kind == "gunicorn-gthread":
        return gunicorn + ["-k", "gthread", "--threads", threads or "2", APP]
    raise SystemExit(f"unknown server {spec!r}: use granian:T, gunicorn-sync, gunicorn-gthread:T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_environment(database_url: str) -> dict[str, str]:
    """A production configuration over plain HTTP on loopback, without rate limits."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    environment.update(
        FLASK_SECRET_KEY=secrets.token_hex(32),
        FLASK_SECRETS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        FLASK_SESSION_COOKIE_SECURE="false",
        # One user asks for thousands of tokens a second: the per-user limit would answer 429.
        FLASK_RATELIMIT_ENABLED="false",
        DATABASE_URL=database_url,
    )
    return environment


def prepare_database(environment: dict[str, str]) -> None:
    """Migrate with the CLI, then one user and one HS256 project."""
    subprocess.run(
        [str(BIN / "flask"), "--app", "webapp", "db", "upgrade"],
        env=environment,
        check=True,
        capture_output=True,
    )
    seed = f"""
from webapp import create_app
from webapp.extensions import db
from webapp.models import Project, User
app = create_app()
with app.app_context():
    user = User(email={EMAIL!r}, password_hash={generate_password_hash(PASSWORD)!r})
    project = Project(slug="bench", name="Bench", session_server="dh.soulmachines.cloud",
                      issuer="bench-issuer")
    project.set_signing_key("k" * 32)
    db.session.add_all([user, project])
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", seed], env=environment, check=True)


@contextmanager
def running(
    command: list[str],
    port: int,
    environment: dict[str, str],
    log: Path,
    ready_path: str = "/ping",
) -> Iterator:
    """The server in its own process group, answering `ready_path`; stopped with SIGTERM (then
    SIGKILL) when done. Waiting for readiness first matters: a server stopped while its
    workers still start may never exit."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=environment, stdout=output, stderr=output, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while not answers(f"http://127.0.0.1:{port}{ready_path}"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} did not start; see {log}")
            time.sleep(0.3)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def sign_in(base: str) -> str:
    """The session cookie of a signed-in user, as a `Cookie` header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/login").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": csrf.group(1) if csrf else ""}
    opener.open(f"{base}/login", urllib.parse.urlencode(form).encode())
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    request = urllib.request.Request(f"{base}{PATHS['token']}", headers={"Cookie": cookie})
    opener.open(request)  # raises unless 200: a benchmark of refusals would be worthless
    return cookie


def process_tree(root: int) -> list[int]:
    """The server's process and its descendants (the workers), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree = [root]
    for pid in tree:
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def cpu_seconds(root: int) -> float:
    """User plus system CPU time of the server's live processes."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(root: int) -> float:
    """The largest peak resident set among the server's processes."""
    peaks = [0]
    for pid in process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        peaks.append(int(found.group(1)) if found else 0)
    return max(peaks) / 1024


def wrk(url: str, cookie: str, args: argparse.Namespace, seconds: int, script: Path) -> dict:
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(args.connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        "-H",
        f"Cookie: {cookie}",
        "-H",
        f"User-Agent: {USER_AGENT}",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(row for row in output.splitlines() if row.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def measure(spec: str, args: argparse.Namespace, environment: dict, work: Path) -> dict:
    """Every path on one start of the server: a warm-up, then the measured run."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = server_command(spec, port, args.workers)
    results = {}
    with running(command, port, environment, work / f"{spec.replace(':', '-')}.log") as server:
        cookie = sign_in(base)
        for name in args.paths:
            wrk(base + PATHS[name], cookie, args, args.warmup, work / "report.lua")
            cpu_before = cpu_seconds(server.pid)
            run = wrk(base + PATHS[name], cookie, args, args.duration, work / "report.lua")
            cpu = cpu_seconds(server.pid) - cpu_before
            ok = run["requests"] - run["non2xx"]
            run["rps"] = ok / (run["duration_us"] / 1e6)
            run["cpu_us"] = cpu * 1e6 / max(run["requests"], 1)
            results[name] = run
        results["rss_mib"] = peak_rss_mib(server.pid)
    return results


def table(runs: dict[str, list[dict]], paths: list[str]) -> str:
    def median(spec: str, path: str, key: str) -> float:
        return statistics.median(run[path][key] for run in runs[spec])

    lines = [
        "| server | path | requests/s | p50 ms | p99 ms | CPU µs/request | errors |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for spec in runs:
        for path in paths:
            errors = sum(run[path]["non2xx"] + run[path]["socket_errors"] for run in runs[spec])
            lines.append(
                f"| {spec} | `{PATHS[path]}` | {median(spec, path, 'rps'):,.0f} "
                f"| {median(spec, path, 'p50_us') / 1000:.1f} "
                f"| {median(spec, path, 'p99_us') / 1000:.1f} "
                f"| {median(spec, path, 'cpu_us'):,.0f} | {errors} |"
            )
    if {"ping", "token"} <= set(paths):
        lines.append("\n| server | token / ping | peak RSS per process, MiB |\n|---|--:|--:|")
        for spec in runs:
            ratio = median(spec, "token", "rps") / median(spec, "ping", "rps")
            rss = max(run["rss_mib"] for run in runs[spec])
            lines.append(f"| {spec} | {ratio:.2f} | {rss:.0f} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--servers",
        default="granian:1,granian:2,granian:4,granian:8,granian:default,"
        "gunicorn-sync,gunicorn-gthread:2,gunicorn-gthread:4",
    )
    parser.add_argument("--paths", default="ping,token")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="an empty database; default: a new SQLite file")
    args = parser.parse_args()
    args.servers = args.servers.split(",")
    args.paths = args.paths.split(",")
    return args


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="webapp-bench-"))
    (work / "report.lua").write_text(WRK_REPORT)
    environment = app_environment(args.database_url or f"sqlite:///{work / 'bench.sqlite3'}")
    prepare_database(environment)
    runs: dict[str, list[dict]] = {spec: [] for spec in args.servers}
    for round_number in range(1, args.rounds + 1):
        for spec in args.servers:
            print(f"round {round_number}: {spec}", file=sys.stderr, flush=True)
            runs[spec].append(measure(spec, args, environment, work))
    print(
        f"{os.cpu_count()} CPUs, {args.workers} workers, {args.connections} connections, "
        f"{args.duration:g} s per run, median of {args.rounds} rounds\n"
    )
    print(table(runs, args.paths))
    (work / "runs.json").write_text(json.dumps(runs, indent=1))
    print(f"\nlogs and raw figures: {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
