"""A throwaway PostgreSQL cluster the test owns (initdb and pg_ctl, a free loopback port, a
temporary folder), so a test may stop its database without touching the machine's own."""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from servers import free_port

TIMEOUT = 60  # seconds for initdb, or for pg_ctl to start or stop the server


def postgres_bin_dir() -> Path | None:
    """Debian keeps initdb and pg_ctl off the PATH, in /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    return Path(versions[-1]).parent if versions else None


def run_as_owner() -> list[str]:
    """initdb refuses to run as root; root runs it as the postgres user instead."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--"]


@dataclass
class Cluster:
    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        command = [*run_as_owner(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir)]
        subprocess.run([*command, *args], check=True, capture_output=True, timeout=TIMEOUT + 10)

    def start(self) -> None:
        log = self.data_dir.parent / "server.log"
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir.parent}"
        self.pg_ctl("start", "-w", "-t", str(TIMEOUT), "-l", str(log), "-o", options)

    def stop(self) -> None:
        # "fast" ends the open connections at once, as a crash or a failover would.
        self.pg_ctl("stop", "-w", "-t", str(TIMEOUT), "-m", "fast")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A new cluster, started; stopped and deleted afterwards. Trust authentication on
    loopback, as for a test database."""
    bin_dir = postgres_bin_dir()
    assert bin_dir, "PostgreSQL's initdb is not installed"
    # Not pytest's tmp_path: the postgres user must be able to reach the folder.
    top = Path(tempfile.mkdtemp(prefix="webapp-pg-"))
    try:
        if run_as_owner():
            shutil.chown(top, user="postgres", group="postgres")
        cluster = Cluster(bin_dir, top / "data", free_port())
        subprocess.run(
            [
                *run_as_owner(),
                str(bin_dir / "initdb"),
                "-D", str(cluster.data_dir),
                "-U", "postgres",
                "-A", "trust",
                "-E", "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop()  # already stopped is fine
    finally:
        shutil.rmtree(top, ignore_errors=True)
