"""Signing tokens with a project's key and pinned algorithm, and what makes a key usable."""

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import HMACAlgorithm
from jwt.types import Options
from jwt.utils import base64url_encode

from webapp.rules.problems import Problem


class Algorithm(StrEnum):
    """One per project, chosen by its admin; a request never chooses, and `none` is no choice."""

    HS256 = "HS256"
    HS384 = "HS384"
    HS512 = "HS512"
    RS256 = "RS256"
    ES256 = "ES256"


# HMAC algorithms and the hash output size their key should match (RFC 7518 §3.2).
HMAC_KEY_BYTES = {Algorithm.HS256: 32, Algorithm.HS384: 48, Algorithm.HS512: 64}
ALGORITHMS = tuple(Algorithm)
MIN_RSA_BITS = 2048


class UnusableKey(ValueError):
    """The key cannot sign with the project's algorithm."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def key_problems(key: str, algorithm: str) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) about a key for an algorithm. A short HMAC key is a warning:
    the vendor chose it, so it is accepted but never silently. Blank space is no key."""
    if not key.strip():
        return [Problem("signing_key", "required")], []
    if algorithm in HMAC_KEY_BYTES:
        if "-----BEGIN" in key or hmac_secret_refused(key):
            return [Problem("signing_key", "not_a_secret", {"algorithm": algorithm})], []
        size, wanted = len(key.encode("utf-8")), HMAC_KEY_BYTES[Algorithm(algorithm)]
        if size < wanted:
            params = {"size": size, "wanted": wanted, "algorithm": algorithm}
            return [], [Problem("signing_key", "short", params)]
        return [], []
    try:
        load_private_key(key, algorithm)
    except UnusableKey as error:
        return [error.problem], []
    return [], []


def hmac_secret_refused(key: str) -> bool:
    """PyJWT refuses secrets that look like asymmetric keys (an SSH key, a certificate)."""
    try:
        HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)
    except jwt.InvalidKeyError:
        return True
    return False


def load_private_key(pem: str, algorithm: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise UnusableKey(Problem("signing_key", "pem", {"algorithm": algorithm})) from None
    if algorithm == Algorithm.RS256:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UnusableKey(Problem("signing_key", "rsa"))
        if key.key_size < MIN_RSA_BITS:
            raise UnusableKey(Problem("signing_key", "rsa_size", {"bits": MIN_RSA_BITS}))
        return key
    if algorithm == Algorithm.ES256:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise UnusableKey(Problem("signing_key", "ec"))
        return key
    raise UnusableKey(Problem("signing_key", "algorithm", {"algorithm": algorithm}))


# Strict, compact JSON, as PyJWT encodes claims; made once (json.dumps with options makes one
# encoder per call, a few µs of every token).
CLAIMS_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


class Signer:
    """One key, loaded and checked once, signing many tokens.

    Loading is the expensive part (an RSA PEM costs ~27 ms to parse and check, the signature
    well under 1 ms), so a project's signer is built when its stored row is loaded and kept.
    Each token is signed by PyJWT's own algorithm object; the header segment is the one
    PyJWT's `jwt.encode` writes, taken from a token it signed, so tokens are byte for byte
    what `jwt.encode` makes."""

    def __init__(self, key: str, algorithm: str):
        self.algorithm = algorithm
        if algorithm in HMAC_KEY_BYTES:
            prepared: Any = key
            try:
                with quiet_about_short_keys(key, algorithm):
                    sample = jwt.encode({}, key, algorithm=algorithm)
            except jwt.InvalidKeyError:
                problem = Problem("signing_key", "not_a_secret", {"algorithm": algorithm})
                raise UnusableKey(problem) from None
        else:
            prepared = load_private_key(key, algorithm)
            sample = jwt.encode({}, prepared, algorithm=algorithm)
        self._algorithm = jwt.get_algorithm_by_name(algorithm)
        self._key = self._algorithm.prepare_key(prepared)
        self._header = sample.partition(".")[0].encode("ascii") + b"."

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWS of the claims (strict JSON, in their order, as PyJWT encodes them)."""
        payload = CLAIMS_ENCODER.encode(claims).encode("utf-8")
        signing_input = self._header + base64url_encode(payload)
        signature = self._algorithm.sign(signing_input, self._key)
        return (signing_input + b"." + base64url_encode(signature)).decode("ascii")


def sign(claims: dict[str, Any], key: str, algorithm: str) -> str:
    """A compact JWS. The algorithm comes from the project, never from a request."""
    return Signer(key, algorithm).sign(claims)


def verify(token: str, key: str, algorithm: str) -> dict[str, Any]:
    """The claims, if the signature is the key's under the pinned algorithm; times are not
    checked here. Raises jwt.InvalidTokenError (or UnusableKey) otherwise."""
    options: Options = {
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
    }
    if algorithm not in HMAC_KEY_BYTES:
        public_key = load_private_key(key, algorithm).public_key()
        return jwt.decode(token, public_key, algorithms=[algorithm], options=options)
    try:
        with quiet_about_short_keys(key, algorithm):
            return jwt.decode(token, key, algorithms=[algorithm], options=options)
    except jwt.InvalidKeyError:
        problem = Problem("signing_key", "not_a_secret", {"algorithm": algorithm})
        raise UnusableKey(problem) from None


@contextmanager
def quiet_about_short_keys(key: str, algorithm: str) -> Iterator[None]:
    """Short vendor keys are accepted and flagged to the admin (key_problems); PyJWT's
    own warning would only repeat that on every token."""
    if len(key.encode("utf-8")) >= HMAC_KEY_BYTES[Algorithm(algorithm)]:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        yield
