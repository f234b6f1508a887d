"""TOTP (RFC 6238) and recovery codes as pure functions: which step a code matches, and how
recovery codes look and are kept. pyotp computes the codes."""

import hashlib
import hmac
import secrets
import time

import pyotp

STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code from the step before or after is accepted: clocks drift
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def looks_like_totp(code: str) -> bool:
    code = normalise_code(code)
    return len(code) == 6 and code.isascii() and code.isdigit()


def matching_step(
    secret: str, code: str, last_step: int | None, now: float | None = None
) -> int | None:
    """The step within ±DRIFT_STEPS of now whose code this is, if it is later than the last
    step used; None otherwise."""
    if not looks_like_totp(code):
        return None
    code = normalise_code(code)
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step_now = current_step(now)
    for step in range(step_now - DRIFT_STEPS, step_now + DRIFT_STEPS + 1):
        fresh = last_step is None or step > last_step
        if fresh and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of ten characters (about 50 bits each), shown as `abcde-fghjk`."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


# Recovery codes carry about 50 bits: a plain hash of every user's codes could be searched in
# one pass from a copy of the database. Each is kept under a keyed hash whose key (the
# pepper) is derived from SECRET_KEY, a secret every instance already shares and the
# database never holds. The inner SHA-256 is the earlier way they were kept, so a migration
# (e3c1a7d2b9f4) keyed the stored hashes without the codes.
PEPPER_LABEL = b"webapp recovery codes"


def recovery_code_pepper(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), PEPPER_LABEL, hashlib.sha256).digest()


def recovery_code_hash(code: str, secret_key: str) -> str:
    inner = hashlib.sha256(normalise_code(code).encode("utf-8")).hexdigest()
    return keyed_hash(inner, secret_key)


def keyed_hash(inner_hex: str, secret_key: str) -> str:
    pepper = recovery_code_pepper(secret_key)
    return hmac.new(pepper, inner_hex.encode("ascii"), hashlib.sha256).hexdigest()
