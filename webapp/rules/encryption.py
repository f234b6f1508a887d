"""Encryption of secrets at rest with MultiFernet: the first key encrypts, every key decrypts."""

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class EncryptionKeyError(ValueError):
    """The configured encryption keys are missing or malformed."""


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def load_keys(keys: str) -> MultiFernet:
    """Build a MultiFernet from a comma-separated list of Fernet keys, first one encrypting."""
    return MultiFernet(parse_keys(keys))


def parse_keys(keys: str) -> list[Fernet]:
    parts = [part.strip() for part in keys.split(",") if part.strip()]
    if not parts:
        raise EncryptionKeyError("SECRETS_ENCRYPTION_KEYS holds no key")
    fernets = []
    for position, part in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(part))
        except ValueError:
            raise EncryptionKeyError(
                f"SECRETS_ENCRYPTION_KEYS key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None
    return fernets


def encrypt(fernet: MultiFernet, value: str) -> str:
    return fernet.encrypt(value.encode("utf-8")).decode("ascii")


UNREADABLE = "the stored secret cannot be decrypted with any key in SECRETS_ENCRYPTION_KEYS"


def decrypt(fernet: MultiFernet, token: str) -> str:
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(UNREADABLE) from None


def rotate(fernet: MultiFernet, token: str) -> str:
    """Re-encrypt a stored value under the first key."""
    try:
        return fernet.rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(UNREADABLE) from None


def is_current(first: Fernet, token: str) -> bool:
    """Whether a stored value is encrypted under the first key already (nothing to rotate)."""
    try:
        first.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def fingerprint(value: str) -> str:
    """What admins see instead of a secret: 8 hex characters of its SHA-256."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]
