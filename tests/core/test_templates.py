"""Custom templates through the core's render(): they change the words, Partner Central text stays escaped in bodies
and plain in subjects, the Ref line always ends a body, and a template that fails on a real event is never a failed
notification."""

from __future__ import annotations

import html
import logging

import pytest
from core_builders import LM2, NOW, RULES, invitation, person, snap, view

from poller.core.diff import diff
from poller.core.invitations import invitation_events
from poller.core.model import Change, Event, Invitation, Snapshot
from poller.core.notes.render import render
from poller.errors import ConfigError
from poller.templates import load_templates

HOSTILE = "<script>alert('x')</script> & \"co\"\u202e\u0007"


@pytest.fixture
def rules_with(write_templates):
    """The default rules with a template_dir holding these files."""
    return lambda files: RULES.with_overrides(templates=load_templates(str(write_templates(files)), RULES))


def hostile_cases() -> list[tuple[Event, Snapshot | Invitation]]:
    """A review event on an opportunity and an invitation, every Partner Central text in them hostile."""
    old = snap(title=HOSTILE, customer_name=HOSTILE, review_status="In review", aws=view(team=()))
    new = snap(title=HOSTILE, customer_name=HOSTILE, review_status="Action Required", review_comments=HOSTILE,
               review_status_reason=HOSTILE, last_modified=LM2, aws=view(team=(person("a@b.c", first=HOSTILE),)))
    inv = invitation(project_title=HOSTILE, customer_name=HOSTILE, business_problem=HOSTILE, sender_company=HOSTILE,
                     sender_contacts=(person("x@y.z", "PDM", HOSTILE, "M"),))
    events = [(e, new) for e in diff(old, new, NOW, rules=RULES)]
    return events + [(e, inv) for e in invitation_events(None, inv, NOW, rules=RULES, baseline=False)]


# Every way a template might print a value, including the ones that try to get around escaping.
EVERY_WAY = """{{ label }}|{{ context }}|{{ label|upper }}|{{ label ~ link }}|{{ link ~ label }}|{{ link + label }}
{{ label|replace("a", "b") }}|{{ "%s"|format(label) }}|{{ label|striptags }}|{{ facts }}|{{ details }}|{{ changes }}
{% for c in changes %}{{ c.old }}{{ c.new }}{% endfor %}{% for k, v in facts.items() %}{{ k }}{{ v }}{% endfor %}
{% for name, value in details %}{{ value }}{% endfor %}{% for s in steps %}{{ s }}{% endfor %}{{ values|join(",") }}
{% autoescape false %}{{ label }}{{ facts }}{{ label ~ link }}{% endautoescape %}{% set x %}{{ label }}{% endset %}{{ x }}
{% macro m(v) %}{{ v }}{% endmacro %}{{ m(label) }}{{ link.replace("Open", label) }}{{ link.format(label) }}"""


@pytest.mark.parametrize("part", ["task_body.html.j2", "note_body.html.j2"])
def test_partner_central_text_stays_escaped_in_custom_bodies_however_it_is_printed(rules_with, part):
    rules = rules_with({part: EVERY_WAY})
    for event, context in hostile_cases():
        n = render(event, context, NOW, rules=rules)
        body = n.note_body if part.startswith("note") and n.note_body is not None else n.task_body
        assert "<script>" not in body and "</script>" not in body and "\"co\"" not in body, event.kind
        assert html.escape(HOSTILE) in body
        assert body.endswith(f"<p>Ref: {event.key}</p>")  # the key an uncertain send is looked up by, always


def test_text_cannot_be_marked_safe(write_templates):
    with pytest.raises(ConfigError, match=r"task_body.html.j2, line 2: No filter named 'safe'"):
        load_templates(str(write_templates({"task_body.html.j2": "<p>\n{{ label|safe }}</p>"})), RULES)


def test_a_custom_subject_stays_plain_text_cleaned_and_clipped(rules_with):
    rules = rules_with({"task_subject.txt.j2": "{{ emoji }}  {{ label }}\n{{ facts.get('review_comments') }}"
                                                         " {{ context }}" + " pad" * 100})
    event, context = hostile_cases()[0]
    subject = render(event, context, NOW, rules=rules).subject
    # HubSpot shows a subject as typed: no entities, no markup of ours; control and bidi characters and line breaks go
    assert subject.startswith("⚠️ <script>alert('x')</script> & \"co\" (<script>") and "&lt;" not in subject
    assert "\u202e" not in subject and "\u0007" not in subject and "\n" not in subject
    assert len(subject) == 250 and subject.endswith("…")


def test_a_kind_folder_overrides_that_kind_only_and_the_rest_keep_the_defaults(rules_with):
    rules = rules_with({"review_approved/task_subject.txt.j2": "Approved: {{ label }} ({{ priority }})",
                                  "review_approved/note_body.html.j2": "<p>{{ headline }}</p>{{ link }}"})
    old, new = snap(review_status="In review"), snap(review_status="Approved", last_modified=LM2)
    [approved] = diff(old, new, NOW, rules=RULES)
    custom, default = render(approved, new, NOW, rules=rules), render(approved, new, NOW, rules=RULES)
    assert custom.subject == "Approved: Data lake migration (Acme Corp) (HIGH)"
    assert custom.note_body == ('<p>AWS approved co-sell</p><p><a href="https://partnercentral.awspartner.com/'
                                'partnercentral2/s/opportunity?id=O1234567">Open opportunity O1234567 in Partner '
                                f'Central</a></p><p>Ref: {approved.key}</p>')
    assert custom.task_body == default.task_body  # not overridden: the built-in template
    rejected = snap(review_status="Rejected", last_modified=LM2)
    [event] = diff(old, rejected, NOW, rules=RULES)
    assert render(event, rejected, NOW, rules=rules) == render(event, rejected, NOW, rules=RULES)


def test_a_kind_added_later_renders_with_the_generic_templates(rules_with):
    event = Event(kind="partner_of_the_month", subject_id="O1", key="evk_1", priority="LOW", due_hours=168,
                  occurred_at=LM2, changes=(Change(field="award", old=None, new=HOSTILE),), deal_id="9001")
    n = render(event, None, NOW, rules=RULES)
    assert n.subject == "🔔 partner of the month: O1" and "&lt;script&gt;" in (n.note_body or "")
    custom = render(event, None, NOW, rules=rules_with({"task_subject.txt.j2": "{{ kind }}!"}))
    assert custom.subject == "partner_of_the_month!"


def test_a_template_failing_on_a_real_event_sends_the_built_in_wording_and_says_so(rules_with, caplog):
    # Every sample renders (none is called "Crash…"), so start-up accepts it; this event takes the failing branch.
    rules = rules_with({"note_body.html.j2": "<p>{{ label }}</p>\n"
                                                       "{% if label.startswith('Crash') %}{{ 1 // 0 }}{% endif %}"})
    old, new = snap(title="Crash test", review_status="In review"), snap(title="Crash test", review_status="Approved",
                                                                           last_modified=LM2)
    [event] = diff(old, new, NOW, rules=RULES)
    with caplog.at_level(logging.WARNING):
        n = render(event, new, NOW, rules=rules)
    assert n == render(event, new, NOW, rules=RULES)
    [record] = [r for r in caplog.records if "template" in r.getMessage()]
    assert "note_body.html.j2, line 2 failed on review_approved event" in record.getMessage()
    assert event.key in record.getMessage() and "ZeroDivisionError" in record.getMessage()
