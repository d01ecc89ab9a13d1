"""Properties of plan() and render() over generated hostile Partner Central text (hypothesis).

Every Partner Central string is escaped in task and note bodies (only our own tags survive), bodies stay within
HubSpot's 65,536 characters, the planner keeps one notification per event with its key, priority and due time;
subjects are plain, clean text within 250 characters (no entity that escaping added, no control or bidi character).

HubSpot documents 65,536 characters for note bodies (reference §2) and no separate limit for `hs_task_subject`;
250 is poller's own cap for subjects (a task title longer than a line is unreadable anyway).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from html.parser import HTMLParser

import pytest
from core_builders import NOW, RULES, invitation, person, snap, view
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from poller.core.conflicts import ReconciledField, detect_conflicts
from poller.core.diff import diff
from poller.core.invitations import invitation_events
from poller.core.model import Deal, Event, Invitation, Notification, Snapshot
from poller.core.plan import plan
from poller.core.timefmt import parse_iso

PROPERTIES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BODY_LIMIT = 65_536
SUBJECT_LIMIT = 250  # poller's own cap (render.SUBJECT_CAP); HubSpot documents none for hs_task_subject
ENTITY = re.compile(r"&(?:#x?[0-9a-fA-F]+|[A-Za-z]+);")
OUR_TAGS = {"h3", "p", "ul", "li", "strong", "a"}

PIECES = st.sampled_from(["<script>alert(1)</script>", "O'Neil & Sons", '"quoted"', "AT&T", "<img src=x>", "&amp;",
                          "\x00\x07\x1b[31m", "\u202eevil\u202c", "\u2066iso\u2069", "line\nbreak", "tab\there",
                          "émoji 🎯", "plain", "a" * 40, "&#x27;", "</p><p>"])
HOSTILE = st.builds(lambda parts, n: "".join(parts) * n, st.lists(PIECES, min_size=1, max_size=4),
                    st.integers(1, 400))
SHORT_HOSTILE = st.builds("".join, st.lists(PIECES, min_size=1, max_size=3))


class Tags(HTMLParser):
    """Every start tag with its attributes; entities are resolved by the parser, so escaped text stays text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Event], dict[str, Snapshot | Invitation]]:
    """Events of every kind the core derives, from records whose free text is hostile."""
    text, short = draw(HOSTILE), draw(SHORT_HOSTILE)
    seller = person(f"{draw(SHORT_HOSTILE)}@amazon.com", "AWSSalesRep", draw(SHORT_HOSTILE), draw(SHORT_HOSTILE))
    which = draw(st.sampled_from(["review", "aws", "referral", "invitation", "conflict"]))
    if which == "invitation":
        inv = invitation(engagement_title=short, sender_company=draw(SHORT_HOSTILE), customer_name=text,
                         project_title=draw(HOSTILE), business_problem=text, invitation_message=draw(HOSTILE),
                         website=short, industry=short, sender_contacts=(seller,))
        return invitation_events(None, inv, NOW, rules=RULES, baseline=False), {inv.invitation_id: inv}
    old = snap(title=text, customer_name=short, review_status="In review",
               aws=view(engagement_score="Low", team=(), next_best_actions=None))
    if which == "review":
        status = draw(st.sampled_from(["Approved", "Action Required", "Rejected", "Submitted"]))
        new = snap(title=text, customer_name=short, review_status=status, last_modified="2025-03-01T11:00:00.000000Z",
                   review_comments=draw(HOSTILE), review_status_reason=short,
                   aws=view(engagement_score="Low", team=(seller,), involvement_type=short, next_best_actions=None))
        return diff(old, new, NOW, rules=RULES), {new.opportunity_id: new}
    if which == "referral":
        new = snap(title=text, customer_name=short, aws=view(origin="AWS Referral", team=(seller,)))
        return diff(None, new, NOW, rules=RULES, referral_notified=False), {new.opportunity_id: new}
    if which == "conflict":
        new = snap(title=text, customer_name=short)
        deal = Deal(deal_id="9001", dealname=draw(HOSTILE))
        result = detect_conflicts(new, deal, {"title": ReconciledField(pc_value="a", deal_value="b")}, NOW,
                                  rules=RULES, claimed_by=(short,))
        return list(result.events), {new.opportunity_id: new}
    new = snap(title=text, customer_name=short,
               aws=view(engagement_score=draw(st.sampled_from(["High", "Medium", None])), team=(seller,),
                        stage=short, next_steps=draw(HOSTILE), next_best_actions=draw(HOSTILE),
                        products=(short,), solutions=(draw(SHORT_HOSTILE),), program_categories=(short,),
                        contacts=(seller,)))
    return diff(old, new, NOW, rules=RULES, aws_revision=1), {new.opportunity_id: new}


