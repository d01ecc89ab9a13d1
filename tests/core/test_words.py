"""Plain-text subjects, invitation sender and due time, and score advice worded for each tier."""

from __future__ import annotations

import datetime as dt

import pytest
from core_builders import NOW, RULES, invitation, snap, view

from poller.core.diff import diff
from poller.core.invitations import invitation_events
from poller.core.notes.render import SUBJECT_CAP, plain_subject, render
from poller.core.timefmt import iso


@pytest.mark.parametrize(("raw", "shown"), [
    ("O'Neil & Sons (AT&T)", "O'Neil & Sons (AT&T)"),  # never &#x27; or &amp;: HubSpot shows subjects as typed
    ("Acme\u202eTCA\u202c Corp", "AcmeTCA Corp"),  # a bidi override would show the rest reversed
    ("\u2066isolated\u2069 \u200fmark", "isolated mark"),
    ("zero\u200bwidth\ufeff soft\u00adhyphen", "zerowidth softhyphen"),
    ("two\nlines\r\n\tand\u2028more   spaces", "two lines and more spaces"),
    ("bell\x07 and nul\x00", "bell and nul"),
    ("⚠️ emoji stay", "⚠️ emoji stay"),
])
def test_subjects_are_plain_text_without_invisible_characters(raw, shown):
    assert plain_subject(raw) == shown


def test_subjects_are_clipped_after_cleaning():
    assert plain_subject("\u200b" * 10_000 + "Short") == "Short"  # invisible characters do not eat the cap
    long = plain_subject("a\u200b" * 400)
    assert len(long) == SUBJECT_CAP and long == "a" * (SUBJECT_CAP - 1) + "…"


def _invitation_task(**kw):
    inv = invitation(**kw)
    [event] = invitation_events(None, inv, NOW, rules=RULES, baseline=False)
    return render(event, inv, NOW, rules=RULES)


def test_an_invitation_from_aws_is_a_referral_and_one_from_a_partner_names_it():
    aws = _invitation_task(sender_company="AWS")
    assert aws.subject.startswith("🆕 New AWS co-sell referral: ")
    partner = _invitation_task(sender_company="Globex Partners")
    assert partner.subject.startswith("🆕 Co-sell invitation from Globex Partners: ")
    assert "Globex Partners invited you to co-sell" in partner.task_body and "Sender contacts" in partner.task_body
    assert "AWS co-sell referral" not in partner.task_body


@pytest.mark.parametrize(("expires_in", "due_in"), [
    (dt.timedelta(days=14), dt.timedelta(hours=24)),  # plenty of time: the kind's own 24 h
    (dt.timedelta(hours=30), dt.timedelta(hours=18)),  # 12 hours before it expires
    (dt.timedelta(hours=5), dt.timedelta(0)),  # less than the margin left: due now, never in the past
])
def test_an_invitation_is_due_no_later_than_a_margin_before_it_expires(expires_in, due_in):
    task = _invitation_task(expiration_date=iso(NOW + expires_in))
    assert task.due_at == iso(NOW + due_in)
    assert f"expires on {(NOW + expires_in).strftime('%Y-%m-%d %H:%M UTC')}" in task.task_body


def test_an_invitation_past_its_expiration_is_not_announced():
    expired = invitation(expiration_date=iso(NOW - dt.timedelta(minutes=1)))
    assert invitation_events(None, expired, NOW, rules=RULES, baseline=False) == []
    margin = RULES.with_overrides(invitation_expiry_margin_hours=48)
    inv = invitation(expiration_date=iso(NOW + dt.timedelta(hours=60)))
    [event] = invitation_events(None, inv, NOW, rules=margin, baseline=False)
    assert render(event, inv, NOW, rules=margin).due_at == iso(NOW + dt.timedelta(hours=12))


# (old score, new score) → (subject start, words the steps must hold, words they must not)
SCORES = [
    (None, "High", "🎯 AWS rates the engagement High", "while engagement is high", "momentum"),
    (None, "Medium", "🎯 AWS rates the engagement Medium", "what would take the engagement to High", "momentum"),
    (None, "Low", "⚠️ AWS rates the engagement Low", "Engagement starts Low", "momentum"),
    ("Low", "Medium", "🎯 AWS engagement score rose to Medium", "build on the momentum", "Re-engage"),
    ("Medium", "High", "🎯 AWS engagement score rose to High", "while engagement is high", "momentum"),
    ("High", "Medium", "⚠️ AWS engagement score dropped to Medium", "Re-engage the customer this week", "momentum"),
    ("Medium", "Low", "⚠️ AWS engagement score dropped to Low", "whether the deal is still alive", "momentum"),
    ("High", "Stellar", "🎯 AWS engagement score changed to Stellar", "Check the score in Partner Central",
     "momentum"),
]


@pytest.mark.parametrize(("old", "new", "subject", "says", "never"), SCORES,
                         ids=[f"{o}->{n}" for o, n, *_ in SCORES])
def test_score_advice_is_worded_for_its_tier(old, new, subject, says, never):
    before, after = snap(aws=view(engagement_score=old)), snap(aws=view(engagement_score=new))
    [event] = diff(before, after, NOW, rules=RULES)
    n = render(event, after, NOW, rules=RULES)
    assert n.subject.startswith(subject)
    assert says in (n.note_body or "") and never not in (n.note_body or "")
