"""The token path over real HTTP (issues 10 and 16): `make serve`'s server and the vendor's
Node template as it ships, driven by wrk from the same machine, in one run.

    python bench/token_bench.py [--database-url URL] [--duration 10] [--rounds 2]
        [--rss-requests 1000000] [--results bench/RESULTS.md]

Cases, interleaved in every round, each figure the median over the rounds:
  ping        GET /ping on the server: the framework's ceiling;
  HS256 …     GET /auth/authorize?project=… signed in (10 users, 3 projects);
  large       the HS256 case at 100,000 users and 10,000 projects (a second database);
  bearer      the HS256 project asked with `Authorization: Bearer <RS256 provider token>`
              (bench/token_provider.py: the provider's keys, fetched once per worker);
  node        the vendor's Node/Express template as it ships (bench/node_template: its code
              path and its locked versions, installed with `npm ci`; refused if they differ);
and, in this process, PyJWT's encode of the same claims in a loop (the signing ceiling) and
the SQL statements per token request (counted by SQLAlchemy's events through the test client).
Then a long run on the HS256 case samples each worker's RSS until --rss-requests are served.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import serve_bench
import token_report
from serve_bench import cpu_seconds, free_port, peak_rss_mib, process_tree, running, sign_in
from token_provider import BEARER_LUA, BenchProvider, bench_provider

BENCH = Path(__file__).resolve().parent
SMALL, LARGE = (10, 3), (100_000, 10_000)  # (users, projects)
VISITORS = 10_000  # the `visitors` case: each request from the next of these users
TOKEN_PATH = "/auth/authorize"

# wrk sends each request with the next visitor's cookie (each thread from its own place).
VISITORS_LUA = """
local cookies = {}
for line in io.lines("%s") do cookies[#cookies + 1] = line end
local next_one = math.random(#cookies)
request = function()
  next_one = next_one %% #cookies + 1
  return wrk.format(nil, nil, {["Cookie"] = cookies[next_one]})
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        help="PostgreSQL: an empty database (a second one, "
        "its name + '_large', is made for the large case); default: SQLite",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, help="blocking threads per worker; default: make serve's"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rss-requests", type=int, default=1_000_000)
    parser.add_argument("--rss-seconds", type=int, default=3600, help="the long run's time cap")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    return parser.parse_args()


def databases(args: argparse.Namespace, work: Path) -> dict[str, str]:
    if not args.database_url:
        return {name: f"sqlite:///{work / f'{name}.sqlite3'}" for name in ("small", "large")}
    large = args.database_url.rsplit("/", 1)
    large_url = f"{large[0]}/{large[1].split('?')[0]}_large"
    for url in (args.database_url, large_url):
        recreate_postgresql_database(url)
    return {"small": args.database_url, "large": large_url}


def recreate_postgresql_database(url: str) -> None:
    import sqlalchemy as sa

    base, name = url.rsplit("/", 1)
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def prepare(url: str, size: tuple[int, int], bearer_issuer: str = "") -> dict[str, str]:
    environment = serve_bench.app_environment(url)
    # The per-user token limit stays in the measured path, set above what one user asks here,
    # and counted where production counts it with more than one worker: in Redis, under a
    # key prefix of this run's own.
    environment.update(
        FLASK_RATELIMIT_ENABLED="true",
        FLASK_RATELIMIT_TOKEN_PER_USER="100000000 per minute",
        FLASK_RATELIMIT_STORAGE_URI=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
        FLASK_RATELIMIT_KEY_PREFIX=f"webapp-bench-{os.getpid()}",
    )
    subprocess.run(
        [str(serve_bench.BIN / "flask"), "--app", "webapp", "db", "upgrade"],
        env=environment,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, str(BENCH / "token_seed.py"), *map(str, size), bearer_issuer],
        env=environment,
        check=True,
        capture_output=True,
    )
    return environment


def node_template(work: Path) -> tuple[list[str], dict[str, str], int, str]:
    """The vendor's template, installed from its committed lock file (`npm ci`) into the work
    folder; refused unless the installed versions are the pinned ones."""
    folder = work / "node_template"
    shutil.copytree(BENCH / "node_template", folder, ignore=shutil.ignore_patterns("node_modules"))
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    pinned = json.loads((folder / "package.json").read_text())["dependencies"]
    installed = {
        name: json.loads((folder / "node_modules" / name / "package.json").read_text())["version"]
        for name in pinned
    }
    if installed != pinned:
        raise SystemExit(f"the Node template must run {pinned}, not {installed}: refusing to bench")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    versions = ", ".join(f"{name} {version}" for name, version in pinned.items())
    port = free_port()
    environment = {**os.environ, "PORT": str(port)}
    return (
        ["node", str(folder / "server.js")],
        environment,
        port,
        f"Node {node.stdout.strip()}, {versions}",
    )


def measure(
    url: str, cookie: str, pid: int, args: argparse.Namespace, work: Path, script_name: str
) -> dict:
    script = work / script_name
    serve_bench.wrk(url, cookie, args, args.warmup, script)
    cpu_before = cpu_seconds(pid)
    run = serve_bench.wrk(url, cookie, args, args.duration, script)
    cpu = cpu_seconds(pid) - cpu_before
    run["rps"] = (run["requests"] - run["non2xx"]) / (run["duration_us"] / 1e6)
    run["cpu_us"] = cpu * 1e6 / max(run["requests"], 1)
    run["load"] = os.getloadavg()[0]  # the machine's 1-minute load average just after
    return run


def worker_rss_mib(root: int) -> list[float]:
    sizes = []
    for pid in process_tree(root)[1:]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        line = next((row for row in status.splitlines() if row.startswith("VmRSS:")), "")
        if line:
            sizes.append(int(line.split()[1]) / 1024)
    return sizes


def rss_run(url: str, cookie: str, pid: int, args: argparse.Namespace, work: Path) -> dict:
    """Serve --rss-requests token requests in 10 s pieces; each worker's RSS after each."""
    samples: list[tuple[int, list[float]]] = []
    served, deadline = 0, time.monotonic() + args.rss_seconds
    while served < args.rss_requests and time.monotonic() < deadline:
        run = serve_bench.wrk(url, cookie, args, 10, work / "report.lua")
        served += run["requests"]
        samples.append((served, worker_rss_mib(pid)))
    half = next(sizes for count, sizes in samples if count >= served / 2)
    end = samples[-1][1]
    growth = [100 * (last - middle) / middle for middle, last in zip(half, end, strict=False)]
    return {"requests": served, "half_mib": half, "end_mib": end, "growth_pct": growth}


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk") or not shutil.which("npm"):
        raise SystemExit("the benchmark needs wrk and npm: apt-get install wrk npm")
    with bench_provider() as provider:
        run(args, provider)


def run(args: argparse.Namespace, provider: BenchProvider) -> None:
    work = Path(tempfile.mkdtemp(prefix="webapp-token-bench-"))
    (work / "report.lua").write_text(serve_bench.WRK_REPORT)
    urls = databases(args, work)
    print("seeding the databases", file=sys.stderr, flush=True)
    environments = {
        "small": prepare(urls["small"], SMALL, provider.issuer),
        "large": prepare(urls["large"], LARGE),
    }
    (work / "bearer.lua").write_text(BEARER_LUA % provider.token + serve_bench.WRK_REPORT)
    visitors = work / "visitors.txt"
    visitors.write_text("\n".join(token_report.visitor_cookies(environments["large"], VISITORS)))
    (work / "visitors.lua").write_text(VISITORS_LUA % visitors + serve_bench.WRK_REPORT)
    measured = token_report.in_process(environments["small"], args.duration)
    signing = token_report.signing_ceiling(args.duration)
    node_command, node_environment, node_port, reference = node_template(work)

    runs: dict[str, list[dict]] = {}
    rss_peaks: dict[str, float] = {}
    servers = {name: free_port() for name in environments}
    commands = {
        name: serve_bench.server_command(f"granian:{args.threads or ''}", port, args.workers)
        for name, port in servers.items()
    }
    with (
        running(commands["small"], servers["small"], environments["small"], work / "s.log") as s,
        running(commands["large"], servers["large"], environments["large"], work / "l.log") as b,
        running(node_command, node_port, node_environment, work / "node.log", TOKEN_PATH) as node,
    ):
        small, large = (
            f"http://127.0.0.1:{servers['small']}",
            f"http://127.0.0.1:{servers['large']}",
        )
        cookies = {"small": sign_in(small), "large": sign_in(large)}
        token_url = "/auth/authorize?project=bench"
        cases = {
            "ping": (f"{small}/ping", cookies["small"], s.pid),
            "HS256": (f"{small}{token_url}", cookies["small"], s.pid),
            "ES256": (f"{small}/auth/authorize?project=bench-es256", cookies["small"], s.pid),
            "RS256": (f"{small}/auth/authorize?project=bench-rs256", cookies["small"], s.pid),
            "large": (f"{large}{token_url}", cookies["large"], b.pid),
            "visitors": (f"{large}{token_url}", "", b.pid),
            "bearer": (f"{small}/auth/authorize?project=bench-bearer", "", s.pid),
            "node": (f"http://127.0.0.1:{node_port}{TOKEN_PATH}", "", node.pid),
        }
        for round_number in range(1, args.rounds + 1):
            for name, (url, cookie, pid) in cases.items():
                print(f"round {round_number}: {name}", file=sys.stderr, flush=True)
                script = {"visitors": "visitors.lua", "bearer": "bearer.lua"}.get(
                    name, "report.lua"
                )
                runs.setdefault(name, []).append(measure(url, cookie, pid, args, work, script))
        rss_peaks = {"server": peak_rss_mib(s.pid), "large": peak_rss_mib(b.pid)}
        print(f"RSS run: {args.rss_requests:,} requests", file=sys.stderr, flush=True)
        rss = rss_run(cases["HS256"][0], cookies["small"], s.pid, args, work)

    medians = {
        name: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for name, found in runs.items()
    }
    errors = {
        name: sum(run["non2xx"] + run["socket_errors"] for run in found)
        for name, found in runs.items()
    }
    backend = "PostgreSQL" if args.database_url else "SQLite"
    text = token_report.report(
        backend, args, medians, errors, measured, signing, rss_peaks, rss, machine(), reference
    )
    print(text)
    token_report.write_results(args.results, backend, text)
    print(f"\nwritten to {args.results}; logs in {work}", file=sys.stderr)


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
