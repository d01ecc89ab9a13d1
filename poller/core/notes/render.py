"""render(event, context, now) → Notification: the event's fields through the templates; a plain subject, HTML bodies."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from poller.core.card import Card
from poller.core.model import Event, Invitation, Notification, Snapshot
from poller.core.notes.fields import note_fields, value_lines
from poller.core.notes.parts import Html
from poller.core.notes.wording import Wording, clip, wording
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


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _list(lines: Sequence[str]) -> str:
    """Plain texts as an HTML list, each escaped (digests and roll-ups build their bodies with it)."""
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>" if lines else ""


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


def _is_invitation(event: Event, context: Snapshot | Invitation | None) -> bool:
    """An invitation has no opportunity page (nor deal) until it is accepted."""
    return isinstance(context, Invitation) or (event.deal_id is None and event.subject_id.startswith("engi-"))


def _link(event: Event, context: Snapshot | Invitation | None, rules: RuleConfig) -> tuple[str, Html]:
    """(the URL, our paragraph linking to it)."""
    if _is_invitation(event, context):
        home = rules.partner_central_home
        return home, Html(f'<p><a href="{_e(home)}">Open Partner Central</a> and find invitation '
                          f"{_e(event.subject_id)} under Opportunities → Invitations.</p>")
    url = rules.opportunity_url(quote(event.subject_id, safe=""))
    return url, Html(f'<p><a href="{_e(url)}">Open opportunity {_e(event.subject_id)} in Partner Central</a></p>')


def _card(event: Event, context: Snapshot | Invitation | None, w: Wording, link_url: str, cap: int) -> Card:
    """The same words as plain text in parts, for sinks that lay out their own message (Slack, SNS)."""
    text = (f"Open Partner Central (invitation {event.subject_id})" if _is_invitation(event, context)
            else f"Open opportunity {event.subject_id} in Partner Central")
    return Card(emoji=w.emoji, headline=w.headline, label=w.label, context=w.context, steps=w.steps,
                details=w.details, values=value_lines(event, cap), link=link_url, link_text=text)


def _fit(body: str, link: str, ref: str) -> str:
    """A body within HubSpot's limit: only an event with hundreds of changes needs cutting, and it says so."""
    if len(body) < BODY_LIMIT:
        return body
    cut = body[: BODY_LIMIT - len(link) - 300].rsplit("<li>", 1)[0]
    return f"{cut}</ul><p>… (truncated)</p>{link}{ref}"


def render(event: Event, context: Snapshot | Invitation | None, now: datetime, *, rules: RuleConfig) -> Notification:
    """One notification: a task for the owner and, when the event has a deal, a timeline note.

    The words come from wording(), the arrangement from `rules.templates`; the `Ref:` line with the event key ends
    every body whatever the template says, because an uncertain send is looked up by it.
    """
    templates = rules.templates
    if templates is None:
        raise ValueError("rules.templates: not set; the edge loads them (poller.templates.load_templates)")
    link_url, link = _link(event, context, rules)
    due = iso(due_at(event, context, now, rules))
    ref = f"<p>Ref: {_e(event.key)}</p>"
    has_deal = event.deal_id is not None
    for cap in CAPS:
        w = wording(event, context, rules, cap)
        fields = note_fields(event, w, link=link, link_url=link_url, due_at=due, cap=cap)
        full = templates.render(event.kind, "note_body", fields) + ref
        # Invitations have no deal, so no note: the task carries the whole story (DESIGN §10).
        short = templates.render(event.kind, "task_body", fields) + ref if has_deal else full
        if len(full) < BODY_LIMIT and len(short) < BODY_LIMIT:
            break
    return Notification(
        event_key=event.key,
        kind=event.kind,
        subject_id=event.subject_id,
        deal_id=event.deal_id,
        priority=event.priority,
        due_at=due,
        subject=plain_subject(templates.render(event.kind, "task_subject", fields)),
        task_body=_fit(short, link, ref),
        note_body=_fit(full, link, ref) if has_deal else None,
        card=_card(event, context, w, link_url, cap),
    )
