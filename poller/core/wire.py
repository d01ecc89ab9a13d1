"""Lenient reads of boto3 dicts: absent, null, "" and [] are alike; a block of the wrong type is MalformedRecord."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from poller.core.errors import MalformedRecord
from poller.core.model import Person, Spend
from poller.core.timefmt import normalize_iso

# What SQLite (UTF-8) and HubSpot (JSON into HTML) cannot hold: lone surrogates, which cannot be encoded at all,
# and C0 control characters other than tab and line breaks (NUL above all), which HTML and XML forbid.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
UNREADABLE = "__unreadable__"  # key of the one member of a listing item the adapter could not read


@dataclass(frozen=True, slots=True, kw_only=True)
class UnreadableItem:
    """A listing item that did not fit the model: its id when it can be read again by id, its name, and why."""

    record_id: str | None
    name: str
    reason: str


def unreadable(item: Mapping[str, Any]) -> UnreadableItem | None:
    found = item.get(UNREADABLE)
    return found if isinstance(found, UnreadableItem) else None


def storable(value: str) -> str:
    """`value` with lone surrogates replaced (U+FFFD, as a UTF-8 decoder would) and control characters dropped."""
    if _UNSTORABLE.search(value) is None:  # the common case: one scan, no copy
        return value
    return _CONTROL.sub("", _LONE_SURROGATE.sub("\ufffd", value))


def text(value: Any) -> str | None:
    """Stripped, storable text, or None for absent/empty; numbers (a numeric score, an amount) become their text."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return storable(value).strip() or None
    return None


def obj(record: Mapping[str, Any], name: str, rid: str) -> Mapping[str, Any]:
    """The named object member, {} when absent; MalformedRecord when it is not an object."""
    value = record.get(name)
    if value is None or value == "" or value == []:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedRecord(rid, f"{name} is a {type(value).__name__}, not an object")
    return value


def items(record: Mapping[str, Any], name: str, rid: str) -> list[Any]:
    """The named list member, [] when absent; MalformedRecord when it is not a list. A null entry is no entry."""
    value = record.get(name)
    if value is None or value == "":
        return []
    if not isinstance(value, list | tuple):
        raise MalformedRecord(rid, f"{name} is a {type(value).__name__}, not a list")
    return [item for item in value if item is not None]


def strings(record: Mapping[str, Any], name: str, rid: str) -> tuple[str, ...]:
    """A list of strings as a sorted, deduplicated tuple (the order AWS sends means nothing)."""
    return tuple(sorted({t for t in map(text, items(record, name, rid)) if t}))


def timestamp(value: Any, rid: str, name: str) -> str | None:
    """A datetime or ISO string → canonical ISO text; None when absent; MalformedRecord when unparseable."""
    if value is None or value == "":
        return None
    try:
        return normalize_iso(value)
    except (ValueError, TypeError) as exc:
        raise MalformedRecord(rid, f"{name} {value!r} is not a timestamp") from exc


def date_text(value: Any) -> str | None:
    # Date fields are YYYY-MM-DD strings on the wire; accept a date/datetime too (a test or a cache may send one).
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return text(value)


def people(record: Mapping[str, Any], name: str, rid: str) -> tuple[Person, ...]:
    """Contacts or team members, sorted by Person.key so a reordering is not a change."""
    found = []
    for item in items(record, name, rid):
        if not isinstance(item, Mapping):
            raise MalformedRecord(rid, f"{name} holds a {type(item).__name__}, not an object")
        found.append(Person(email=text(item.get("Email")), first_name=text(item.get("FirstName")),
                             last_name=text(item.get("LastName")), title=text(item.get("BusinessTitle"))))
    return tuple(sorted(found, key=lambda p: (p.key, p.email or "", p.title or "")))


def spend(record: Mapping[str, Any], rid: str) -> tuple[Spend, ...]:
    """ExpectedCustomerSpend entries, sorted so a reordering is not a change."""
    entries = []
    for item in items(record, "ExpectedCustomerSpend", rid):
        if not isinstance(item, Mapping):
            raise MalformedRecord(rid, f"ExpectedCustomerSpend holds a {type(item).__name__}, not an object")
        entries.append(Spend(amount=text(item.get("Amount")), currency=text(item.get("CurrencyCode")),
                             frequency=text(item.get("Frequency")), target_company=text(item.get("TargetCompany"))))
    return tuple(sorted(entries, key=lambda s: (s.target_company or "", s.currency or "", s.frequency or "",
                                                s.amount or "")))
