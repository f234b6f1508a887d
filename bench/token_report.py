"""The token benchmark's in-process measures and its report (see token_bench.py)."""

import contextlib
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import sqlalchemy as sa
import token_profile

NODE = "node"


def in_process(environment: dict[str, str], seconds: float) -> dict[str, Any]:
    """The app in this process (its log lines written to /dev/null): SQL statements over
    `seconds` of token requests through the test client, then the profile."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        return measure_in_process(environment, seconds)


def measure_in_process(environment: dict[str, str], seconds: float) -> dict[str, Any]:
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import User

    app = create_app(
        {
            "SECRET_KEY": environment["FLASK_SECRET_KEY"],
            "SECRETS_ENCRYPTION_KEYS": environment["FLASK_SECRETS_ENCRYPTION_KEYS"],
            "SQLALCHEMY_DATABASE_URI": environment["DATABASE_URL"],
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_TOKEN_PER_USER": environment["FLASK_RATELIMIT_TOKEN_PER_USER"],
            "RATELIMIT_STORAGE_URI": environment["FLASK_RATELIMIT_STORAGE_URI"],
            "RATELIMIT_KEY_PREFIX": environment["FLASK_RATELIMIT_KEY_PREFIX"],
        }
    )
    with app.app_context():
        login_id = db.session.scalars(db.select(User).order_by(User.id)).first().get_id()
    # The session cookie a sign-in makes, signed by Flask's own serializer.
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = serializer.dumps({"_user_id": login_id, "_fresh": True})
    client = app.test_client()
    client.set_cookie("session", cookie)
    sent: list[str] = []

    def count(*_args: Any) -> None:
        sent.append("")

    sa.event.listen(sa.Engine, "before_cursor_execute", count)
    requests, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        assert client.get("/auth/authorize?project=bench").status_code == 200
        requests += 1
    elapsed = time.monotonic() - started
    sa.event.remove(sa.Engine, "before_cursor_execute", count)
    profile = token_profile.profile(app, f"session={cookie}", "/auth/authorize?project=bench")
    app.extensions["token_reads"].dispose()
    with app.app_context():
        db.engine.dispose()
    statements = {"requests": requests, "statements": len(sent), "seconds": elapsed}
    return {"statements": statements, "profile": profile}


def visitor_cookies(environment: dict[str, str], count: int) -> list[str]:
    """Session cookies of `count` different users of the database, as a sign-in makes them
    (Flask's own serializer and Flask-Login's keys): the launch-day case, where each token
    request is a visitor's first within the second and so reads the database."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import User

    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        app = create_app(
            {
                "SECRET_KEY": environment["FLASK_SECRET_KEY"],
                "SECRETS_ENCRYPTION_KEYS": environment["FLASK_SECRETS_ENCRYPTION_KEYS"],
                "SQLALCHEMY_DATABASE_URI": environment["DATABASE_URL"],
                "SESSION_COOKIE_SECURE": False,  # as the benchmark's servers run
            }
        )
        with app.app_context():
            users = db.session.scalars(db.select(User).order_by(User.id).limit(count)).all()
            login_ids = [user.get_id() for user in users]
            db.engine.dispose()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    name = app.config["SESSION_COOKIE_NAME"]
    return [f"{name}={serializer.dumps({'_user_id': i, '_fresh': True})}" for i in login_ids]


def serve_defaults() -> Any:
    """`webapp-serve`'s own defaults, which `make serve` and this benchmark use."""
    from webapp.serve import parse_args

    return parse_args([])


def signing_ceiling(seconds: float) -> dict[str, float]:
    """PyJWT's `jwt.encode` of a token's claims in a loop, and the app's cached Signer."""
    from webapp.rules.claims import claim_template
    from webapp.rules.signing import Signer

    settings = SimpleNamespace(
        session_server="dh.soulmachines.cloud",
        orchestration_url=None,
        issuer="bench-issuer",
        algorithm="HS256",
        token_lifetime=1800,
        environment="production",
        control_via_browser=False,
        control_cookie_header=None,
        allowed_origins=[],
        custom_claims={},
    )
    claims = claim_template(settings).claims(
        "0b5e7c9e-2f6d-4c1a-9d1e-4b8f0c6a7e21", "en-US", now=int(time.time()), nbf_leeway=30
    )
    key, signer = "k" * 32, Signer("k" * 32, "HS256")
    return {
        "jwt.encode": per_second(lambda: jwt.encode(claims, key, algorithm="HS256"), seconds / 2),
        "Signer.sign": per_second(lambda: signer.sign(claims), seconds / 2),
    }


