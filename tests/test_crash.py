"""Crash safety: `python -m poller run` as a real process, SIGKILLed at exact points of delivery, then restarted.

The HubSpot simulator runs in this test process; its request hook kills the client (and waits for it to die) before
a batch commits, after it commits but before the answer, or between the task batch and the note batch. Whatever the
point, the restarted job ends with exactly one task and one note per event, and every outbox row done.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.portfolio import seed
from poller.store import open_store

TASKS = "/crm/v3/objects/tasks/batch/create"
NOTES = "/crm/v3/objects/notes/batch/create"
CHANGED = 6
REF = re.compile(r"Ref: (evk_[0-9a-f]+)")


class Job:
    """The poller as cron runs it: a fresh process per cycle, configured only through its environment."""

    def __init__(self, db: Path, hub_sim):
        self.env = {**os.environ, "POLLER_DB": str(db), "HUBSPOT_ACCESS_TOKEN": "sim-token",
                    "HUBSPOT_BASE_URL": hub_sim.url, "POLLER_FALLBACK_OWNER_ID": "190",
                    "POLLER_PC_REQUESTS_PER_SECOND": "10", "POLLER_RETRY_ATTEMPTS": "2",
                    # The restart comes at once; the kill, not a slow HubSpot, left the outcome unknown, and the
                    # simulator answered or dropped at once: no settle time to wait out (real time, no clock to move).
                    "POLLER_SETTLE_TIME": "0"}
        self.env.pop("POLLER_CONFIG", None)
        self.cwd = db.parent
        self.proc: subprocess.Popen[str] | None = None
        self.killed = 0

    def run(self) -> int:
        self.proc = subprocess.Popen([sys.executable, "-m", "poller", "run"], env=self.env, cwd=self.cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = self.proc.communicate(timeout=60)
        self.output = out + err
        return self.proc.returncode

    def kill(self, *_args: object) -> bool:
        """A hook for the simulator: SIGKILL the job, wait until it is gone, and drop the connection."""
        assert self.proc is not None
        self.killed += 1
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)  # the job must be gone before the connection drops, or it would see the drop
        return True


def key_of(obj: dict) -> str:
    props = obj["properties"]
    found = props.get("poller_event_key") or REF.search(props.get("hs_task_body") or props.get("hs_note_body") or "")
    return found if isinstance(found, str) else found.group(1)


@pytest.fixture
def changed_portfolio(pc_sim, hub_sim, make_app, tmp_path):
    """A baseline recorded in-process, then review changes on CHANGED opportunities for the job to deliver."""
    seed(pc_sim, hub_sim, CHANGED + 2)
    db = tmp_path / "poller.db"
    app = make_app(hub=hub_sim, db=db, fallback_owner_id="190")
    assert run_cycle(app).summary["baseline"] is True
    app.store.db.conn.close()
    for n in range(CHANGED):
        status = ("Action Required", "Rejected", "Submitted")[n % 3]
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": status}})
    hub_sim.reset_calls()
    return db


POINTS = {
    # (path, hook): where the job dies
    "after the write-ahead commit, before HubSpot processes the task batch": (TASKS, "before_commit"),
    "after HubSpot committed the tasks, before the job recorded them": (TASKS, "after_commit"),
    "between the task batch and the note batch": (NOTES, "before_commit"),
    "after HubSpot committed the notes, before the job recorded them": (NOTES, "after_commit"),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_killed_mid_delivery_then_restarted_delivers_each_event_exactly_once(point, changed_portfolio, hub_sim):
    path, when = POINTS[point]
    job = Job(changed_portfolio, hub_sim)
    hub_sim.on_request(path, method="POST", **{when: job.kill})

    assert job.run() == -signal.SIGKILL, job.output
    assert job.killed == 1
    store = open_store(str(changed_portfolio))
    mid = Counter(r["task_state"] + "/" + r["note_state"] for r in store.db.query("SELECT * FROM outbox"))
    expected_mid = {TASKS: "sending/pending", NOTES: "done/sending"}[path]
    assert mid == Counter({expected_mid: CHANGED}), mid  # the write-ahead row survived the kill
    committed_before_restart = len(hub_sim.tasks() if path == TASKS else hub_sim.notes())

    for _attempt in range(3):  # restart as cron would, until a run completes
        if job.run() == 0:
            break
    else:
        pytest.fail(f"the job never completed after the crash:\n{job.output}")

    event_keys = [r["key"] for r in store.db.query("SELECT key FROM events")]
    assert len(event_keys) == CHANGED
    tasks = Counter(key_of(t) for t in hub_sim.tasks())
    notes = Counter(key_of(n) for n in hub_sim.notes())
    assert tasks == Counter(dict.fromkeys(event_keys, 1))
    assert notes == Counter(dict.fromkeys(event_keys, 1))
    assert Counter(r["status"] for r in store.db.query("SELECT status FROM outbox_status")) == Counter(done=CHANGED)
    ids = {t["id"] for t in hub_sim.tasks()} | {n["id"] for n in hub_sim.notes()}
    recorded = {r[c] for r in store.db.query("SELECT task_id, note_id FROM outbox") for c in ("task_id", "note_id")}
    assert recorded == ids  # the job knows every object it made, including the ones it never heard back about
    creates = Counter(c.path for c in hub_sim.calls if c.path in (TASKS, NOTES) and c.status in (0, 201))
    if when == "after_commit":
        assert committed_before_restart == CHANGED and creates[path] == 1  # reconciled, not resent
    else:
        assert creates[path] == 2  # the dropped batch was never processed: looked up, absent, sent once
    assert job.killed == 1  # the hook fired once; the restarts ran to the end
    statuses = [r["status"] for r in store.db.query("SELECT status FROM runs ORDER BY id")]
    assert "running" not in statuses and statuses.count("interrupted") == 1  # the killed run is closed, not left open


class CallCounter:
    """Kill the job at the k-th call it makes to either simulator, counted across both."""

    def __init__(self, job: Job, at: int):
        self.job, self.at, self.seen = job, at, 0

    def __call__(self, *_args: object) -> bool:
        self.seen += 1
        return self.seen == self.at and self.job.kill()


# The first cycle after `changed_portfolio` makes 18 calls: the listing (1), GetOpportunity and
# GetAwsOpportunitySummary for 6 opportunities (2-13), the deal batch read (14), then the page commits; the
# invitation poll (15), the owners read (16), the task batch (17), the note batch (18). A restarted run skips what
# was committed, so after the kill at 15 the runs are shorter (listing, invitations, routing, tasks, notes, plus
# reconciliation reads once a batch was interrupted) and the schedule walks through their calls one by one.
KILL_AT = (1, 2, 8, 13, 14, 15, 1, 2, 3, 4, 5, 6, 7)


def test_killed_at_any_call_of_a_cycle_loses_nothing_and_duplicates_nothing(changed_portfolio, pc_sim, hub_sim):
    job = Job(changed_portfolio, hub_sim)
    for at in KILL_AT:
        counter = CallCounter(job, at)
        pc_sim.on_call(counter)
        hub_sim.on_request("/", before_commit=counter, times=10_000)
        code = job.run()
        pc_sim.on_call(None)
        hub_sim.clear_hooks()
        assert code in (0, -signal.SIGKILL), job.output
    assert job.killed >= 10, f"only {job.killed} kills landed"
    for _attempt in range(3):
        if job.run() == 0:
            break

    store = open_store(str(changed_portfolio))
    event_keys = [r["key"] for r in store.db.query("SELECT key FROM events")]
    assert len(event_keys) == CHANGED  # nothing lost: one review event per changed opportunity
    assert Counter(key_of(t) for t in hub_sim.tasks()) == Counter(dict.fromkeys(event_keys, 1))  # nothing twice
    assert Counter(key_of(n) for n in hub_sim.notes()) == Counter(dict.fromkeys(event_keys, 1))
    assert [r["status"] for r in store.db.query("SELECT DISTINCT status FROM outbox_status")] == ["done"]
    assert store.db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0
