"""The one-time setup code. Only its hash is kept, in the instance folder, until it is used."""

import contextlib
import hashlib
import hmac
import os
import secrets

CODE_FILE = "setup_code"


def _path(instance_path: str) -> str:
    return os.path.join(instance_path, CODE_FILE)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def new_code(instance_path: str) -> str:
    """A fresh code; any earlier one stops working."""
    code = secrets.token_urlsafe(24)
    os.makedirs(instance_path, exist_ok=True)
    descriptor = os.open(_path(instance_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(_digest(code))
    return code


def code_matches(instance_path: str, code: str | None) -> bool:
    try:
        with open(_path(instance_path), encoding="ascii") as file:
            stored = file.read().strip()
    except FileNotFoundError:
        return False
    return code is not None and hmac.compare_digest(stored, _digest(code))


def forget_code(instance_path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(_path(instance_path))
