"""The production server, `webapp-serve` (what `make serve` runs): Granian's WSGI interface on
`webapp:create_app()`, with a few blocking threads per worker process.

Why Granian, and why so few threads: bench/RESULTS.md. Each thread may hold one database
connection, so a deployment opens at most WORKERS x THREADS connections per instance.
"""

import argparse
import os
import shutil
import tempfile

from granian import Granian
from granian.constants import Interfaces

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="webapp-serve", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WORKERS", os.cpu_count() or 1))
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("THREADS", 2)),
        help="blocking threads per worker, each serving one request at a time",
    )
    return parser.parse_args(argv)


def server(args: argparse.Namespace) -> Granian:
    return Granian(
        "webapp:create_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=args.host,
        port=args.port,
        workers=args.workers,
        blocking_threads=args.threads,
        websockets=False,
        respawn_failed_workers=True,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped. prometheus_client's multiprocess mode adds up the workers' metrics
    in PROMETHEUS_MULTIPROC_DIR; unless one is given, each start gets a fresh, empty one."""
    args = parse_args(argv)
    made_metrics_dir = None
    if not os.environ.get(METRICS_DIR):
        made_metrics_dir = tempfile.mkdtemp(prefix="webapp-metrics-")
        os.environ[METRICS_DIR] = made_metrics_dir
    try:
        server(args).serve()
    finally:
        if made_metrics_dir:
            shutil.rmtree(made_metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
