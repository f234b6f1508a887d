"""The `bearer` case's identity provider: its discovery document and key set (RS256) served
on a loopback port from this process, and a provider token wrk sends on every request.

Only the two documents a provider publishes are needed here: the server fetches them once per
worker and then verifies each token with the cached key, so the measured path is the token
path's own work (verify RS256 in, sign HS256 out), not the provider's. The tests use a real
provider (tests/identity_provider.py)."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "bench-web"
KID = "bench-rs256"
TOKEN_DAYS = 7  # outlives any run; the bench project accepts tokens this old


@dataclass(frozen=True)
class BenchProvider:
    issuer: str
    token: str


def documents(issuer: str, key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {
        "/.well-known/openid-configuration": json.dumps(
            {"issuer": issuer, "jwks_uri": f"{issuer}/jwks"}
        ).encode(),
        "/jwks": json.dumps(
            {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}
        ).encode(),
    }


@contextmanager
def bench_provider() -> Iterator[BenchProvider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            body = served.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{server.server_port}"
    served.update(documents(issuer, key))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "bench-visitor",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + TOKEN_DAYS * 86_400,
        "locale": "en-US",
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
    try:
        yield BenchProvider(issuer, token)
    finally:
        server.shutdown()
        server.server_close()


BEARER_LUA = """wrk.headers["Authorization"] = "Bearer %s"
"""
