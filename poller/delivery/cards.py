"""What a row's message says, for sinks that lay out their own (Slack, SNS): its card, owner and links."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from poller.core.card import Card
from poller.core.notes.wording import when
from poller.delivery.routing import Owners
from poller.errors import Deferred
from poller.store.outbox import OutboxRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One row as a message: the card's words plus who it is for, when it is due and where to act on it."""

    row: OutboxRow
    card: Card
    owner: str  # "Ada Lovelace <ada@example.com>", or the owner id when HubSpot's owners list lacks it
    due: str  # "2026-03-03 09:00 UTC"
    deal_url: str | None  # the deal in HubSpot (hubspot_deal_url), when the row has a deal and the setting is made


def card_of(row: OutboxRow) -> Card:
    """The row's card; a row queued without one (a notification made by hand) gets one from its subject."""
    if row.get("card"):
        return Card.from_json(row["card"] or "")
    return Card(emoji="", headline=row["subject"], label="", context="", link="", link_text="")


def owner_label(owner: Mapping[str, Any] | None, owner_id: str | None) -> str:
    if not owner_id:
        return "(no owner)"
    if not owner:
        return f"HubSpot owner {owner_id}"
    name = " ".join(p for p in (owner.get("first_name"), owner.get("last_name")) if p)
    email = owner.get("email")
    return f"{name} <{email}>" if name and email else name or email or f"HubSpot owner {owner_id}"


def owner_names(owners: Owners | None, row: OutboxRow) -> Mapping[str, Mapping[str, Any]]:
    """HubSpot's owners (cached) to name the row's owner; a name is a nicety, so an unreadable list names nobody.
    A stop request still stops the run."""
    if owners is None or not row["owner_id"]:
        return {}
    try:
        return owners.active_owners()
    except Deferred:
        raise
    except Exception as exc:
        log.debug("owners unreadable (%s); the message names the owner by id", exc)
        return {}


def message(row: OutboxRow, owners: Mapping[str, Mapping[str, Any]], deal_url: str | None) -> Message:
    """`deal_url`: the hubspot_deal_url template ({id}), or None."""
    link = deal_url.format(id=quote(row["deal_id"], safe="")) if deal_url and row["deal_id"] else None
    owner_id = row["owner_id"]
    return Message(row=row, card=card_of(row), owner=owner_label(owners.get(owner_id or ""), owner_id),
                   due=when(row["due_at"]) or row["due_at"], deal_url=link)