def per_second(work: Any, seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            work()
        done += 100
    return done / (time.perf_counter() - started)


def report(
    backend: str,
    args: Any,
    medians: dict[str, dict[str, float]],
    errors: dict[str, int],
    measured: dict[str, Any],
    signing: dict[str, float],
    rss_peaks: dict[str, float],
    rss: dict[str, Any],
    machine: str,
    reference: str,
) -> str:
    lines = [
        f"### {backend}",
        "",
        f"{machine}; `make serve` (Granian): {args.workers} workers, "
        f"{args.threads or serve_defaults().threads} blocking threads each; "
        f"wrk with {args.connections} connections on the same cores; "
        f"{args.duration} s per case after {args.warmup} s of warm-up, cases interleaved, "
        f"median of {args.rounds} rounds. Command: `python bench/token_bench.py"
        f"{' --database-url …' if backend == 'PostgreSQL' else ''}` (`make bench`). "
        f"The reference (`node`): the vendor's template in one Node process, {reference}.",
        "",
        "| case | requests/s (2xx) | p50 ms | p99 ms | CPU µs/request | errors | load (1 min) |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, found in medians.items():
        lines.append(
            f"| {name} | {found['rps']:,.0f} | {found['p50_us'] / 1000:.1f} "
            f"| {found['p99_us'] / 1000:.1f} | {found['cpu_us']:,.0f} | {errors[name]} "
            f"| {found['load']:.2f} |"
        )
    rps = {name: found["rps"] for name, found in medians.items()}
    statements, profile = measured["statements"], measured["profile"]
    per_token = statements["statements"] / max(statements["requests"], 1)
    lines += [
        "",
        "| measure | value | target |",
        "|---|--:|--:|",
        f"| HS256 / ping | {rps['HS256'] / rps['ping']:.2f} | ≥ 0.6 |",
        f"| HS256 / node template | {rps['HS256'] / rps[NODE]:.2f} | ≥ 1.5 |",
        f"| large / HS256 (100,000 users, 10,000 projects) | {rps['large'] / rps['HS256']:.2f} "
        "| ≥ 0.9 |",
        f"| visitors / node template (each request another of 10,000 users: a read each) "
        f"| {rps['visitors'] / rps[NODE]:.2f} | ≥ {1.0 if backend == 'PostgreSQL' else 1.2} |",
        f"| bearer / node template (RS256 provider token in, HS256 out) "
        f"| {rps['bearer'] / rps[NODE]:.2f} | |",
        f"| bearer / HS256 (the cookie case) | {rps['bearer'] / rps['HS256']:.2f} | |",
        f"| HS256 p99 ms | {medians['HS256']['p99_us'] / 1000:.1f} | < 20 |",
        f"| SQL statements per token request (in process, {statements['requests']:,} requests "
        f"in {statements['seconds']:.0f} s) | {per_token:.4f} | ≤ 1 |",
        f"| PyJWT `jwt.encode` HS256, one process, tokens/s | {signing['jwt.encode']:,.0f} | |",
        f"| the app's cached `Signer.sign` HS256, tokens/s | {signing['Signer.sign']:,.0f} | |",
        f"| peak RSS per process, MiB (server; large) | {rss_peaks['server']:.0f}; "
        f"{rss_peaks['large']:.0f} | |",
        f"| RSS per worker over {rss['requests']:,} token requests, MiB at half → end | "
        + ", ".join(
            f"{half:.1f} → {end:.1f}"
            for half, end in zip(rss["half_mib"], rss["end_mib"], strict=False)
        )
        + " | |",
        "| RSS growth in the second half, per worker | "
        + ", ".join(f"{growth:+.1f}%" for growth in rss["growth_pct"])
        + " | < 5% |",
    ]
    cpu = profile["cpu_us"]
    lines += [
        "",
        "In process (the app called as a WSGI server calls it, cProfile): CPU µs per request, "
        + ", ".join(f"`{path}` {value:,.0f}" for path, value in cpu.items())
        + "; a token request's time by part (cumulative, parts nest):",
        "",
        "| part | share of the token request |",
        "|---|--:|",
    ]
    lines += [f"| {label} | {share:.0f}% |" for label, share in profile["parts"]]
    return "\n".join(lines)


def write_results(path: Path, backend: str, text: str) -> None:
    """Replace this backend's section between its markers; everything else stays."""
    start, end = f"<!-- token-bench {backend} -->", f"<!-- /token-bench {backend} -->"
    block = f"{start}\n{text}\n{end}"
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _match: block, current)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(current)
