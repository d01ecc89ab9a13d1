"""A notification's card: its words as plain text in parts, for sinks that lay out their own message (Slack, SNS)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """What the HubSpot note says, unescaped and unformatted: each sink escapes it for its own wire (Slack mrkdwn,
    JSON) when it builds the message. Every value from Partner Central is already clipped (render's cap)."""

    emoji: str
    headline: str
    label: str  # which deal: "Title (Customer)"
    context: str
    steps: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()  # (name, value): "Opportunity", "HubSpot deal", an invitation's facts
    values: tuple[str, ...] = ()  # "field: old → new" lines
    link: str  # Partner Central: the opportunity's page, or its home for an invitation (no page until accepted)
    link_text: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Card:
        data: dict[str, Any] = json.loads(text)
        return cls(**{**data, "steps": tuple(data.get("steps") or ()), "values": tuple(data.get("values") or ()),
                      "details": tuple((str(k), str(v)) for k, v in data.get("details") or ())})
