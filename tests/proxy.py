"""A real nginx in front of test servers, configured FROM the repository's deploy/nginx.conf.

The example is changed only in what must differ on a test machine: ports, file paths and the
certificate. Each change is a substitution that must match, so an example that drifts from
what these tests expect breaks them instead of going untested.
"""

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from certificates import Certificate, self_signed_certificate
from servers import ROOT, START_TIMEOUT, free_port

EXAMPLE_CONFIG = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def substitute(text: str, pattern: str, replacement: str, count: int = 0) -> str:
    changed, made = re.subn(pattern, replacement, text, count=count, flags=re.MULTILINE)
    assert made, f"deploy/nginx.conf no longer has {pattern!r}: update tests/proxy.py"
    return changed


def render_site(
    example: str, upstream_ports: list[int], http_port: int, https_port: int, cert: Certificate
) -> str:
    """The example's upstream and servers, on loopback test ports, with the test certificate."""
    upstreams = iter(upstream_ports)
    site = substitute(
        example,
        r"^(\s*)server 127\.0\.0\.1:\d+",
        lambda match: f"{match.group(1)}server 127.0.0.1:{next(upstreams)}",
    )
    assert next(upstreams, None) is None, "deploy/nginx.conf has fewer upstream servers"
    site = substitute(site, r"^\s*listen \[::\]:\d+.*\n", "")  # loopback IPv4 only
    site = substitute(site, r"listen 80;", f"listen 127.0.0.1:{http_port};", count=1)
    site = substitute(site, r"listen 443 ", f"listen 127.0.0.1:{https_port} ", count=1)
    site = substitute(site, r"ssl_certificate\s+\S+;", f"ssl_certificate {cert.certificate};")
    return substitute(site, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {cert.key};")


def main_config(directory: Path, site: str) -> str:
    """What /etc/nginx/nginx.conf gives the example: an `http` block, with every file nginx
    writes inside `directory`. The access log names the instance that answered."""
    return f"""
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request $status $upstream_addr';
    access_log {directory}/access.log upstream;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
{site}
}}
"""


@dataclass(frozen=True)
class Nginx:
    https_url: str
    http_url: str
    certificate: Certificate
    directory: Path

    def upstreams_used(self) -> list[str]:
        """The instance (host:port) that answered each request so far, in order."""
        lines = (self.directory / "access.log").read_text().splitlines()
        return [line.rsplit(" ", 1)[1] for line in lines]


@contextlib.contextmanager
def running_nginx(
    directory: Path, upstream_ports: list[int], https_port: int | None = None
) -> Iterator[Nginx]:
    """nginx with its own configuration and prefix in `directory`, on loopback ports (free
    ones unless `https_port` is given), in the foreground of a process of its own; never the
    system's nginx."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    directory.mkdir(parents=True, exist_ok=True)
    cert = self_signed_certificate(directory)
    http_port, https_port = free_port(), https_port or free_port()
    site = render_site(EXAMPLE_CONFIG.read_text(), upstream_ports, http_port, https_port, cert)
    config = directory / "nginx.conf"
    config.write_text(main_config(directory, site))
    command = [binary, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx refuses the rendered config:\n{check.stderr}\n{site}"
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(https_port, process, directory / "error.log")
        yield Nginx(
            f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", cert, directory
        )
    finally:
        process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not listen in time:\n{log.read_text(errors='replace')}")
