"""Token buckets in memory, one per key: ``rate`` requests per second, bursts up to ``burst``."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """Per-name token buckets. ``take(name)`` returns 0 when allowed, else the seconds to wait.

    ``rate <= 0`` disables limiting. At most ``max_names`` buckets are kept (the oldest idle
    ones are forgotten first, which only ever lets a forgotten name start with a full bucket).
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        max_names: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self.max_names = max_names
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, updated)
        self._lock = threading.Lock()

    def take(self, name: str, cost: float = 1.0, rate: float | None = None) -> float:
        """Spend ``cost`` tokens of ``name``'s bucket (``rate`` overrides the default rate,
        with a burst of twice the rate, at least 1)."""
        rate = self.rate if rate is None else rate
        if rate <= 0:
            return 0.0
        burst = self.burst if rate == self.rate else max(1.0, 2 * rate)
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.pop(name, (burst, now))
            tokens = min(burst, tokens + (now - updated) * rate)
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / rate
            self._buckets[name] = (tokens, now)  # re-inserted last: dicts keep LRU order
            if len(self._buckets) > self.max_names:
                self._buckets.pop(next(iter(self._buckets)))
        return wait

    @staticmethod
    def retry_after(wait: float) -> int:
        """Whole seconds for a Retry-After header (at least 1)."""
        return max(1, math.ceil(wait))
