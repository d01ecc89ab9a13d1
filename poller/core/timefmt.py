"""UTC timestamp formatting and parsing shared by every layer (pure: no clock)."""

from __future__ import annotations

import datetime as dt


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
        digits = "".join(ch for ch in rest if ch.isdigit())
        tail = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def normalize_iso(value: object) -> str:
    """A datetime or an ISO string → the canonical `iso` text; raises ValueError when it is neither."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, str) and value:
        return iso(parse_iso(value))
    raise ValueError(f"not a timestamp: {value!r}")
