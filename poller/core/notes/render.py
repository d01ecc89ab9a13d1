"""render(event, context, now) → Notification: a plain-text task subject; task and note bodies as escaped HTML."""

from __future__ import annotations

import html
import unicodedata
from datetime import datetime, timedelta
from urllib.parse import quote

from poller.core.model import Event, Invitation, Notification, Snapshot
from poller.core.notes.wording import LABELS, Wording, clip, wording
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso

BODY_LIMIT = 65_536  # HubSpot's limit for hs_note_body / hs_task_body
CAPS = (1000, 100)  # free-text cap per value; the second is used when a body would still pass the limit
# hs_task_subject is a single-line text property (65,536 characters at most, like any); a bell and a task list
# show the first line or so, so subjects are clipped here, after cleaning.
SUBJECT_CAP = 250
# Removed from subjects: control (Cc), format (Cf: bidi overrides and isolates, zero-width, BOM, soft hyphen, tags)
# and surrogate (Cs) characters. A subject is plain text shown as typed; a bidi override would reorder it on screen.
INVISIBLE = frozenset({"Cc", "Cf", "Cs"})
ADDITIONS = ("aws_seller_assigned", "resources_available", "recommendation_added")  # kinds whose changes are new items, not old → new


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def plain_subject(text: str, cap: int = SUBJECT_CAP) -> str:
    """A task subject as HubSpot shows it: plain text (never entity-escaped), one line, nothing invisible, clipped.

    Line breaks and other whitespace become one space; invisible characters go; the cap applies to what is left.
    """
    kept = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace()
                   or unicodedata.category(ch) not in INVISIBLE)
    return clip(" ".join(kept.split()), cap)


def due_at(event: Event, context: Snapshot | Invitation | None, now: datetime, rules: RuleConfig) -> datetime:
    """When the task is due: `due_hours` from now; an invitation's no later than a margin before it expires.

    One that expires within the margin is due at once (never in the past): the seller must act now or lose it.
    """
    due = now + timedelta(hours=event.due_hours)
    if isinstance(context, Invitation) and context.expiration_date:
        try:
            latest = parse_iso(context.expiration_date) - timedelta(hours=rules.invitation_expiry_margin_hours)
        except ValueError:
            return due
        due = max(now, min(due, latest))
    return due


def _list(lines: list[str] | tuple[str, ...]) -> str:
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>" if lines else ""


def _value_lines(event: Event, cap: int) -> list[str]:
    lines = []
    for change in event.changes:
        label = LABELS.get(change.field, change.field)
        old, new = clip(str(change.old or "(none)"), cap), clip(str(change.new or "(none)"), cap)
        if event.kind == "conflict_detected":
            lines.append(f"{label}: {new}" if change.field == "_link" else
                         f"{label}: Partner Central {old} ≠ HubSpot {new}")
        elif event.kind in ADDITIONS and change.old in (None, ""):
            lines.append(f"{label}: {new}")
        else:
            lines.append(f"{label}: {old} → {new}")
    return lines


def _link(event: Event, context: Snapshot | Invitation | None, rules: RuleConfig) -> str:
    if isinstance(context, Invitation) or (event.deal_id is None and event.subject_id.startswith("engi-")):
        # An invitation has no opportunity page until it is accepted.
        return (f'<p><a href="{_e(rules.partner_central_home)}">Open Partner Central</a> and find invitation '
                f"{_e(event.subject_id)} under Opportunities → Invitations.</p>")
    url = rules.opportunity_url(quote(event.subject_id, safe=""))
    return f'<p><a href="{_e(url)}">Open opportunity {_e(event.subject_id)} in Partner Central</a></p>'


def _bodies(event: Event, w: Wording, link: str, cap: int) -> tuple[str, str]:
    """(full note-style body, short task body) for one cap."""
    ref = f"<p>Ref: {_e(event.key)}</p>"
    steps = "<p><strong>Next steps</strong></p>" + _list(w.steps)
    details = _list([f"{k}: {v}" for k, v in w.details])
    values = _value_lines(event, cap)
    full = (f"<h3>{_e(w.emoji)} {_e(w.headline)}: {_e(w.label)}</h3><p>{_e(w.context)}</p>{details}{steps}"
            + ("<p><strong>Values</strong></p>" + _list(values) if values else "") + link + ref)
    short = f"<p>{_e(w.context)}</p>{steps}{link}{ref}"
    return full, short


def render(event: Event, context: Snapshot | Invitation | None, now: datetime, *, rules: RuleConfig) -> Notification:
    """One notification: a task for the owner and, when the event has a deal, a timeline note."""
    link = _link(event, context, rules)
    for cap in CAPS:
        w = wording(event, context, rules, cap)
        full, short = _bodies(event, w, link, cap)
        if len(full) < BODY_LIMIT:
            break
    if len(full) >= BODY_LIMIT:  # only an event with hundreds of changes gets here: cut and say so
        cut = full[: BODY_LIMIT - len(link) - 300].rsplit("<li>", 1)[0]
        full = f"{cut}</ul><p>… (truncated)</p>{link}<p>Ref: {_e(event.key)}</p>"
    has_deal = event.deal_id is not None
    return Notification(
        event_key=event.key,
        kind=event.kind,
        subject_id=event.subject_id,
        deal_id=event.deal_id,
        priority=event.priority,
        due_at=iso(due_at(event, context, now, rules)),
        subject=plain_subject(f"{w.emoji} {w.headline}: {w.label}"),
        # Invitations have no deal, so no note: the task carries the whole story (DESIGN §10).
        task_body=short if has_deal else full,
        note_body=full if has_deal else None,
    )
