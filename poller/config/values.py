"""Checks of single setting values: durations and their bounds, booleans, URLs and the HubSpot token."""

from __future__ import annotations

import ipaddress
import re
import string
from typing import Any
from urllib.parse import urlsplit

from poller.errors import ConfigError

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
# (smallest, largest) of each duration, in seconds. Outside them a value is a typo (99999999d) or would stall the job
# (an HTTP timeout of 0): refused at load time, naming the setting.
BOUNDS = {
    "lookback": (0.0, 7 * DAY),
    "sweep_period": (0.0, 30 * DAY),
    "run_time_budget": (10.0, DAY),
    "http_timeout": (1.0, 5 * MINUTE),
    "settle_time": (0.0, HOUR),
    "retention": (DAY, 3650 * DAY),
    "--every": (1.0, 7 * DAY),
    "--older-than": (0.0, 3650 * DAY),
    # the 2026 signals (poller.config.signal_settings)
    "invitation_reminder": (HOUR, 14 * DAY),
    "action_required_after": (HOUR, 90 * DAY),
    "action_required_every": (HOUR, 90 * DAY),
    "benefits_period": (MINUTE, 7 * DAY),
    "funding_expiry_window": (DAY, 365 * DAY),
}
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
LOOPBACK_NAMES = ("localhost",)


def parse_duration(text: str | int | float, name: str) -> float:
    """'15m', '1h', '90s', '3600' → seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    match = DURATION.match(str(text))
    if not match:
        raise ConfigError(f"{name}: {text!r} is not a duration (examples: 90s, 15m, 1h)")
    return float(match.group(1)) * UNITS[match.group(2)]


def bounded_duration(raw: Any, name: str) -> float:
    """A duration within its BOUNDS, or a one-line error saying what is allowed."""
    value = parse_duration(raw, name)
    low, high = BOUNDS[name]
    if value < 0:
        raise ConfigError(f"{name}: must not be negative")
    if not low <= value <= high:
        raise ConfigError(f"{name}: {raw!r} is out of range (from {human(low)} to {human(high)})")
    return value


def human(seconds: float) -> str:
    """90 → '90s', 900 → '15m', 86400 → '1d'."""
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def boolean(raw: Any, name: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def token(raw: str, name: str) -> str | None:
    """The HubSpot token as given, minus one trailing line break (a secret file usually ends with one).

    Anything else that is not printable ASCII is refused, never trimmed: a token file with a second line or a
    pasted space is a mistake to fix, and an HTTP library would otherwise quote the whole token in its error.
    The message says where the bad character is, never what the token is.
    """
    value = raw.removesuffix("\n").removesuffix("\r")
    if not value:
        return None
    for position, char in enumerate(value, 1):
        if not ("!" <= char <= "~"):
            what = "whitespace" if char.isspace() else "a non-ASCII character" if ord(char) > 127 else \
                "a control character"
            line = " (a second line?)" if char in "\r\n" else ""
            raise ConfigError(f"{name}: contains {what} at position {position} of {len(value)}{line}; "
                              "a token is printable ASCII only")
    return value


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, name: str) -> None:
    """https anywhere; plain http only to this machine (a simulator or a local proxy): the token rides along."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{name}: {url!r} would send the HubSpot token unencrypted; use https "
                          "(plain http is allowed only to localhost, 127.0.0.0/8 or ::1)")


def check_link_template(url: str, name: str) -> None:
    """An https link with exactly one `{id}` and no other format field (it is filled with str.format)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"{name}: {url!r} is not an https URL")
    try:
        fields = [(f, spec, conv) for _text, f, spec, conv in string.Formatter().parse(url) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{name}: {url!r} is not a valid template ({exc}); write {{id}} where the id goes") from None
    others = [f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
              for f, spec, conv in fields if f != "id" or spec or conv]
    if others or len(fields) != 1:
        what = f"has {{{others[0]}}}" if others else f"has {len(fields)} {{id}} placeholders"
        raise ConfigError(f"{name}: {url!r} {what}; it needs exactly one {{id}} and no other {{…}} field")
