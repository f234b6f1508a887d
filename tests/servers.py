"""Real servers for tests: the production server on a free loopback port.

One function starts it, so the way it is started can follow `make serve`.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60  # seconds; a loaded machine starts two workers slowly
STOP_TIMEOUT = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(settings: dict[str, str]) -> dict[str, str]:
    """The test process's environment without its FLASK_ settings, plus `settings`."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FLASK_")
        and name not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    return {**inherited, **settings}


@contextlib.contextmanager
def production_server(
    settings: dict[str, str], log_path: Path, workers: int = 2, port: int | None = None
) -> Iterator[str]:
    """Serve `webapp:create_app()` with the production server; yield its base URL.

    `settings` are environment variables (FLASK_…, PROMETHEUS_MULTIPROC_DIR). The server's
    output goes to `log_path`. It listens on `port`, or a free one, and is stopped, workers
    and all, when the block ends.
    """
    port = port or free_port()
    command = [
        str(Path(sys.executable).parent / "webapp-serve"),
        "--workers", str(workers),
        "--threads", "2",
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its workers stop with it
        )
    try:
        wait_until_serving(base_url, process, log_path)
        yield base_url
    finally:
        stop(process)


def wait_until_serving(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base_url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(
        f"the server did not answer in time:\n{log_path.read_text(errors='replace')}"
    )


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
