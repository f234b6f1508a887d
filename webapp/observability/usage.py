"""Usage counts in memory: the token path and sign-ins only bump a counter here; a thread per
process hands the counts to the database in batches (webapp/services/usage.py writes them).

Why not write per request: the token endpoint answers thousands of requests a second on a
launch day, and an upsert per token would cost more than the token itself.
"""

import atexit
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from multiprocessing import util as multiprocessing_util

WRITE_INTERVAL = 10.0  # seconds between two batches of one process, at most
HOUR = 3600

# (kind, start of the hour in Unix seconds, project slug or "", outcome); kind is
# TOKENS (outcome: `issued` or the refusal's reason) or SIGN_INS (outcome as logged).
Key = tuple[str, int, str, str]
TOKENS = "tokens"
SIGN_INS = "sign_ins"
ISSUED = "issued"

# Writes a batch; False when it could not (the database is away): the counts are kept.
Write = Callable[[Counter[Key]], bool]


class UsageCounter:
    """Made with the app's metrics (metrics.py); `write` is set by webapp/services/usage.py."""

    def __init__(self) -> None:
        self.write: Write | None = None
        self.closed = False
        self.reset()
        COUNTERS.add(self)

    def reset(self) -> None:
        """Empty, with fresh locks and no writer: at start, and in a child after a fork, where
        the parent's counts are the parent's to write and its threads do not exist (a lock
        one of them held at the fork would stay held: new ones are made)."""
        self.stopped = threading.Event()
        if self.closed:
            self.stopped.set()
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()  # one batch at a time: the thread's, or at exit
        self.counts: Counter[Key] = Counter()
        self.writer: threading.Thread | None = None

    def bump(self, kind: str, subject: str, outcome: str) -> None:
        """The only cost a request pays: one increment under a lock."""
        now = int(time.time())
        key = (kind, now - now % HOUR, subject, outcome)
        with self.lock:
            self.counts[key] += 1
        if self.writer is None:
            self.start_writer()

    def start_writer(self) -> None:
        """Lazily, in the process that counts: a server's workers start after the app is made."""
        with self.lock:
            if self.writer is not None or self.closed:
                return
            self.writer = threading.Thread(
                target=self.write_every_interval, name="usage-writer", daemon=True
            )
            self.writer.start()
        write_at_exit()

    def write_every_interval(self) -> None:
        while not self.stopped.wait(WRITE_INTERVAL):
            self.write_batch()

    def write_batch(self) -> None:
        """Hand what was counted to the database; on failure keep it for the next try."""
        with self.write_lock:
            with self.lock:
                batch, self.counts = self.counts, Counter()
            if batch and not (self.write and self.write(batch)):
                with self.lock:
                    self.counts.update(batch)

    def close(self) -> None:
        """Stop the writer and drop what is still counted (an app going away in tests)."""
        self.closed = True
        self.stopped.set()
        with self.write_lock, self.lock:
            self.counts.clear()


# Every counter of this process, for the exit and fork hooks; an app that is gone is dropped.
COUNTERS: "weakref.WeakSet[UsageCounter]" = weakref.WeakSet()
exit_hooks_pid: int | None = None


def write_all() -> None:
    for counter in list(COUNTERS):
        if not counter.closed:
            counter.write_batch()


def write_at_exit() -> None:
    """Once per process. atexit covers a plain interpreter exit; a worker forked by
    multiprocessing (Granian's) ends with os._exit after multiprocessing's own finalizers,
    which skips atexit, so it gets one of those too. Writing twice writes nothing twice."""
    global exit_hooks_pid
    if exit_hooks_pid == os.getpid():
        return
    exit_hooks_pid = os.getpid()
    atexit.register(write_all)
    multiprocessing_util.Finalize(None, write_all, exitpriority=10)


def forget_after_fork() -> None:
    for counter in list(COUNTERS):
        counter.reset()


os.register_at_fork(after_in_child=forget_after_fork)
