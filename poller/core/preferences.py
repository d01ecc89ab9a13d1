"""Owners' notification preferences: defaults, per-team groups and per-owner entries, merged into one value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from poller.core.rules import FrozenMap

MODES = ("immediate", "digest", "off")
RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
Entry = tuple[tuple[str, Any], ...]  # the settings one level states: (name, value) pairs, in file order


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerPreferences:
    """What one owner receives and when: the effective value after defaults, team and owner entries."""

    mute: frozenset[str] = frozenset()  # kinds never delivered (recorded as suppressed)
    minimum_priority: str = "LOW"  # events below it are suppressed
    mode: str = "immediate"  # immediate | digest | off, for every kind not in `kinds`
    kinds: FrozenMap[str] = field(default_factory=lambda: FrozenMap({}))  # kind → mode
    digest_window: str = "cycle"  # cycle | HH:MM (daily, owner's time) | 15m … 24h
    digest_high: bool = False  # HIGH events bypass the digest unless this is set
    time_zone: str = "UTC"  # IANA name: quiet hours, daily windows and roll-up times are in it
    quiet_hours: str = ""  # HH:MM-HH:MM: tasks still arrive, their reminder moves to the end
    flood_limit: int = 0  # at most this many tasks per deal per hour (0 = no limit); the rest fold into a digest
    rollup_at: str = "08:00"  # managers: when the daily roll-up is made (owner's time)

    def mode_of(self, kind: str) -> str:
        return self.kinds.get(kind, self.mode)


NAMES = tuple(f.name for f in fields(OwnerPreferences))


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    """A group of owners sharing settings; its managers receive its daily roll-up."""

    name: str
    members: frozenset[str]  # owner ids or emails (emails compared case-insensitively)
    managers: tuple[str, ...] = ()
    entry: Entry = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """The whole `[preferences]` table: defaults < team < owner, each level replacing what it states (`kinds` is
    merged kind by kind)."""

    defaults: Entry = ()
    teams: tuple[Team, ...] = ()
    owners: tuple[tuple[str, Entry], ...] = ()  # owner id or email → entry

    def levels(self, owner_id: str | None, email: str | None = None) -> list[tuple[str, Entry]]:
        """The entries that apply to this owner, lowest first, each with where it came from."""
        ids = {i for i in (owner_id, (email or "").casefold()) if i}
        found: list[tuple[str, Entry]] = [("defaults", self.defaults)]
        found += [(f"team {t.name}", t.entry) for t in self.teams if ids & {m.casefold() for m in t.members}]
        found += [(f"owner {name}", entry) for name, entry in self.owners if name.casefold() in ids]
        return found

    def effective(self, owner_id: str | None, email: str | None = None) -> OwnerPreferences:
        return self.explain(owner_id, email)[0]

    def explain(self, owner_id: str | None, email: str | None = None) -> tuple[OwnerPreferences, dict[str, str]]:
        """The owner's effective preferences, and for each setting the level it came from ("built-in" if none)."""
        values: dict[str, Any] = {}
        source = {name: "built-in" for name in NAMES}
        for label, entry in self.levels(owner_id, email):
            for name, value in entry:
                values[name] = FrozenMap({**values.get(name, {}), **value}) if name == "kinds" else value
                source[name] = label
        return replace(OwnerPreferences(), **values), source

    @property
    def configured(self) -> bool:
        """Whether anything is set: without it every notification goes at once, undecided, as before preferences."""
        return bool(self.defaults or self.teams or self.owners)

    def summary(self) -> str:
        """One line for `poller config show`; `poller state preferences OWNER` shows what applies to one owner."""
        managers = sum(len(t.managers) for t in self.teams)
        return (f"defaults {dict(self.defaults)}; {len(self.teams)} teams ({managers} managers); "
                f"{len(self.owners)} owners")

    def managers(self) -> list[tuple[str, Team]]:
        """(manager id or email, team) for every configured manager."""
        return [(manager, team) for team in self.teams for manager in team.managers]


def entry_of(values: Mapping[str, Any]) -> Entry:
    """An entry from checked values; `mute` and `kinds` become frozen, hashable values."""
    coerced = {name: frozenset(v) if name == "mute" else FrozenMap(v) if name == "kinds" else v
               for name, v in values.items()}
    return tuple(coerced.items())
