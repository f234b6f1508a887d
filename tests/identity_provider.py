"""A real OpenID Provider for the tests: npm's `oidc-provider` (the certified Node
implementation), pinned in tests/oidc_provider/package-lock.json and installed once with
`npm ci` into a cache folder outside the repository (`OIDC_PROVIDER_CACHE`, default
`~/.cache/webapp-tests/oidc-provider`), as the Web SDK tests install theirs. Tests that need
it skip with a note when node or npm is missing.

Its keys are made here, so a test can rotate them (a restart with a new key first) and forge
what an attacker would (another key, another issuer, `alg: none`). Tokens come from the
provider's real endpoints: the authorization endpoint, its sign-in interaction and the token
endpoint, with PKCE, driven over HTTP like a browser would."""

import base64
import hashlib
import http.cookiejar
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from npm_cache import cache_folder, installed_version, npm
from servers import free_port

SOURCE = Path(__file__).resolve().parent / "oidc_provider"
CACHE = cache_folder("OIDC_PROVIDER_CACHE", "oidc-provider")
START_TIMEOUT_S = 20
CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the code is read off the redirect


def pinned_version() -> str:
    return json.loads((SOURCE / "package.json").read_text())["dependencies"]["oidc-provider"]


def install() -> Path:
    """The folder holding node_modules; installs on first use, skips when that cannot be."""
    if installed_version(CACHE, "oidc-provider") != pinned_version():
        if shutil.which("node") is None:
            pytest.skip("the OpenID Connect tests need node and npm (apt-get install nodejs npm)")
        CACHE.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(SOURCE / name, CACHE / name)
        npm(CACHE, "ci", what="the OpenID Connect tests")
    return CACHE


@dataclass
class SigningKey:
    """A private key, as a JWK for the provider and as an object for forging tokens."""

    kid: str
    alg: str
    private: object

    @classmethod
    def make(cls, alg: str = "RS256") -> "SigningKey":
        private: object
        if alg in ("RS256", "PS256"):
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        return cls(f"{alg.lower()}-{secrets.token_hex(4)}", alg, private)

    def jwk(self) -> dict:
        algorithm = RSAAlgorithm if self.alg in ("RS256", "PS256") else ECAlgorithm
        jwk = algorithm.to_jwk(self.private, as_dict=True)
        jwk.pop("key_ops", None)  # PyJWT writes ["sign"], which the published key would keep
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class Client:
    client_id: str
    alg: str = "RS256"
    id_token_ttl: int | None = None
    redirect_uris: list[str] = field(default_factory=lambda: [CALLBACK])
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def metadata(self) -> dict:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": self.redirect_uris,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
            "id_token_signed_response_alg": self.alg,
        }


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class IdentityProvider:
    """`oidc-provider` on a loopback port, with clients and accounts; stop, start, rotate."""

    def __init__(self, folder: Path, work: Path, clients: list[Client], accounts: dict):
        self.folder = folder
        self.work = work
        self.clients = {client.client_id: client for client in clients}
        self.accounts = accounts
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = [SigningKey.make("RS256"), SigningKey.make("ES256"), SigningKey.make("PS256")]
        self.process: subprocess.Popen | None = None

    def start(self) -> "IdentityProvider":
        settings = {
            "issuer": self.issuer,
            "port": self.port,
            "jwks": {"keys": [key.jwk() for key in self.keys]},
            "clients": [client.metadata() for client in self.clients.values()],
            "accounts": self.accounts,
            "idTokenTtl": {
                client.client_id: client.id_token_ttl
                for client in self.clients.values()
                if client.id_token_ttl
            },
        }
        path = self.work / f"provider-{self.port}.json"
        path.write_text(json.dumps(settings))
        env = {**os.environ, "NODE_PATH": str(self.folder / "node_modules")}
        # The server script is run from the cache, beside its node_modules (ESM imports
        # resolve from the script's folder, not NODE_PATH).
        script = self.folder / "server.mjs"
        shutil.copyfile(SOURCE / "server.mjs", script)
        self.process = subprocess.Popen(
            ["node", str(script), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready" or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"oidc-provider did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
            self.process = None

    def rotate(self, alg: str = "RS256") -> SigningKey:
        """A new key of `alg` signs from now on; the old ones are still published."""
        new = SigningKey.make(alg)
        self.stop()
        self.keys.insert(0, new)
        self.start()
        return new

    def key(self, alg: str) -> SigningKey:
        """The key the provider signs `alg` tokens with: the first of that algorithm."""
        return next(key for key in self.keys if key.alg == alg)

    def id_token(self, client_id: str, sub: str) -> str:
        """An ID token for account `sub`, through the authorization code flow with PKCE."""
        client = self.clients[client_id]
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        state = secrets.token_urlsafe(16)
        query = urllib.parse.urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "scope": "openid email profile",
                "redirect_uri": client.redirect_uris[0],
                "state": state,
                "nonce": secrets.token_urlsafe(16),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        location = self.follow(opener, f"{self.issuer}/auth?{query}")
        # The sign-in interaction: the development login form of oidc-provider.
        assert "/interaction/" in location, location
        form = urllib.parse.urlencode({"prompt": "login", "login": sub, "password": "x"})
        location = self.follow(opener, location, form.encode())
        while not location.startswith(client.redirect_uris[0]):
            location = self.follow(opener, location)
        answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        assert answer.get("state") == state, answer
        exchange = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": client.redirect_uris[0],
                "code_verifier": verifier,
                "client_id": client_id,
                "client_secret": client.client_secret,
            }
        ).encode()
        with opener.open(f"{self.issuer}/token", exchange, timeout=10) as response:
            return json.loads(response.read())["id_token"]

    def follow(self, opener, url: str, data: bytes | None = None) -> str:
        """The Location of the redirect `url` answers with, made absolute."""
        url = urllib.parse.urljoin(self.issuer, url)
        try:
            with opener.open(url, data, timeout=10) as response:
                raise AssertionError(f"{url} answered {response.status}, not a redirect")
        except urllib.error.HTTPError as redirect:
            if redirect.code not in (302, 303):
                raise AssertionError(f"{url}: {redirect.code} {redirect.read()[:500]!r}") from None
            return urllib.parse.urljoin(url, redirect.headers["Location"])
