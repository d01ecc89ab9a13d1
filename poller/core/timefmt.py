"""UTC timestamp formatting and parsing shared by every layer (pure: no clock)."""

from __future__ import annotations

import datetime as dt
import re

# The service's own UTC forms: 2025-12-15T23:36:17.505Z, …17.457306587Z, …17Z, …17+00:00 (any fraction length).
_UTC_WIRE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z|z|\+00:00)")


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds and a Z, so stored timestamps compare correctly as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> dt.datetime:
    """Parse ISO 8601 (Z or offset, any fraction up to nanoseconds); naive input is taken as UTC."""
    text = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Python parses at most 6 fractional digits; AWS sends up to 9
        head, _, rest = text.partition(".")
        tail = rest.lstrip("0123456789")  # the offset after the fraction keeps its own digits
        digits = rest[:len(rest) - len(tail)]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def parse_utc_wire(text: str) -> dt.datetime | None:
    """The service's UTC forms (Z or +00:00, any fraction) parsed fast; None for anything else (offsets, epochs)."""
    match = _UTC_WIRE.fullmatch(text)
    if match is None:
        return None
    whole, fraction = match.groups()
    moment = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC)
    return moment.replace(microsecond=int(fraction[:6].ljust(6, "0"))) if fraction else moment


def normalize_iso(value: object) -> str:
    """A datetime or an ISO string → the canonical `iso` text; raises ValueError when it is neither."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, str) and value:
        return iso(parse_iso(value))
    raise ValueError(f"not a timestamp: {value!r}")


_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def parse_moment(text: str, *, end_of_day: bool = False) -> dt.datetime:
    """`YYYY-MM-DD` (a UTC day: its start, or with end_of_day its last microsecond) or full ISO 8601."""
    if _DATE_ONLY.match(text):
        day = dt.datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=dt.UTC)
        return day + dt.timedelta(days=1, microseconds=-1) if end_of_day else day
    if "T" not in text.upper() and " " not in text.strip():
        raise ValueError(f"{text!r} is neither YYYY-MM-DD nor ISO 8601 (2026-03-01T09:30:00Z)")
    try:
        return parse_iso(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither YYYY-MM-DD nor ISO 8601 (2026-03-01T09:30:00Z)") from None
