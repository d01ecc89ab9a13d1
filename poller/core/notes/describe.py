"""Plain-text descriptions of people and spend, shared by change lists and rendered notes."""

from __future__ import annotations

from collections.abc import Iterable

from poller.core.model import Person, Spend


def describe_person(person: Person) -> str:
    """`First Last (Title) <email>`, leaving out what is unknown."""
    text = person.display_name
    if person.title:
        text += f" ({person.title})"
    if person.email and person.email != person.display_name:
        text += f" <{person.email}>"
    return text


def describe_people(people: Iterable[Person]) -> str | None:
    return "; ".join(describe_person(p) for p in people) or None


def describe_spend(spend: Spend) -> str:
    """`USD 1200.00 Monthly (AWS)`: amount with its currency, frequency and who spends it."""
    text = " ".join(p for p in (spend.currency, spend.amount or "?", spend.frequency) if p)
    return f"{text} ({spend.target_company})" if spend.target_company else text


def describe_spends(spends: Iterable[Spend]) -> str | None:
    return "; ".join(describe_spend(s) for s in spends) or None
