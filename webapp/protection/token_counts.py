"""The token limit's counts, kept in the shared rate-limit store and sent to it in batches.

Counting every token request in Redis is a round trip per request, on the one path that must
be fast: measured, it cost the token endpoint about two thirds of its requests per second
(bench/RESULTS.md). So a worker counts a visitor's requests itself, and sends what it counted
to the store's own fixed-window counter (limits' `incr`, the same key FixedWindowRateLimiter
uses) every FLUSH_SECONDS. Where that could let anyone past a limit, it does not batch:

- a visitor's first request in a worker, and any request once the store has failed, is
  counted in the store before it is answered (so a store that is away is refused, 503);
- so is every request that could bring a visitor within MAX_PENDING of a limit, and every
  MAX_PENDING-th request: near a limit the count is exact, as with the store alone.

Far from every limit, W workers (across every instance) can together let one visitor at most
W x MAX_PENDING requests past a limit within its window, by asking each of them at once; and
the counts of the last FLUSH_SECONDS are lost when a worker stops. An in-process store
(`memory://`) is counted directly: it costs no round trip.
"""

import os
import threading
import time

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage

FLUSH_SECONDS = 0.1
MAX_PENDING = 16
MAX_KNOWN = 100_000  # keys whose store count this worker knows; all dropped when full


class TokenCounts:
    def __init__(self, storage: Storage):
        self.storage = storage
        self.direct = isinstance(storage, MemoryStorage)
        self._start()

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, int]] = {}  # key: (counted here, not sent; expiry)
        self._known: dict[str, int] = {}  # key: the store's count when it was last sent
        self._failing = False
        self._owner = os.getpid()  # a forked worker starts afresh, with its own sender
        self._sender: threading.Thread | None = None

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """One request against `item`, as FixedWindowRateLimiter.hit: False when it is over.
        Raises StorageError when the store cannot be reached."""
        key, expiry = item.key_for(*identifiers), item.get_expiry()
        if self.direct:
            return self.storage.incr(key, expiry) <= item.amount
        if self._owner != os.getpid():
            self._start()
        with self._lock:
            unsent = self._pending.pop(key, (0, expiry))[0] + 1
            known = self._known.get(key)
            if (
                not self._failing
                and known is not None
                and unsent < MAX_PENDING
                and known + unsent + MAX_PENDING <= item.amount
            ):
                self._pending[key] = (unsent, expiry)
                if self._sender is None:
                    self._sender = threading.Thread(target=self._send_forever, daemon=True)
                    self._sender.start()
                return True
        total = self.send(key, unsent, expiry)
        return total <= item.amount

    def send(self, key: str, count: int, expiry: int) -> int:
        """Add `count` to the store's counter; its new total."""
        try:
            total = self.storage.incr(key, expiry, amount=count)
        except StorageError:
            self._failing = True
            raise
        with self._lock:
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()
            self._known[key] = total
            self._failing = False
        return total

    def send_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for key, (count, expiry) in pending.items():
            try:
                self.send(key, count, expiry)
            except StorageError:
                with self._lock:  # kept for the next try; requests now go to the store
                    unsent = self._pending.get(key, (0, expiry))[0]
                    self._pending[key] = (unsent + count, expiry)

    def _send_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            if self._pending:
                self.send_pending()
