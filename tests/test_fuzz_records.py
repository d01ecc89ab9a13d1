"""Fuzz: thousands of generated Partner Central answers through real cycles and the real clients.

No run fails, every broken record is named in its run row, and every valid change among them reaches HubSpot
exactly once (the broken ones once they are healed). A fixed seed and one random seed per run; the seed is in the
test id and printed, and POLLER_FUZZ_SEED=<seed> reruns one.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
from collections import Counter

import pytest
from fuzz_records import Breakage, Fuzzer

from poller.core.review import REVIEW_KINDS, canonical_review_status
from poller.run.cycle import run_cycle
from poller.simulators.partner_central.wire import project, shape
from poller.simulators.portfolio import FALLBACK_OWNER, invitation_record, seed

OPPORTUNITIES = 500  # × 3 answers (listing item, GetOpportunity, GetAwsOpportunitySummary)
INVITATIONS = 250  # × 2 answers (listing item, GetEngagementInvitation): 2,000 generated records a run
BREAK_RATE = 0.08  # per answer: about one opportunity in five has a broken answer
TARGETS = ["Approved", "Action Required", "Rejected", "Submitted"]
REF = re.compile(r"Ref: ([0-9a-f]{16,64})")

_seeds = [20260302, random.SystemRandom().randrange(2**32)]
if os.environ.get("POLLER_FUZZ_SEED"):
    _seeds = [int(os.environ["POLLER_FUZZ_SEED"])]


def event_key(obj: dict) -> str | None:
    props = obj["properties"]
    found = props.get("poller_event_key") or REF.search(props.get("hs_task_body") or props.get("hs_note_body") or "")
    return found if isinstance(found, str) or found is None else found.group(1)


def answers(fuzz: Fuzzer, rng: random.Random, bases: dict[str, dict]) -> tuple[dict[str, dict], list[Breakage]]:
    """Each base answer with valid noise, and now and then broken in one way."""
    served, broken = {}, []
    for operation, base in bases.items():
        answer = fuzz.noise(base, operation, rng.randint(0, 4))
        if rng.random() < BREAK_RATE:
            answer, breakage = fuzz.break_one(answer, operation)
            broken.append(Breakage(f"{operation}: {breakage.path}", breakage.how))
        served[operation] = answer
    return served, broken


@pytest.mark.parametrize("fuzz_seed", _seeds, ids=[f"seed{s}" for s in _seeds])
def test_generated_records_never_fail_a_run_broken_ones_are_named_valid_changes_arrive_once(pc_sim, hub_sim, make_app,
                                                                                            fuzz_seed):
    print(f"fuzz seed {fuzz_seed}: rerun with POLLER_FUZZ_SEED={fuzz_seed} python -m pytest tests/test_fuzz_records.py")
    rng = random.Random(fuzz_seed)
    fuzz = Fuzzer(rng)
    ids = [s.opportunity_id for s in seed(pc_sim, hub_sim, OPPORTUNITIES)]
    for oid in ids:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "In review"}})
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK_OWNER[0])
    assert run_cycle(app).summary["baseline"]

    # --- generate: every opportunity moves on in review; new referrals arrive; answers are served as generated
    expected: set[tuple[str, str]] = set()  # (kind, subject) of the valid changes
    broken: dict[str, list[Breakage]] = {}
    for oid in ids:
        target = rng.choice(TARGETS)
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": target}})
        record = pc_sim.opportunity(oid)
        summary = {**(pc_sim.aws_summary(oid) or {}), "Catalog": "AWS", "RelatedOpportunityId": oid}
        served, breaks = answers(fuzz, rng, {
            "ListOpportunities": project(record, shape("OpportunitySummary")),
            "GetOpportunity": project(record, shape("GetOpportunityResponse")),
            "GetAwsOpportunitySummary": project(summary, shape("GetAwsOpportunitySummaryResponse")),
        })
        for operation, answer in served.items():
            pc_sim.serve_verbatim(oid, operation, answer)
        if breaks:
            broken[oid] = breaks
        # A broken listing item alone is read again by id at once; a broken answer waits for the heal.
        if not any(b.path.startswith("Get") for b in breaks):
            expected.add((REVIEW_KINDS[canonical_review_status(target) or ""], oid))
    invitations, expired = [], set()
    for n in range(INVITATIONS):
        record = invitation_record(n)
        iid = pc_sim.put_invitation(record)
        stored = pc_sim.invitation(iid)
        served, breaks = answers(fuzz, rng, {
            "ListEngagementInvitations": project(stored, shape("EngagementInvitationSummary")),
            "GetEngagementInvitation": project(stored, shape("GetEngagementInvitationResponse")),
        })
        for operation, answer in served.items():
            pc_sim.serve_verbatim(iid, operation, answer)
        invitations.append(iid)
        if breaks:
            broken[iid] = breaks
        elif _expired(served):  # listed PENDING after its ExpirationDate: it can no longer be accepted
            expired.add(iid)
        else:
            expected.add(("new_opportunity", iid))
    assert 3 * OPPORTUNITIES + 2 * INVITATIONS >= 2000 and broken, f"seed {fuzz_seed}: nothing was broken"

    # --- the cycle: no failure; every broken record named; every valid change delivered once
    fuzzed = run_cycle(app)
    context = f"seed {fuzz_seed}, broken: {sorted(broken.items())[:5]}…"
    assert (fuzzed.status, fuzzed.exit_code) == ("ok", 0), f"{context}: {fuzzed.summary.get('error')}"
    assert set(fuzzed.summary["skipped_ids"]) == set(broken), (
        f"{context}: named but not broken {set(fuzzed.summary['skipped_ids']) - set(broken)}, "
        f"broken but not named {set(broken) - set(fuzzed.summary['skipped_ids'])}")
    assert _changes(app) == expected, f"{context}: {_changes(app) ^ expected}"
    _assert_each_delivered_once(app, hub_sim, context)

    # --- healed: the broken ones are read again and their changes arrive, once; then nothing more
    for record_id in broken:
        pc_sim.heal(record_id)
    healed = run_cycle(app)
    assert (healed.status, healed.exit_code, healed.summary["skipped_ids"]) == ("ok", 0, []), context
    every = {(REVIEW_KINDS[canonical_review_status(pc_sim.opportunity(oid)["LifeCycle"]["ReviewStatus"]) or ""], oid)
             for oid in ids} | {("new_opportunity", iid) for iid in invitations if iid not in expired}
    assert _changes(app) == every, f"{context}: {_changes(app) ^ every}"
    tasks = _assert_each_delivered_once(app, hub_sim, context)

    idle = run_cycle(app)
    assert (idle.status, idle.summary["events"], len(hub_sim.tasks())) == ("ok", 0, tasks), context


def _expired(served: dict[str, dict]) -> bool:
    """Whether the ExpirationDate served (the detail's wins over the listing's) is already past."""
    value = next((a.get("ExpirationDate") for a in (served.get("GetEngagementInvitation") or {},
                                                      served.get("ListEngagementInvitations") or {})
                  if a.get("ExpirationDate") not in (None, "")), None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        moment = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00"))
    else:
        return False
    return moment <= dt.datetime.now(dt.UTC)


def _changes(app) -> set[tuple[str, str]]:
    """The review and referral events recorded (other kinds the noise may cause are checked for delivery only)."""
    kinds = {*REVIEW_KINDS.values(), "new_opportunity"}
    return {(r[0], r[1]) for r in app.store.db.execute("SELECT kind, subject_id FROM events") if r[0] in kinds}


def _assert_each_delivered_once(app, hub_sim, context: str) -> int:
    keys = {r[0] for r in app.store.db.execute("SELECT key FROM events")}
    statuses = Counter(r[0] for r in app.store.db.execute("SELECT status FROM outbox_status"))
    assert statuses == Counter({"done": len(keys)}), f"{context}: outbox {statuses}"
    delivered = Counter(event_key(task) for task in hub_sim.tasks())
    assert set(delivered) == keys and set(delivered.values()) == {1}, (
        f"{context}: {[k for k, n in delivered.items() if n > 1][:5]} twice, {list(keys - set(delivered))[:5]} missing")
    return len(keys)
