"""The origins any enabled project allows. The token endpoint's answers that name no project
(400, 404) carry CORS for them, so a script on a product website can read why its request
failed, while an origin no project allows still reads nothing.

Read at most once a second per process (as the token reads are), so a flood of 404s is no
flood of queries, and a project saved anywhere is in force within the 2 s rule."""

import math
from collections.abc import Callable, Iterable
from typing import Any

REUSE_SECONDS = 1.0


class KnownOrigins:
    def __init__(self, read: Callable[[], Iterable[Any]], clock: Callable[[], float]):
        self._read = read  # each enabled project's allowed_origins, as stored
        self._clock = clock
        self._origins: frozenset[str] = frozenset()
        self._expires = -math.inf

    def get(self) -> frozenset[str]:
        """A set, so asking is one lookup; threads racing to refresh read the same rows."""
        now = self._clock()
        if now >= self._expires:
            self._origins = frozenset(
                origin
                for origins in self._read()
                if isinstance(origins, list)
                for origin in origins
                if isinstance(origin, str)
            )
            self._expires = now + REUSE_SECONDS
        return self._origins

    def forget(self) -> None:
        """This process changed a project: its next answer reads again."""
        self._expires = -math.inf
