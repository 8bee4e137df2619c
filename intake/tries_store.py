"""Where tries at secrets are counted: the shared store (Redis, on several hosts) while it
answers, and this process's own memory while it does not.

When the shared store goes away, nobody is locked out of signing in or coming back with their
code: each process counts on its own until the store answers again (checked every
`retry_after` seconds), so a guesser gets at most one allowance per process for that while,
and the log says so once (docs/decisions.md, "When Redis is away"). Knows nothing of Flask.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from limits.storage import MemoryStorage, Storage

from intake.attempts import Budgets, Reservation

T = TypeVar("T")
log = logging.getLogger(__name__)


class TriesStore:
    def __init__(
        self,
        shared: Storage,
        *,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.local: Storage = shared if isinstance(shared, MemoryStorage) else MemoryStorage()
        self.retry_after = retry_after
        self.clock = clock
        self._away_until: float | None = None
        self._lock = threading.Lock()

    @property
    def shared_is_away(self) -> bool:
        return self._away_until is not None and self.clock() < self._away_until

    def current(self) -> Storage:
        return self.local if self.shared_is_away else self.shared

    def run(self, work: Callable[[Storage], T]) -> T:
        """`work` on the shared store; on this process's memory if the shared one fails."""
        storage = self.current()
        if storage is self.local:
            return work(storage)
        try:
            result = work(storage)
        except self.shared.base_exceptions:
            self._went_away()
            return work(self.local)
        self._came_back()
        return result

    def give_back(self, reservation: Reservation) -> None:
        """Give a try back where it was counted; if that store is away, the count just
        expires with its window."""
        try:
            Budgets(reservation.storage or self.current()).give_back(reservation)
        except self.shared.base_exceptions:
            self._went_away()

    def _went_away(self) -> None:
        with self._lock:
            if self._away_until is None:
                log.warning(
                    "The shared count of tries does not answer: this process counts sign-in "
                    "and code tries on its own until it does."
                )
            self._away_until = self.clock() + self.retry_after

    def _came_back(self) -> None:
        with self._lock:
            if self._away_until is not None:
                log.warning("The shared count of tries answers again.")
            self._away_until = None
