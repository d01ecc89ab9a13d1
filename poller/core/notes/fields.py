"""What a notification template is given: the event's words and values as plain text, our own markup as Html."""

from __future__ import annotations

from poller.core.model import Event
from poller.core.notes.parts import Html
from poller.core.notes.wording import LABELS, Wording, clip

ADDITIONS = ("aws_seller_assigned", "resources_available", "recommendation_added")  # kinds whose changes are new items, not old → new
# Every variable a template may use (the README's "Templates" section lists them with their meaning).
FIELDS = ("kind", "event_key", "subject_id", "deal_id", "priority", "due_hours", "due_at", "occurred_at", "emoji",
          "headline", "label", "context", "steps", "details", "values", "changes", "facts", "link", "link_url")


def value_lines(event: Event, cap: int) -> tuple[str, ...]:
    """`label: old → new` per change (`label: new` for additions; both sides for a conflict), as plain text."""
    lines = []
    for change in event.changes:
        label = LABELS.get(change.field, change.field)
        old, new = clip(str(change.old or "(none)"), cap), clip(str(change.new or "(none)"), cap)
        if change.old in (None, "") and change.new in (None, ""):
            lines.append(clip(label, cap))  # a change named but not valued (a conflict a library call reported)
        elif event.kind == "conflict_detected":
            lines.append(f"{label}: {new}" if change.field == "_link" else
                         f"{label}: Partner Central {old} ≠ HubSpot {new}")
        elif event.kind in ADDITIONS and change.old in (None, ""):
            lines.append(f"{label}: {new}")
        else:
            lines.append(f"{label}: {old} → {new}")
    return tuple(lines)


def _text(value: object, cap: int) -> str | None:
    return None if value in (None, "") else clip(str(value), cap)


def note_fields(event: Event, w: Wording, *, link: Html, link_url: str, due_at: str, cap: int) -> dict[str, object]:
    """The template variables for one event: every text clipped to `cap`, none escaped (the body templates escape
    them); `link` is the only markup, and it is ours."""
    return {
        "kind": event.kind, "event_key": event.key, "subject_id": event.subject_id, "deal_id": event.deal_id,
        "priority": event.priority, "due_hours": event.due_hours, "due_at": due_at, "occurred_at": event.occurred_at,
        "emoji": w.emoji, "headline": w.headline, "label": w.label, "context": w.context, "steps": w.steps,
        "details": w.details, "values": value_lines(event, cap),
        "changes": tuple({"field": c.field, "label": LABELS.get(c.field, c.field), "old": _text(c.old, cap),
                          "new": _text(c.new, cap)} for c in event.changes),
        "facts": {name: clip(text, cap) for name, text in event.facts},
        "link": link, "link_url": link_url,
    }
