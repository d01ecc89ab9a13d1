"""HubSpot's request limits: a rolling window per token, a daily allowance per portal, and the headers that report them."""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class RateLimiter:
    """Counts only the requests it admits, so `max_in_window` shows what a client actually got through."""

    limit: int = 100
    window: float = 10.0
    daily_limit: int = 250_000
    # Off by default: tests run under a frozen clock, where any per-second limit would refuse every search.
    search_limit: int | None = None
    search_window: float = 1.0
    max_in_window: int = 0
    _admitted: dict[str, deque[float]] = field(default_factory=dict)
    _searches: dict[str, deque[float]] = field(default_factory=dict)
    _day: str = ""
    _day_count: int = 0

    def admit(self, token: str, now: float, *, search: bool) -> str | None:
        """Record the request if it fits and return None; else the name of the policy that refused it."""
        self._roll_day(now)
        if self._day_count >= self.daily_limit:
            return "DAILY"
        if search:
            # Searches have their own limit and never count toward the ten-second window (reference §5).
            if self.search_limit is not None:
                recent = _trim(self._searches.setdefault(token, deque()), now, self.search_window)
                if len(recent) >= self.search_limit:
                    return "SECONDLY"
                recent.append(now)
            self._day_count += 1
            return None
        recent = _trim(self._admitted.setdefault(token, deque()), now, self.window)
        if len(recent) >= self.limit:
            return "TEN_SECONDLY_ROLLING"
        recent.append(now)
        self._day_count += 1
        self.max_in_window = max(self.max_in_window, len(recent))
        return None

    def headers(self, token: str, now: float) -> dict[str, str]:
        self._roll_day(now)
        used = len(_trim(self._admitted.setdefault(token, deque()), now, self.window))
        return {
            "X-HubSpot-RateLimit-Max": str(self.limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.limit - used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self._day_count)),
        }

    def daily_used(self, now: float) -> int:
        self._roll_day(now)
        return self._day_count

    def _roll_day(self, now: float) -> None:
        # The daily allowance resets at midnight in the portal's time zone, which the simulator reports as UTC.
        day = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
        if day != self._day:
            self._day, self._day_count = day, 0


def _trim(times: deque[float], now: float, window: float) -> deque[float]:
    """Drop what left the window (now − window, now]; a request exactly `window` seconds old no longer counts."""
    while times and times[0] <= now - window:
        times.popleft()
    return times
