"""What HubSpot holds against what the truth expected: missed, duplicated, wrong, spurious, and latency.

A task is tied to (kind, subject) through its event key (the `poller_event_key` property or the body's Ref token)
and the events table of the state database: labels only, never expectations. Everything checked (owner, priority,
due date, deal, note) is read from HubSpot's objects.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import sqlite3
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from soak.truth import Expected
from soak.world import World

REF = re.compile(r"Ref: (evk_[0-9a-f]+)")
ITEM = re.compile(r"Event (evk_[0-9a-f]+)")  # each change a digest lists names its event
RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
# A digest may drop transitions that reverted inside its window (A→B→A); such a pair is excused, not missed, when
# the truth shows it reverted within the window's length plus the time the poller may take to see each step.
REVERT_SLACK = dt.timedelta(hours=2)
DUE_SLACK = dt.timedelta(minutes=1)
SUBJECT_LIMIT = 250  # poller's stated cap; HubSpot documents 65,536 for any text property
# A task answers a transition only if it arrived within this long: the world keeps every state for hours and its
# outages last less than two, so anything later is a different notification (and the transition went unannounced).
ANSWER_WITHIN = dt.timedelta(hours=24)


@dataclass(slots=True, kw_only=True)
class Sent:
    """One task in HubSpot (with its notes), as a seller would find it."""

    key: str
    kind: str
    subject: str
    task_id: str
    owner: str | None
    priority: str | None
    due: dt.datetime | None
    created: dt.datetime
    deal: str | None
    title: str
    body: str
    notes: list[tuple[str | None, str | None]] = field(default_factory=list)  # (deal, owner) per note
    digest: str | None = None  # the digest's key when this event reached its owner inside a digest


@dataclass(slots=True)
class Outcome:
    matched: list[tuple[Expected, Sent]] = field(default_factory=list)
    missed: list[Expected] = field(default_factory=list)
    duplicated: list[Sent] = field(default_factory=list)
    spurious: list[Sent] = field(default_factory=list)
    reverted: list[Expected] = field(default_factory=list)  # dropped by a digest because they reverted in its window
    wrong: Counter[str] = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    same_key_duplicates: int = 0
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def latencies(self) -> list[float]:
        return sorted((sent.created - exp.at).total_seconds() / 60 for exp, sent in self.matched)


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _key(props: dict[str, Any], body_name: str) -> str | None:
    if props.get("poller_event_key"):
        return props["poller_event_key"]
    found = REF.search(props.get(body_name) or "")
    return found.group(1) if found else None


def event_labels(db: Path) -> dict[str, tuple[str, str]]:
    """event key → (kind, subject): labels only, never expectations."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {key: (kind, subject) for key, kind, subject in conn.execute("SELECT key, kind, subject_id FROM events")}


def sent_notifications(hub: Any, db: Path) -> list[Sent]:
    labels = event_labels(db)
    notes: dict[str, list[tuple[str | None, str | None]]] = defaultdict(list)
    for note in hub.notes():
        props = note["properties"]
        deals = note["associations"].get("deals") or []
        notes[_key(props, "hs_note_body") or f"?{note['id']}"].append((deals[0] if deals else None,
                                                                       props.get("hubspot_owner_id")))
    sent = []
    for task in hub.tasks():
        props = task["properties"]
        key = _key(props, "hs_task_body") or f"?{task['id']}"
        kind, subject = labels.get(key, ("(unknown)", "(unknown)"))
        deals = task["associations"].get("deals") or []
        one = Sent(key=key, kind=kind, subject=subject, task_id=task["id"], owner=props.get("hubspot_owner_id"),
                   priority=props.get("hs_task_priority"), due=_time(props.get("hs_timestamp")),
                   created=_time(props.get("hs_createdate")) or dt.datetime.min.replace(tzinfo=dt.UTC),
                   deal=deals[0] if deals else None, title=props.get("hs_task_subject") or "",
                   body=props.get("hs_task_body") or "", notes=notes.get(key, []))
        if kind != "digest":
            sent.append(one)
            continue
        # A digest reaches its owner with every change it lists: each counts as that event's task, read from what
        # HubSpot holds (the items of the task's body), labelled by the events table like any other.
        for member in dict.fromkeys(ITEM.findall(one.body)):
            member_kind, member_subject = labels.get(member, ("(unknown)", "(unknown)"))
            sent.append(replace(one, key=member, kind=member_kind, subject=member_subject, digest=key))
    return sent


def clean_subject(text: str) -> bool:
    """Plain text as HubSpot shows it: no HTML entities, no control or bidi characters, within the cap."""
    bad = any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\u200d\ufe0f" for c in text)
    return html.unescape(text) == text and not bad and 0 < len(text) <= SUBJECT_LIMIT


def compare(expected: list[Expected], sent: list[Sent], world: World, *, check: bool = True,
            digest_window: dt.timedelta | None = None) -> Outcome:
    """Each transition matched to the message that announced it; `check`: also check each task's fields."""
    # A digest holds a change until its window closes: the answer may come that much later.
    out = _compare(expected, sent, world, ANSWER_WITHIN + (digest_window or dt.timedelta(0)), check=check)
    if digest_window is not None:
        excused = reverted(expected, out.missed, digest_window + REVERT_SLACK)
        out.reverted = [e for e in out.missed if id(e) in excused]
        out.missed = [e for e in out.missed if id(e) not in excused]
        for exp in out.reverted:
            out.by_kind[exp.kind]["missed"] -= 1
            out.by_kind[exp.kind]["reverted"] += 1
    return out


