"""render_digest(key, events, context, now) → one Notification listing a window's changes on one deal, in order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from poller.core.model import Event, Invitation, Notification, Snapshot
from poller.core.notes.fields import value_lines
from poller.core.notes.render import BODY_LIMIT, CAPS, _e, _link, _list, plain_subject
from poller.core.notes.wording import Wording, label_of, when, wording
from poller.core.preferences import RANK
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso

EMOJI = "🗂️"
KIND = "digest"  # the kind of a digest's own event and outbox row
STEPS_SHOWN = 8  # next steps of all the changes, the same step once, at most this many


def _item(event: Event, w: Wording, cap: int, *, full: bool) -> str:
    head = f"<strong>{_e(w.emoji)} {_e(w.headline)}</strong> ({_e(when(event.occurred_at) or event.occurred_at)})"
    tail = f"<br><small>Event {_e(event.key)}</small>"  # ties each item to its event (and `poller state`)
    if not full:
        return f"<li>{head}{tail}</li>"
    values = _list(value_lines(event, cap))
    return f"<li><p>{head}</p><p>{_e(w.context)}</p>{values}{tail}</li>"


def _bodies(key: str, events: Sequence[Event], words: Sequence[Wording], link: str, cap: int) -> tuple[str, str]:
    label = words[-1].label
    steps = list(dict.fromkeys(step for w in words for step in w.steps))[:STEPS_SHOWN]
    intro = f"<p>{len(events)} changes on {_e(label)}, oldest first:</p>"
    details = _list([f"{k}: {v}" for k, v in words[-1].details])
    ref = f"<p>Ref: {_e(key)}</p>"
    full = (f"<h3>{_e(EMOJI)} Digest: {_e(label)}</h3>{intro}{details}"
            "<ol>" + "".join(_item(e, w, cap, full=True) for e, w in zip(events, words, strict=True)) + "</ol>"
            "<p><strong>Next steps</strong></p>" + _list(steps) + link + ref)
    short = (intro + "<ol>" + "".join(_item(e, w, cap, full=False) for e, w in zip(events, words, strict=True))
             + "</ol>" + link + ref)
    return full, short


def render_digest(key: str, events: Sequence[Event], context: Snapshot | Invitation | None, now: dt.datetime, *,
                  rules: RuleConfig) -> Notification:
    """One task (and one note on the deal) for a window's events, each change listed with its own words."""
    _url, link = _link(events[-1], context, rules)
    for cap in CAPS:
        words = [wording(e, context, rules, cap) for e in events]
        full, short = _bodies(key, events, words, link, cap)
        if len(full) < BODY_LIMIT:
            break
    if len(full) >= BODY_LIMIT:  # hundreds of changes in one window: the oldest are kept, and the note says so
        full = full[: BODY_LIMIT - len(link) - 300].rsplit("<li>", 1)[0] + f"</ol><p>… (truncated)</p>{link}" \
            f"<p>Ref: {_e(key)}</p>"
        short = short if len(short) < BODY_LIMIT else full
    deal_id = events[-1].deal_id
    return Notification(
        event_key=key,
        kind=KIND,
        subject_id=events[-1].subject_id,
        deal_id=deal_id,
        priority=min((e.priority for e in events), key=lambda p: RANK.get(p, 1)),
        due_at=iso(now + dt.timedelta(hours=min(e.due_hours for e in events))),
        subject=plain_subject(f"{EMOJI} {len(events)} updates: {label_of(events[-1], context, CAPS[-1])}"),
        task_body=short if deal_id is not None else full,
        note_body=full if deal_id is not None else None,
    )
