"""A row as an SNS PublishBatch entry: the event as JSON, a readable ASCII subject, attributes to filter on.

Subscribers filter on the message attributes `kind`, `priority` and `owner_id` (a subscription filter policy) and
deduplicate on `event_key`; on a FIFO topic the event key is also the MessageDeduplicationId and the opportunity
(or invitation) id the MessageGroupId, so one opportunity's messages arrive in order.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from poller.core.notes.render import plain_subject
from poller.delivery.cards import Message

SUBJECT_MAX = 99  # SNS: "less than 100 characters"
MESSAGE_MAX = 25_000  # bytes each, so that ten entries stay under PublishBatch's 262,144 bytes in all
VERSION = 1  # of the message's JSON layout; a subscriber can tell a newer one


def subject(message: Message) -> str:
    """One plain ASCII line under 100 characters (email subscribers see it): no emoji, accents folded, nothing
    invisible. SNS documents UTF-8 subjects; some of its email paths have refused non-ASCII, so fold to be safe."""
    card = message.card
    text = f"{card.headline}: {card.label}" if card.label else card.headline or message.row["subject"]
    folded = unicodedata.normalize("NFKD", plain_subject(text, 10_000)).encode("ascii", "ignore").decode()
    return plain_subject(folded, SUBJECT_MAX) or message.row["kind"]


def body(message: Message) -> dict[str, Any]:
    """The event as subscribers read it: every fact of the row and its card, plain text (JSON escapes it)."""
    row, card = message.row, message.card
    return {
        "version": VERSION, "source": "poller", "event_key": row["event_key"], "kind": row["kind"],
        "priority": row["priority"], "opportunity_id": row["subject_id"], "deal_id": row["deal_id"],
        "owner_id": row["owner_id"], "owner": message.owner, "due_at": row["due_at"], "subject": row["subject"],
        "headline": card.headline, "label": card.label, "context": card.context, "next_steps": list(card.steps),
        "details": dict(card.details), "changes": list(card.values),
        "links": {"partner_central": card.link or None, "hubspot_deal": message.deal_url},
    }


def encoded(message: Message) -> str:
    """The JSON body within MESSAGE_MAX bytes: the longest lists of changes are cut first, and say so."""
    data = body(message)
    text = json.dumps(data, ensure_ascii=False)
    while len(text.encode()) > MESSAGE_MAX and data["changes"]:
        data["changes"] = data["changes"][: len(data["changes"]) // 2]
        data["changes_truncated"] = True
        text = json.dumps(data, ensure_ascii=False)
    if len(text.encode()) > MESSAGE_MAX:  # only absurd details get here: keep the facts, drop the prose
        data.update(details={}, context=data["context"][:2000], details_truncated=True)
        text = json.dumps(data, ensure_ascii=False)
    return text


def entry(message: Message, *, fifo: bool) -> dict[str, Any]:
    """One PublishBatchRequestEntry; its Id is the event key (evk_ + hex: letters, digits and _ only)."""
    row = message.row
    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in (
        ("kind", row["kind"]), ("priority", row["priority"]), ("event_key", row["event_key"]),
        ("opportunity_id", row["subject_id"]), ("owner_id", row["owner_id"]), ("deal_id", row["deal_id"])) if value}
    item: dict[str, Any] = {"Id": row["event_key"], "Message": encoded(message), "Subject": subject(message),
                            "MessageAttributes": attributes}
    if fifo:
        item.update(MessageGroupId=row["subject_id"], MessageDeduplicationId=row["event_key"])
    return item
