"""A PostgreSQL restart under load (issue 16): `make serve`'s server (2 workers) on a throwaway
cluster, wrk on the token endpoint with 32 connections as 100 signed-in visitors in turn, and
the cluster stopped (`pg_ctl stop -m fast`) for a few seconds in the middle of the run. Once
with TOKEN_STALE_IF_ERROR at its default and once at 0 (the behaviour before it).

    python bench/outage_bench.py [--duration 12] [--down-at 3] [--down-for 4]

Prints, per setting, the token answers that were 2xx and those that were not (503s).
"""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import serve_bench
import token_bench
import token_report
from serve_bench import free_port, running

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_cluster import throwaway_cluster  # noqa: E402  (the tests' own cluster)

VISITORS = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=12, help="seconds of load")
    parser.add_argument("--down-at", type=float, default=3, help="seconds into the load")
    parser.add_argument("--down-for", type=float, default=4, help="seconds the server is down")
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args()


def measure(args: argparse.Namespace, stale_if_error: str, work: Path) -> dict:
    with throwaway_cluster() as cluster:
        environment = token_bench.prepare(cluster.url, (VISITORS, 1))
        environment["FLASK_TOKEN_STALE_IF_ERROR"] = stale_if_error
        cookies = token_report.visitor_cookies(environment, VISITORS)
        (work / "visitors.txt").write_text("\n".join(cookies))
        script = work / "visitors.lua"
        script.write_text(
            token_bench.VISITORS_LUA % (work / "visitors.txt") + serve_bench.WRK_REPORT
        )
        port = free_port()
        command = serve_bench.server_command("granian:", port, 2)
        log = work / f"server-{stale_if_error}.log"
        with running(command, port, environment, log):
            url = f"http://127.0.0.1:{port}/auth/authorize?project=bench"
            serve_bench.wrk(url, "", args, 2, script)  # every visitor read once, before
            outage = threading.Timer(args.down_at, restart, (cluster, args.down_for))
            outage.start()
            run = serve_bench.wrk(url, "", args, args.duration, script)
            outage.join()
    return run


def restart(cluster, seconds: float) -> None:
    cluster.stop()
    time.sleep(seconds)
    cluster.start()


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="webapp-outage-bench-"))
    print(
        f"PostgreSQL stopped {args.down_at:g} s into {args.duration} s of load, for "
        f"{args.down_for:g} s; {VISITORS} visitors, each read once before.\n"
    )
    print("| TOKEN_STALE_IF_ERROR | token answers | 2xx | not 2xx (503) |")
    print("|---|--:|--:|--:|")
    for setting in ("300", "0"):
        run = measure(args, setting, work)
        ok = run["requests"] - run["non2xx"]
        print(f"| {setting} | {run['requests']:,} | {ok:,} | {run['non2xx']:,} |", flush=True)
    print(f"\nlogs in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
