"""Each user's share of the service: a token bucket per user, so no one user slows the others."""

from __future__ import annotations

import time
from collections import OrderedDict

from ..store import (
    MAX_REQUEST_BYTES,
)


class FairShare:
    """Each user's share of the service: a token bucket per user, refilled at ``rate`` a second
    up to ``burst``.

    A request costs one token, plus one per :data:`BYTES_PER_TOKEN` of body, plus
    :data:`REFUSAL_COST` more when it is refused (4xx), so a client sending garbage runs dry
    long before an honest one (an autosave a second, an outbox catching up after an outage:
    a few 3 MB batches). A user out of tokens gets 429 at once, before the body is read or
    parsed, so one user's flood costs the service a cheap refusal per request, and everyone
    else's saves still find the service free. Keeps at most ``max_users`` buckets (the least
    recently used go first: a forgotten bucket was full anyway, or soon would be). A 429 is
    sent after holding the request up to a second, so a flood slows itself down.
    """

    BYTES_PER_TOKEN = 256 * 1024
    REFUSAL_COST = 5
    HELD = 8
    """Most of one user's refused requests held before their 429 (the rest answered at once)."""

    def __init__(self, rate: float = 20.0, burst: float = 120.0, max_users: int = 20_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_users = max_users
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.refused = 0
        """Requests answered 429 (for the service's health figures)."""
        self.held: dict[str, int] = {}
        """Requests of each user being held before their 429."""

    @classmethod
    def parse(cls, text: str) -> FairShare | None:
        """``RATE/BURST`` (e.g. ``20/120``); ``off`` or ``0``: no limit (``None``)."""
        text = text.strip()
        if text in ("off", "0"):
            return None
        rate, sep, burst = text.partition("/")
        try:
            share = cls(float(rate), float(burst) if sep else float(rate) * 6)
        except ValueError:
            raise ValueError(f"{RATE_LIMIT_ENV}: {text!r} is not RATE/BURST, e.g. 20/120") from None
        if not (share.rate > 0 and share.burst >= 1 + MAX_REQUEST_BYTES // cls.BYTES_PER_TOKEN):
            raise ValueError(
                f"{RATE_LIMIT_ENV}: the rate must be above 0 and the burst at least"
                f" {1 + MAX_REQUEST_BYTES // cls.BYTES_PER_TOKEN} (the largest request's cost)"
            )
        return share

    def cost(self, body_bytes: int) -> float:
        return 1.0 + body_bytes // self.BYTES_PER_TOKEN

    def _level(self, user: str, now: float) -> float:
        level, when = self._buckets.get(user, (self.burst, now))
        return min(self.burst, level + (now - when) * self.rate)

    def take(self, user: str, cost: float) -> float:
        """Spend ``cost`` of ``user``'s tokens: 0 if there were enough, else the seconds until
        there will be (nothing is spent then)."""
        now = time.monotonic()
        level = self._level(user, now)
        if level < cost:
            self._store(user, level, now)
            self.refused += 1
            return (cost - level) / self.rate
        self._store(user, level - cost, now)
        return 0.0

    def charge(self, user: str, cost: float) -> None:
        """Spend ``cost`` more (a refusal, or a body longer than declared): may go below 0."""
        now = time.monotonic()
        self._store(user, self._level(user, now) - cost, now)

    def _store(self, user: str, level: float, now: float) -> None:
        self._buckets[user] = (level, now)
        self._buckets.move_to_end(user)
        while len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


RATE_LIMIT_ENV = "COURSEWARE_RATE_LIMIT"
"""``RATE/BURST``: each user's share of the service (:class:`FairShare`); ``off``: none."""
