"""Signing tokens with a project's key and pinned algorithm, and what makes a key usable."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import HMACAlgorithm

# HMAC algorithms and the hash output size their key should match (RFC 7518 §3.2).
HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
ALGORITHMS = (*HMAC_KEY_BYTES, "RS256", "ES256")
MIN_RSA_BITS = 2048


class UnusableKey(ValueError):
    """The key cannot sign with the project's algorithm."""


def key_problems(key: str, algorithm: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) about a key for an algorithm. A short HMAC key is a warning:
    the vendor chose it, so it is accepted but never silently."""
    if algorithm in HMAC_KEY_BYTES:
        if not key:
            return ["Enter the signing key Soul Machines shared with you."], []
        if "-----BEGIN" in key or hmac_secret_refused(key):
            return [f"{algorithm} signs with a shared secret, not a public or private key."], []
        size, wanted = len(key.encode("utf-8")), HMAC_KEY_BYTES[algorithm]
        if size < wanted:
            return [], [
                f"This key is {size} bytes; {algorithm} keys should be at least {wanted} bytes."
            ]
        return [], []
    try:
        load_private_key(key, algorithm)
    except UnusableKey as error:
        return [str(error)], []
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
        raise UnusableKey(
            f"{algorithm} needs an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)."
        ) from None
    if algorithm == "RS256":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UnusableKey("RS256 needs an RSA private key.")
        if key.key_size < MIN_RSA_BITS:
            raise UnusableKey(f"RS256 needs an RSA key of at least {MIN_RSA_BITS} bits.")
        return key
    if algorithm == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise UnusableKey("ES256 needs an elliptic-curve key on P-256 (prime256v1).")
        return key
    raise UnusableKey(f"Unknown algorithm {algorithm}.")


def sign(claims: dict[str, Any], key: str, algorithm: str) -> str:
    """A compact JWS. The algorithm comes from the project, never from a request."""
    if algorithm not in HMAC_KEY_BYTES:
        return jwt.encode(claims, load_private_key(key, algorithm), algorithm=algorithm)
    try:
        with quiet_about_short_keys(key, algorithm):
            return jwt.encode(claims, key, algorithm=algorithm)
    except jwt.InvalidKeyError as error:
        raise UnusableKey(str(error)) from None


def verify(token: str, key: str, algorithm: str) -> dict[str, Any]:
    """The claims, if the signature is the key's under the pinned algorithm; times are not
    checked here. Raises jwt.InvalidTokenError (or UnusableKey) otherwise."""
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False}
    if algorithm not in HMAC_KEY_BYTES:
        public_key = load_private_key(key, algorithm).public_key()
        return jwt.decode(token, public_key, algorithms=[algorithm], options=options)
    try:
        with quiet_about_short_keys(key, algorithm):
            return jwt.decode(token, key, algorithms=[algorithm], options=options)
    except jwt.InvalidKeyError as error:
        raise UnusableKey(str(error)) from None


@contextmanager
def quiet_about_short_keys(key: str, algorithm: str) -> Iterator[None]:
    """Short vendor keys are accepted and flagged to the admin (key_problems); PyJWT's
    own warning would only repeat that on every token."""
    if len(key.encode("utf-8")) >= HMAC_KEY_BYTES[algorithm]:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        yield
