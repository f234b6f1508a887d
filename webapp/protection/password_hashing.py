"""Password hashing with a bound on how many hashes run at once in this process.

Each scrypt hash takes 32 MiB and a CPU for a while: a burst of sign-ins would otherwise take
memory without limit. Requests over the bound wait for a slot.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.security import check_password_hash, generate_password_hash

MAX_CONCURRENT_HASHES = 4

_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
_count_lock = threading.Lock()
_running = 0
peak_running = 0  # the most hashes seen at once since the last reset_peak(); for tests and ops


@contextmanager
def _hash_slot() -> Iterator[None]:
    global _running, peak_running
    with _slots:
        with _count_lock:
            _running += 1
            peak_running = max(peak_running, _running)
        try:
            yield
        finally:
            with _count_lock:
                _running -= 1


def reset_peak() -> None:
    global peak_running
    with _count_lock:
        peak_running = _running


def hash_password(password: str) -> str:
    with _hash_slot():
        return generate_password_hash(password, method="scrypt")


def password_matches(password_hash: str, password: str) -> bool:
    with _hash_slot():
        return check_password_hash(password_hash, password)
