"""decide(notification, preferences, now) → send now, hold for a digest, or suppress: one owner's rules applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from poller.core.hours import parse_quiet, quiet_until, window_end
from poller.core.preferences import RANK, OwnerPreferences
from poller.core.timefmt import iso

HOUR = dt.timedelta(hours=1)
SEND, HOLD, SUPPRESS = "send", "hold", "suppress"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    action: str  # send | hold | suppress
    reason: str  # shown by `poller state outbox`
    hold_until: dt.datetime | None = None  # hold: when the digest it joins is made
    remind_at: dt.datetime | None = None  # send in quiet hours: the reminder rings when they end
    due_at: dt.datetime | None = None  # send: the due time, moved out of quiet hours


def decide(*, kind: str, priority: str, due_at: dt.datetime, prefs: OwnerPreferences, now: dt.datetime,
           recent: Sequence[dt.datetime] = ()) -> Decision:
    """One notification for one owner; `recent`: when the tasks of the same deal released lately were released."""
    if kind in prefs.mute:
        return Decision(action=SUPPRESS, reason=f"muted: {kind}")
    mode = prefs.mode_of(kind)
    if mode == "off":
        return Decision(action=SUPPRESS, reason=f"off: {kind}")
    if RANK.get(priority, 1) > RANK[prefs.minimum_priority]:
        return Decision(action=SUPPRESS, reason=f"{priority} is below the minimum priority {prefs.minimum_priority}")
    if priority == "HIGH" and not prefs.digest_high:  # never delayed: not by a digest, not by the flood guard
        return release("HIGH: at once", due_at, prefs, now)
    zone = ZoneInfo(prefs.time_zone)
    if mode == "digest":
        end = max(window_end(prefs.digest_window, now, zone), flood_free_at(recent, prefs.flood_limit, now) or now)
        return Decision(action=HOLD, reason=f"digest ({prefs.digest_window})", hold_until=end)
    free = flood_free_at(recent, prefs.flood_limit, now)
    if free is not None:
        return Decision(action=HOLD, reason=f"flood guard: {prefs.flood_limit} tasks on this deal within the hour; "
                        "folded into the next digest", hold_until=free)
    return release("immediate", due_at, prefs, now)


def release(reason: str, due_at: dt.datetime, prefs: OwnerPreferences, now: dt.datetime) -> Decision:
    """Send now; inside quiet hours the reminder (and a due time that falls inside them) moves to their end."""
    end = quiet_until(now, parse_quiet(prefs.quiet_hours), ZoneInfo(prefs.time_zone))
    if end is None:
        return Decision(action=SEND, reason=reason, due_at=due_at)
    due_quiet = quiet_until(due_at, parse_quiet(prefs.quiet_hours), ZoneInfo(prefs.time_zone))
    return Decision(action=SEND, reason=f"{reason}; quiet hours: reminder at {iso(end)}", remind_at=end,
                    due_at=max(due_at, due_quiet or due_at))


def flood_free_at(recent: Sequence[dt.datetime], limit: int, now: dt.datetime) -> dt.datetime | None:
    """None when the deal may take another task now; else when it may (the hour's oldest tasks age out)."""
    if limit <= 0:
        return None
    within = sorted(t for t in recent if t > now - HOUR)
    if len(within) < limit:
        return None
    return within[len(within) - limit] + HOUR
