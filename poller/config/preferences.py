"""The `[preferences]` table of poller.toml, checked into one Preferences value; a bad entry is one line naming it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from poller.core.hours import parse_clock, parse_quiet, parse_window
from poller.core.model import KINDS, PRIORITIES
from poller.core.preferences import MODES, NAMES, Entry, Preferences, Team, entry_of
from poller.errors import ConfigError

OWNER = re.compile(r"^(\d+|[^@\s]+@[^@\s]+)$")  # a HubSpot owner id, or an email
FLOOD_MAX = 1000


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {type(value).__name__}")
    return value


def _kinds(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where}: expected a list of event kinds")
    unknown = [k for k in value if k not in KINDS]
    if unknown:
        raise ConfigError(f"{where}: unknown event kind {unknown[0]!r} (kinds: {', '.join(KINDS)})")
    return list(value)


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, where: str) -> str:
        if value not in options:
            raise ConfigError(f"{where}: expected one of {', '.join(options)}, got {value!r}")
        return str(value)
    return check


def _modes(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of event kind = {' | '.join(MODES)}")
    for kind, mode in value.items():
        _kinds([kind], f"{where}.{kind}")
        _choice(MODES)(mode, f"{where}.{kind}")
    return dict(value)


def _parsed(parse: Callable[[str], object]) -> Callable[[Any, str], str]:
    def check(value: Any, where: str) -> str:
        try:
            parse(_text(value, where))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return str(value).strip()
    return check


def _zone(value: Any, where: str) -> str:
    try:
        ZoneInfo(_text(value, where))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not an IANA time zone (examples: Europe/Berlin, "
                          "America/New_York, UTC)") from None
    return str(value)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false")
    return value


def _flood(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= FLOOD_MAX:
        raise ConfigError(f"{where}: expected a whole number of tasks per deal per hour, 0 (no limit) to {FLOOD_MAX}")
    return value


CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "mute": _kinds, "minimum_priority": _choice(PRIORITIES), "mode": _choice(MODES), "kinds": _modes,
    "digest_window": _parsed(parse_window), "digest_high": _boolean, "time_zone": _zone,
    "quiet_hours": _parsed(parse_quiet), "flood_limit": _flood, "rollup_at": _parsed(parse_clock),
}
assert set(CHECKS) == set(NAMES)


def _entry(table: dict[str, Any], where: str, *, extra: tuple[str, ...] = ()) -> Entry:
    values = {}
    for key, value in table.items():
        if key in extra:
            continue
        if key not in CHECKS:
            raise ConfigError(f"{where}.{key}: unknown preference (known: {', '.join(NAMES)})")
        values[key] = CHECKS[key](value, f"{where}.{key}")
    return entry_of(values)


def _owners(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise ConfigError(f"{where}: expected a list of HubSpot owner ids or emails")
    names = [str(v).strip() for v in value]
    bad = [n for n in names if not OWNER.match(n)]
    if bad:
        raise ConfigError(f"{where}: {bad[0]!r} is neither a HubSpot owner id (digits) nor an email")
    return names


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table")
    return value


def parse_preferences(raw: Any, where: str = "preferences") -> Preferences:
    """Defaults (the table's own keys), `teams.NAME` (members, managers and settings) and `owners."ID or email"`."""
    table = _table(raw, where)
    defaults = _entry(table, where, extra=("teams", "owners"))
    teams: list[Team] = []
    member_of: dict[str, str] = {}
    for name, team in _table(table.get("teams", {}), f"{where}.teams").items():
        at = f"{where}.teams.{name}"
        team = _table(team, at)
        members = _owners(team.get("members", []), f"{at}.members")
        for member in members:
            if member.casefold() in member_of:  # one owner, one team: which team's settings win is never a guess
                raise ConfigError(f"{at}.members: {member!r} is already in team {member_of[member.casefold()]}")
            member_of[member.casefold()] = name
        teams.append(Team(name=name, members=frozenset(members),
                          managers=tuple(_owners(team.get("managers", []), f"{at}.managers")),
                          entry=_entry(team, at, extra=("members", "managers"))))
    owners = []
    for name, entry in _table(table.get("owners", {}), f"{where}.owners").items():
        if not OWNER.match(name):
            raise ConfigError(f"{where}.owners.{name}: neither a HubSpot owner id (digits) nor an email")
        owners.append((name, _entry(_table(entry, f"{where}.owners.{name}"), f"{where}.owners.{name}")))
    return Preferences(defaults=defaults, teams=tuple(teams), owners=tuple(owners))
