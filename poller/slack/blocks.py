"""A row as a Slack Block Kit message: header, context, fields, next steps, changes, and buttons to act on it.

Text from Partner Central (and HubSpot owner names) goes into mrkdwn escaped: Slack reads `&`, `<` and `>` as
control characters (links, @channel, user mentions), so each becomes its HTML entity and nothing else is encoded.
Every piece is cut to Slack's documented limits after escaping, never inside an entity.
"""

from __future__ import annotations

from typing import Any

from poller.core.notes.render import plain_subject
from poller.core.timefmt import parse_iso
from poller.delivery.cards import Message

ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
HEADER_MAX = 150  # header block: plain_text
SECTION_MAX = 3000  # section text
FIELD_MAX = 2000  # each of a section's fields
FIELDS_MAX = 10  # fields per section
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
FALLBACK_MAX = 3000  # the top-level `text`: what notifications and screen readers show


def escape(text: str) -> str:
    """Text for mrkdwn: `&`, `<` and `>` as entities (Slack's rule), nothing else touched."""
    return "".join(ENTITIES.get(ch, ch) for ch in text)


def mrkdwn(text: str, limit: int) -> str:
    """Escaped and cut to `limit` characters of wire text, never inside an entity; a cut ends with an ellipsis."""
    out: list[str] = []
    size = 0
    for ch in text:
        piece = ENTITIES.get(ch, ch)
        if size + len(piece) > limit - 1:
            return "".join(out) + "…"
        out.append(piece)
        size += len(piece)
    return "".join(out)


def _text(kind: str, text: str) -> dict[str, Any]:
    return {"type": kind, "text": text}


def _due(message: Message) -> str:
    """Slack's date token: each reader sees the due time in their own time zone; the fallback is UTC."""
    try:
        stamp = int(parse_iso(message.row["due_at"]).timestamp())
    except ValueError:
        return mrkdwn(message.due, FIELD_MAX)
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{mrkdwn(message.due, 200)}>"


def _bullets(title: str, lines: tuple[str, ...]) -> dict[str, Any]:
    text = f"*{title}*\n" + "\n".join(f"• {line}" for line in lines)
    return {"type": "section", "text": _text("mrkdwn", mrkdwn(text, SECTION_MAX))}


def payload(message: Message) -> dict[str, Any]:
    """The webhook's JSON body. Our own markup (bold titles, bullets) is added around already-escaped values."""
    card, row = message.card, message.row
    title = " ".join(p for p in (card.emoji, card.headline) if p)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {**_text("plain_text", plain_subject(title, HEADER_MAX)),
                                                                "emoji": True}}]
    lead = "\n".join(f"*{escape(p)}*" if i == 0 else escape(p) for i, p in enumerate(
        part for part in (card.label, card.context) if part))
    if lead:
        blocks.append({"type": "section", "text": _text("mrkdwn", _cut(lead))})
    facts = [("Priority", escape(row["priority"])), ("Due", _due(message)), ("Owner", escape(message.owner))]
    facts += [(escape(name), escape(value)) for name, value in card.details]
    shown, rest = facts[:FIELDS_MAX], facts[FIELDS_MAX:]
    blocks.append({"type": "section", "fields": [_text("mrkdwn", _cut(f"*{name}*\n{value}", FIELD_MAX))
                                                 for name, value in shown]})
    if rest:  # an invitation has more facts than a section has fields
        blocks.append({"type": "section", "text": _text("mrkdwn", _cut("\n".join(f"*{n}*: {v}" for n, v in rest)))})
    if card.steps:
        blocks.append(_bullets("Next steps", card.steps))
    if card.values:
        blocks.append(_bullets("Changes", card.values))
    buttons = [_button(text, url, action) for text, url, action in (
        ("Open the deal in HubSpot", message.deal_url, "hubspot_deal"),
        ("Open in Partner Central", card.link, "partner_central")) if url and len(url) <= URL_MAX]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    blocks.append({"type": "context", "elements": [_text("mrkdwn", mrkdwn(
        f"{row['kind']} · {row['subject_id']} · Ref: {row['event_key']}", SECTION_MAX))]})
    fallback = " ".join(p for p in (title + (":" if card.label else ""), card.label) if p)
    return {"text": mrkdwn(fallback, FALLBACK_MAX), "blocks": blocks}


def _cut(text: str, limit: int = SECTION_MAX) -> str:
    """Already-escaped text cut to `limit`, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _button(text: str, url: str, action: str) -> dict[str, Any]:
    return {"type": "button", "text": _text("plain_text", plain_subject(text, BUTTON_TEXT_MAX)),
            "url": url, "action_id": action}
