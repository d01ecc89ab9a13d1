"""Owners' local time: digest windows and quiet hours as UTC instants, DST-correct through zoneinfo."""

from __future__ import annotations

import datetime as dt
import math
import re
from zoneinfo import ZoneInfo

CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
EVERY = re.compile(r"^(\d+)\s*(m|h)$")
CYCLE = "cycle"


def parse_clock(text: str) -> dt.time:
    """'08:00' → 08:00; anything else is a ValueError naming the expected form."""
    found = CLOCK.match(text.strip())
    if not found:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return dt.time(int(found.group(1)), int(found.group(2)))


def parse_quiet(text: str) -> tuple[dt.time, dt.time] | None:
    """'20:00-08:00' → (20:00, 08:00); '' → None (no quiet hours)."""
    if not text.strip():
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a range HH:MM-HH:MM")
    quiet = parse_clock(start), parse_clock(end)
    if quiet[0] == quiet[1]:
        raise ValueError(f"{text!r} starts and ends at the same time")
    return quiet


def parse_window(text: str) -> tuple[str, dt.time | None, int]:
    """A digest window: 'cycle' (what one cycle found), 'HH:MM' (daily at that local time), '30m' / '4h' (every so
    long from local midnight) → (form, time of day, seconds)."""
    value = text.strip().lower()
    if value == CYCLE:
        return CYCLE, None, 0
    if ":" in value:
        return "daily", parse_clock(value), 0
    found = EVERY.match(value)
    if not found or not 0 < int(found.group(1)) * (60 if found.group(2) == "m" else 3600) <= 86400:
        raise ValueError(f"{text!r} is not a digest window (cycle, a time of day like 08:00, or 15m to 24h)")
    return "every", None, int(found.group(1)) * (60 if found.group(2) == "m" else 3600)


def local_moment(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """`at` on `day` in the zone, as UTC. A time the clocks skip (spring forward) lands an hour later; a time they
    show twice (fall back) is its first occurrence."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def next_local(now: dt.datetime, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The first instant after `now` when the zone's clocks show `at`."""
    today = now.astimezone(zone).date()
    for offset in range(3):
        candidate = local_moment(today + dt.timedelta(days=offset), at, zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a local time of day recurs within two days")


def window_end(window: str, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """When the digest window that holds `now` closes (UTC); 'cycle' closes at once."""
    form, at, seconds = parse_window(window)
    if form == CYCLE:
        return now
    if at is not None:
        return next_local(now, at, zone)
    midnight = local_moment(now.astimezone(zone).date(), dt.time(0), zone)
    periods = math.floor((now - midnight).total_seconds() / seconds) + 1
    return min(midnight + dt.timedelta(seconds=periods * seconds), next_local(now, dt.time(0), zone))


def quiet_until(now: dt.datetime, quiet: tuple[dt.time, dt.time] | None, zone: ZoneInfo) -> dt.datetime | None:
    """When the quiet hours around `now` end (the next working moment, UTC), or None outside them."""
    if quiet is None:
        return None
    start, end = quiet
    clock = now.astimezone(zone).time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    return next_local(now, end, zone) if inside else None
