"""Where a token request's time goes: the app called as a WSGI server calls it, under
cProfile, in one process (py-spy cannot attach on this machine). CPU µs per request for
`/ping` and the token endpoint, and the token request split into its parts."""

import cProfile
import io
import pstats
import sys
import time
from typing import Any

USER_AGENT = "webapp-bench"
# (label, file suffix, function): cumulative time inside each, per token request.
PARTS = [
    ("whole request (the fast path, TokenFastPath)", "api/fast_path.py", "__call__"),
    ("session cookie, verified or kept (login_id)", "api/fast_path.py", "login_id"),
    ("the token read, reused (TokenReads.reused)", "services/token_reads.py", "reused"),
    ("the token limit counted (count_token_request)", "rate_limits.py", "count_token_request"),
    ("claims and signature (ProjectIssuer.issue)", "services/tokens.py", "issue"),
    ("JSON: claims, body, log line (JSONEncoder.encode)", "json/encoder.py", "encode"),
    ("token counter (events.count_issued)", "observability/events.py", "count_issued"),
    ("the one log line and histogram (request_log.record)", "request_log.py", "record"),
]


def environ(path: str, cookie: str) -> dict[str, Any]:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_COOKIE": cookie,
        "HTTP_USER_AGENT": USER_AGENT,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def call(app: Any, path: str, cookie: str) -> None:
    statuses = []
    body = app(environ(path, cookie), lambda status, headers, *_: statuses.append(status))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    assert statuses[0].startswith("200"), statuses


def profile(app: Any, cookie: str, token_path: str, requests: int = 3000) -> dict[str, Any]:
    cpu = {}
    for path in ("/ping", token_path, "/ping", token_path):
        call(app, path, cookie)
        started = time.process_time()
        for _ in range(requests):
            call(app, path, cookie)
        cpu.setdefault(path, []).append((time.process_time() - started) * 1e6 / requests)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call(app, token_path, cookie)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    parts = []
    for label, suffix, name in PARTS:
        found = [
            entry[3]
            for (file, _, function), entry in stats.items()
            if function == name and file.endswith(suffix)
        ]
        parts.append((label, 100 * max(found, default=0) / total))
    return {"cpu_us": {path: min(found) for path, found in cpu.items()}, "parts": parts}
