"""The production server, `webapp-serve` (what `make serve` runs): Granian's WSGI interface on
`webapp:create_app()`, with a few blocking threads per worker process.

Why Granian, and why 4 threads rather than its default of hundreds: bench/RESULTS.md. Each
thread may hold one database connection, so an instance opens at most WORKERS x THREADS.
"""

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from granian.constants import Interfaces
from granian.server import MPServer

from webapp.config import load_config
from webapp.config_checks import WORKERS_VARIABLE

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options default to the environment (HOST, PORT, WORKERS, THREADS); argparse converts
    string defaults too, so a bad value is one clear line."""
    environ = os.environ.get
    parser = argparse.ArgumentParser(prog="webapp-serve", description="Serve webapp in production.")
    parser.add_argument("--host", default=environ("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=environ("PORT", "8000"))
    parser.add_argument("--workers", type=int, default=environ("WORKERS", str(os.cpu_count() or 1)))
    parser.add_argument(
        "--threads",
        type=int,
        default=environ("THREADS", "4"),
        help="blocking threads per worker, each serving one request at a time",
    )
    return parser.parse_args(argv)


def server(args: argparse.Namespace) -> MPServer:
    """Granian's multi-process server: one worker process per CPU core."""
    return MPServer(
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


@contextmanager
def multiprocess_metrics_dir() -> Iterator[str]:
    """prometheus_client's multiprocess mode adds up the workers' metrics in the folder named
    by PROMETHEUS_MULTIPROC_DIR, which must start empty: unless one is given, each start of
    the server makes a fresh one for its workers and removes it on the way out."""
    given = os.environ.get(METRICS_DIR)
    if given:
        yield given
        return
    made = tempfile.mkdtemp(prefix="webapp-metrics-")
    os.environ[METRICS_DIR] = made
    try:
        yield made
    finally:
        del os.environ[METRICS_DIR]
        shutil.rmtree(made, ignore_errors=True)


def check_settings(workers: int) -> None:
    """Load the settings the workers will load, once, before any starts: a wrong one stops
    the server with its one line (ConfigError), rather than a crash loop of workers each
    printing it. The workers learn how many they are, for the rate-limit store's rule."""
    os.environ[WORKERS_VARIABLE] = str(workers)
    load_config(Flask("webapp", instance_relative_config=True), None)


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""
    args = parse_args(argv)
    check_settings(args.workers)
    with multiprocess_metrics_dir():
        server(args).serve()


if __name__ == "__main__":
    main()
