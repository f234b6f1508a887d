"""The one-time setup code. Only its hash and its expiry are kept, in the instance folder, until
it is used or expires.

A code is used up atomically: the request that creates the first admin first renames the file
to a name of its own (`claim_code`), so of any number of concurrent requests exactly one holds
it; the others find no file. The holder deletes it once the admin is committed
(`spend_code`), or puts it back if the account could not be made (`release_code`).
"""

import contextlib
import hashlib
import hmac
import os
import secrets
import time

CODE_FILE = "setup_code"
LIFETIME = 3600  # seconds: the console line says "valid for 1 hour"


def _path(instance_path: str) -> str:
    return os.path.join(instance_path, CODE_FILE)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def new_code(instance_path: str, *, now: float | None = None) -> str:
    """A fresh code, valid for LIFETIME seconds; any earlier one stops working."""
    code = secrets.token_urlsafe(24)
    expires = int((time.time() if now is None else now) + LIFETIME)
    os.makedirs(instance_path, exist_ok=True)
    descriptor = os.open(_path(instance_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(f"{_digest(code)} {expires}")
    return code


def _matches(path: str, code: str | None) -> bool:
    try:
        with open(path, encoding="ascii") as file:
            digest, _, expires = file.read().strip().partition(" ")
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    if code is None or not expires.isascii() or not expires.isdigit():
        return False  # a file from before codes expired is no longer honoured
    return time.time() < int(expires) and hmac.compare_digest(digest, _digest(code))


def code_matches(instance_path: str, code: str | None) -> bool:
    """The code is the current one and has not expired."""
    return _matches(_path(instance_path), code)


def claim_code(instance_path: str, code: str | None) -> str | None:
    """Take the code for this request alone; a handle for spend_code or release_code, or None
    when the code is wrong, expired, or taken by another request."""
    claimed = f"{_path(instance_path)}.{secrets.token_hex(8)}"
    try:
        os.rename(_path(instance_path), claimed)  # atomic: one request wins
    except FileNotFoundError:
        return None
    if not _matches(claimed, code):
        release_code(instance_path, claimed)
        return None
    return claimed


def spend_code(claimed: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(claimed)


def release_code(instance_path: str, claimed: str) -> None:
    """Put a claimed code back, unless a newer code was made meanwhile."""
    with contextlib.suppress(FileExistsError):
        os.link(claimed, _path(instance_path))  # never replaces an existing file
    spend_code(claimed)


def forget_code(instance_path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(_path(instance_path))
