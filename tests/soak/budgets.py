"""Budget checks over the simulators' timestamped call logs: calls beyond a limit in any rolling window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from poller.simulators.call_log import CallLog

PC_READS_PER_SECOND = 10  # Partner Central's quota per account (reference §7.2)
PC_READS_PER_DAY = 100_000  # per rolling 24 h
HUBSPOT_PER_10S = 100  # the simulated portal's limit (Free/Starter tier)


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    name: str
    seconds: float
    limit: int
    peak: int  # the most calls inside one window
    over: int  # calls that arrived while the window already held `limit`
    first_over: float | None = None  # clock time of the first of them
    window_calls: tuple[str, ...] = ()  # the calls inside the first window that went over, for the report

    @property
    def line(self) -> str:
        where = ""
        if self.first_over is not None:
            where = f", first at {dt.datetime.fromtimestamp(self.first_over, dt.UTC):%Y-%m-%d %H:%M:%S.%f}"
        calls = f" [{'; '.join(self.window_calls)}]" if self.window_calls and self.seconds <= 10 else ""
        return f"{self.name}: peak {self.peak} / {self.limit}, {self.over} calls over{where}{calls}"


def rolling(times: Sequence[float], seconds: float, limit: int, name: str,
            labels: Sequence[str] | None = None) -> Window:
    """Windows are (t − seconds, t], as HubSpot counts them; `times` sorted. Counted in whole microseconds, so
    float rounding of epoch seconds cannot move a call across a window's edge."""
    micros = [round(t * 1_000_000) for t in times]
    width = round(seconds * 1_000_000)
    start = peak = over = 0
    first = None
    shown: tuple[str, ...] = ()
    for end, t in enumerate(micros):
        while micros[start] <= t - width:
            start += 1
        inside = end - start + 1
        peak = max(peak, inside)
        if inside > limit:
            over += 1
            if first is None:
                first = t / 1_000_000
                shown = tuple(f"{micros[i] / 1_000_000:.6f} {labels[i] if labels else ''}".strip()
                              for i in range(start, end + 1))
    return Window(name=name, seconds=seconds, limit=limit, peak=peak, over=over, first_over=first,
                  window_calls=shown)


def budget_windows(pc: CallLog, hub: CallLog, *, pc_per_second: float, pc_per_day: int,
                   hub_per_10s: int) -> list[Window]:
    """The job's own budgets (what poller promises to stay within) and the APIs' limits (what must never break)."""
    pc_times, hub_times = pc.times_of(), hub.times_of()
    pc_calls = sorted((t, f"{pc.names[op]} {st}") for t, op, st in zip(pc.times, pc.operations, pc.statuses,
                                                                          strict=True))
    pc_labels = [label for _t, label in pc_calls]
    return [
        rolling(hub_times, 10, hub_per_10s, "HubSpot per rolling 10 s, job budget"),
        rolling(hub_times, 10, HUBSPOT_PER_10S, "HubSpot per rolling 10 s, portal limit"),
        rolling(pc_times, 1, int(pc_per_second), "Partner Central per second, job budget", pc_labels),
        rolling(pc_times, 1, PC_READS_PER_SECOND, "Partner Central per second, account quota"),
        rolling(pc_times, 86_400, pc_per_day, "Partner Central per rolling 24 h, job budget"),
        rolling(pc_times, 86_400, PC_READS_PER_DAY, "Partner Central per rolling 24 h, account quota"),
    ]
