"""Properties of diff() and the event keys, over generated snapshots (hypothesis).

Deterministic; identical snapshots → no event; the same transition → the same key however it is found, a
different transition → a different key; along any sequence no key is reused; a value that vanishes is never a
change, and its return is not news (issue 7). Snapshots are chained as a cycle stores them: each read is compared
with the previous one, and the AWS revision counts AWS view changes (as poller.ingest passes it).
"""

from __future__ import annotations

import dataclasses

from core_builders import NOW, RULES, snap
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from poller.core.carry import carry_forward
from poller.core.diff import diff
from poller.core.model import AwsView, Event, Person, Snapshot

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REVIEW = st.sampled_from(["Pending Submission", "Submitted", "In review", "In Review", "Approved", "approved",
                          "Action Required", "action_required", "Rejected", "Escalated"])
TIER = st.sampled_from(["Low", "Medium", "High"])
PEOPLE = [Person(email=f"{n.lower()}@amazon.com", first_name=n, last_name="Seller", title=t)
          for n, t in (("Jane", "AWSSalesRep"), ("Rick", "AWSAccountOwner"), ("Pat", "PDM"), ("Sue", "PSM"))]
WORDS = st.sampled_from(["Intro call", "Workshop booked", "POC running", "Pricing review"])


@st.composite
def aws_views(draw: st.DrawFn) -> AwsView:
    return AwsView(
        origin="Partner Referral", involvement_type=draw(st.sampled_from(["Co-Sell", "For Visibility Only"])),
        visibility=draw(st.sampled_from(["Full", "Limited"])), stage=draw(st.sampled_from(["Prospect", "Qualify"])),
        next_steps=draw(WORDS), engagement_score=draw(st.none() | TIER),
        team=tuple(draw(st.lists(st.sampled_from(PEOPLE), unique=True, max_size=3))),
        products=tuple(sorted(draw(st.sets(st.sampled_from(["AmazonS3", "AmazonEC2", "AWSLambda"]))))),
        solutions=tuple(sorted(draw(st.sets(st.sampled_from(["S-0000001", "S-0000002"]))))),
        program_categories=tuple(sorted(draw(st.sets(st.sampled_from(["MAP Eligible", "Generative AI"]))))),
        next_best_actions=draw(st.none() | WORDS))


@st.composite
def snapshots(draw: st.DrawFn, index: int = 0) -> Snapshot:
    return snap(last_modified=f"2025-03-01T10:{index:02d}:00.000000Z", review_status=draw(st.none() | REVIEW),
                aws=draw(st.none() | aws_views()))


def chain(reads: list[Snapshot]) -> list[list[Event]]:
    """diff() along a sequence of reads, the first one stored silently, as ingest does it: each read with the last
    known values carried forward (DESIGN §10 "unknown is not a change"), and the AWS revision counted on that."""
    found, stored, revision = [], reads[0], 0
    for read in reads[1:]:
        new = carry_forward(stored, read)
        revision += stored.aws_fingerprint != new.aws_fingerprint
        found.append(diff(stored, new, NOW, rules=RULES, aws_revision=revision))
        stored = new
    return found


def _with_time(snapshot: Snapshot, index: int) -> Snapshot:
    return dataclasses.replace(snapshot, last_modified=f"2025-03-01T11:{index:02d}:00.000000Z")


@PROPERTIES
@given(old=snapshots(0), new=snapshots(1))
def test_diff_is_deterministic(old: Snapshot, new: Snapshot) -> None:
    assert diff(old, new, NOW, rules=RULES, aws_revision=3) == diff(old, new, NOW, rules=RULES, aws_revision=3)


@PROPERTIES
@given(same=snapshots())
def test_identical_snapshots_yield_no_event(same: Snapshot) -> None:
    assert diff(same, same, NOW, rules=RULES) == []
    assert diff(same, dataclasses.replace(same), NOW, rules=RULES, aws_revision=1) == []


@PROPERTIES
@given(old=snapshots(0), new=snapshots(1))
def test_at_most_one_event_per_kind(old: Snapshot, new: Snapshot) -> None:
    kinds = [e.kind for e in diff(old, new, NOW, rules=RULES, aws_revision=1)]
    assert len(kinds) == len(set(kinds))


@PROPERTIES
@given(first=snapshots(0), second=snapshots(0), new=snapshots(1))
def test_the_same_review_transition_has_the_same_key_whatever_came_before(first: Snapshot, second: Snapshot,
                                                                          new: Snapshot) -> None:
    """A cycle, a rerun or a backfill may compare the same new read with different older ones: one key."""
    keys = [{e.kind: e.key for e in diff(old, new, NOW, rules=RULES) if e.kind.startswith(("review", "submission"))}
            for old in (first, second)]
    for kind in keys[0].keys() & keys[1].keys():
        assert keys[0][kind] == keys[1][kind]


@PROPERTIES
@given(old=snapshots(0), new=snapshots(1))
def test_a_different_transition_has_a_different_key(old: Snapshot, new: Snapshot) -> None:
    """The same change seen at another LastModifiedDate (a genuine repeat) or AWS revision is a new key."""
    base = {e.kind: e.key for e in diff(old, new, NOW, rules=RULES, aws_revision=1)}
    later = {e.kind: e.key for e in diff(old, _with_time(new, 5), NOW, rules=RULES, aws_revision=2)}
    assert base.keys() == later.keys()
    assert not set(base.values()) & set(later.values())


@PROPERTIES
@given(reads=st.lists(snapshots(), min_size=2, max_size=7))
def test_no_key_is_reused_along_a_sequence(reads: list[Snapshot]) -> None:
    """A→B→A…: every event along the way has a key of its own (a genuine repeat is never swallowed)."""
    reads = [_with_time(r, i) for i, r in enumerate(reads)]
    keys = [e.key for events in chain(reads) for e in events]
    assert len(keys) == len(set(keys))


@PROPERTIES
@given(read=snapshots(0), field=st.sampled_from(["engagement_score", "next_best_actions", "program_categories",
                                                 "review_status"]))
def test_a_vanished_value_is_never_a_change(read: Snapshot, field: str) -> None:
    gone = _vanish(read, field)
    assert diff(read, gone, NOW, rules=RULES, aws_revision=1) == []


def _vanish(read: Snapshot, field: str) -> Snapshot:
    """The same read with one value missing (None, or an empty list), and a later LastModifiedDate."""
    if field == "review_status":
        return dataclasses.replace(_with_time(read, 1), review_status=None)
    if read.aws is None:
        return _with_time(read, 1)
    empty = () if field == "program_categories" else None
    return dataclasses.replace(_with_time(read, 1), aws=dataclasses.replace(read.aws, **{field: empty}))


@PROPERTIES
@given(read=snapshots(0), field=st.sampled_from(["engagement_score", "next_best_actions", "program_categories",
                                                 "review_status"]))
@example(read=snap(review_status="Approved", aws=None), field="review_status")
@example(read=snap(aws={"engagement_score": "High"}), field="engagement_score")
@example(read=snap(aws={"program_categories": ("MAP Eligible",)}), field="program_categories")
def test_a_value_that_vanishes_and_returns_is_not_news(read: Snapshot, field: str) -> None:
    back = _with_time(read, 2)
    events = chain([read, _vanish(read, field), back])
    assert events == [[], []]