def _notifications(case: tuple[list[Event], dict[str, Snapshot | Invitation]]) -> list[Notification]:
    events, contexts = case
    assert events, "the generator must produce at least one event"
    return plan(events, contexts, NOW, rules=RULES)


@PROPERTIES
@given(case=cases())
def test_bodies_escape_every_partner_central_string(case) -> None:  # noqa: ANN001
    for n in _notifications(case):
        for body in filter(None, (n.task_body, n.note_body)):
            parser = Tags()
            parser.feed(body)
            parser.close()
            for tag, attrs in parser.found:
                assert tag in OUR_TAGS, f"{tag!r} came from Partner Central text unescaped"
                assert all(name == "href" and tag == "a" for name, _value in attrs), attrs
            assert "<script" not in body and "<img" not in body


@PROPERTIES
@given(case=cases())
def test_bodies_fit_hubspots_limit(case) -> None:  # noqa: ANN001
    for n in _notifications(case):
        assert len(n.task_body) <= BODY_LIMIT
        assert n.note_body is None or len(n.note_body) <= BODY_LIMIT


@PROPERTIES
@given(case=cases())
def test_the_planner_keeps_one_notification_per_event(case) -> None:  # noqa: ANN001
    events, _contexts = case
    notifications = _notifications(case)
    assert [(n.event_key, n.kind, n.subject_id, n.priority, n.deal_id) for n in notifications] == \
        [(e.key, e.kind, e.subject_id, e.priority, e.deal_id) for e in events]
    for n, e in zip(notifications, events, strict=True):
        assert parse_iso(n.due_at) == NOW + dt.timedelta(hours=e.due_hours)
        assert n.subject.startswith(("🆕", "🔄", "🎯", "⚠️", "✅", "❌", "📤", "👤", "📚", "⚡"))
    assert plan(events, case[1], NOW, rules=RULES) == notifications  # deterministic


def _hostile_subject_example() -> tuple[list[Event], dict[str, Snapshot]]:
    new = snap(title="&" * 300, customer_name="O'Neil & Sons \u202e<x>", review_status="Approved",
               last_modified="2025-03-01T11:00:00.000000Z")
    return diff(snap(review_status="In review"), new, NOW, rules=RULES), {new.opportunity_id: new}


def _texts(contexts: dict[str, Snapshot | Invitation]) -> list[str]:
    """Every string Partner Central gave the records (at any depth)."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for context in contexts.values():
        walk(dataclasses.asdict(context))
    return found


def _no_entities(subject: str, sources: str) -> bool:
    # An entity in a subject must be Partner Central's own text (a company may really be called "R&amp;D"), never
    # one that escaping added: the subject is plain text.
    return all(entity in sources for entity in ENTITY.findall(subject))


def _no_control_or_bidi(subject: str, _sources: str) -> bool:
    return not [c for c in subject if unicodedata.category(c) in ("Cc", "Cf") and c != "\u200d"]


def _within_limit(subject: str, _sources: str) -> bool:
    return 0 < len(subject) <= SUBJECT_LIMIT


@pytest.mark.parametrize("clean", [_no_entities, _no_control_or_bidi, _within_limit], ids=lambda f: f.__name__[1:])
@PROPERTIES
@given(case=cases())
@example(case=_hostile_subject_example())
def test_subjects_are_plain_clean_text_within_the_limit(clean, case) -> None:  # noqa: ANN001
    sources = " ".join(_texts(case[1]))
    for n in _notifications(case):
        assert clean(n.subject, sources), n.subject