def reverted(expected: list[Expected], missed: list[Expected], span: dt.timedelta) -> set[int]:
    """The missed transitions a digest rightly dropped: for each field they moved, a run of consecutive transitions
    of that field, all missed, within `span`, that ends where it started (A→B→A). Ids of the Expected values."""
    unsent = {id(e) for e in missed}
    excused_fields: dict[int, set[str]] = defaultdict(set)
    chains: dict[tuple[str, str], list[tuple[Expected, str | None, str | None]]] = defaultdict(list)
    for exp in sorted(expected, key=lambda e: e.at):
        for name, old, new in exp.values:
            chains[(exp.subject, name)].append((exp, old, new))
    for (_subject, name), chain in chains.items():
        for i, (first, old, _new) in enumerate(chain):
            for j in range(i + 1, len(chain)):
                last = chain[j][0]
                if id(chain[j - 1][0]) not in unsent or id(last) not in unsent or last.at - first.at > span:
                    break
                if (chain[j][2] or "").casefold() == (old or "").casefold():
                    for exp, _o, _n in chain[i:j + 1]:
                        excused_fields[id(exp)].add(name)
    return {id(e) for e in missed if e.values and {n for n, _o, _n in e.values} <= excused_fields[id(e)]}


def _compare(expected: list[Expected], sent: list[Sent], world: World, answer_within: dt.timedelta, *,
             check: bool) -> Outcome:
    out = Outcome()
    out.same_key_duplicates = sum(n - 1 for n in Counter(s.key for s in sent).values() if n > 1)
    wanted: dict[tuple[str, str], list[Expected]] = defaultdict(list)
    for exp in expected:
        wanted[(exp.kind, exp.subject)].append(exp)
    got: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for s in sent:
        got[(s.kind, s.subject)].append(s)
    for pair in set(wanted) | set(got):
        transitions = sorted(wanted.get(pair, []), key=lambda e: e.at)
        tasks = sorted(got.get(pair, []), key=lambda s: s.created)
        taken: set[int] = set()
        # Latest transition first, each takes the earliest task created at or after it: a task is credited to the
        # newest transition it can answer, so a miss is blamed on the transition that really went unannounced.
        # What is left over repeats one of them (duplicated) or announces something that never happened (spurious).
        for exp in reversed(transitions):
            index = next((i for i, s in enumerate(tasks)
                          if i not in taken and exp.at <= s.created <= exp.at + answer_within), None)
            if index is None:
                out.missed.append(exp)
                out.by_kind[exp.kind]["missed"] += 1
                continue
            taken.add(index)
            out.matched.append((exp, tasks[index]))
            out.by_kind[exp.kind]["ok"] += 1
            if check:
                _check(exp, tasks[index], world, out)
        announced = [tasks[i].created for i in taken]
        for i, s in enumerate(tasks):
            if i in taken:
                continue
            # A repeat of something already announced is a duplicate; news about nothing is spurious.
            repeat = any(created <= s.created for created in announced)
            (out.duplicated if repeat else out.spurious).append(s)
            out.by_kind[s.kind]["duplicated" if repeat else "spurious"] += 1
    return out


def _check(exp: Expected, sent: Sent, world: World, out: Outcome) -> None:
    problems = []
    owners = world.owner_changes(exp.deal_id, exp.at, sent.created)
    if sent.owner not in owners:
        problems.append(f"owner {sent.owner} not in {sorted(owners)}")
    if sent.digest is None and sent.priority != exp.priority:
        problems.append(f"priority {sent.priority} ≠ {exp.priority}")
    elif sent.digest is not None and RANK.get(sent.priority or "", 3) > RANK[exp.priority]:
        problems.append(f"priority {sent.priority} of its digest is below {exp.priority}")
    problems.extend(_due_problems(exp, sent))
    if sent.deal != exp.deal_id:
        problems.append(f"deal {sent.deal} ≠ {exp.deal_id}")
    if exp.deal_id is not None and [d for d, _o in sent.notes] != [exp.deal_id]:
        problems.append(f"notes {sent.notes} ≠ one on deal {exp.deal_id}")
    if exp.subject not in html.unescape(sent.body):
        problems.append("the task body does not name the opportunity")
    if not clean_subject(sent.title):
        problems.append(f"subject not plain text: {sent.title!r}")
    for problem in problems:
        out.wrong[problem.split(" ")[0]] += 1
        if len(out.wrong_examples) < 40:
            out.wrong_examples.append(f"{exp.kind} {exp.subject}: {problem}")
    if problems:
        out.by_kind[exp.kind]["wrong"] += 1


def _due_problems(exp: Expected, sent: Sent) -> list[str]:
    """The design fixes due *hours* by kind and priority, counted from when the poller planned the notification:
    somewhere between the transition and the task's creation. Invitations: never after their expiry."""
    if sent.due is None:
        return ["due missing"]
    problems = []
    if exp.due_cap is not None and sent.due > exp.due_cap:
        problems.append(f"due {sent.due:%m-%d %H:%M} after the invitation expires {exp.due_cap:%m-%d %H:%M}")
    if exp.due_hours is None:
        return problems
    hours = dt.timedelta(hours=exp.due_hours)
    if sent.digest is not None:  # a digest is due when its most urgent change is, counted from when it went out
        return problems + ([f"due {(sent.due - sent.created) / dt.timedelta(hours=1):.1f} h after its digest went "
                            f"out, later than this change's {exp.due_hours} h"]
                           if sent.due > sent.created + hours + DUE_SLACK else [])
    capped = exp.due_cap is not None and exp.due_cap < sent.created + hours
    if not capped and not exp.at + hours - DUE_SLACK <= sent.due <= sent.created + hours + DUE_SLACK:
        problems.append(f"due {(sent.due - sent.created) / dt.timedelta(hours=1):.1f} h after creation, "
                        f"expected {exp.due_hours} h")
    return problems
