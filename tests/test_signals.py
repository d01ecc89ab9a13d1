"""Stopping: SIGTERM, SIGINT and SIGHUP end `run`, `daemon` and `backfill` at the next record, in a real process;
the lease is released, nothing is lost or sent twice; and a lease outlives a dead holder by minutes, not 15."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import FAST_RETRY
from freezegun import freeze_time

from poller.app import build_app
from poller.config import load_settings
from poller.core.timefmt import iso, parse_iso
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.portfolio import opportunity_id, seed
from poller.store import open_store
from poller.store.lease import Lease

PAGE = 60  # changed opportunities: one listing page, two reads each (120 paced reads)
READS = ("GetOpportunity", "GetAwsOpportunitySummary")
TASKS = "/crm/v3/objects/tasks/batch/create"
NOTES = "/crm/v3/objects/notes/batch/create"


@pytest.fixture
def changed_page(pc_sim, hub_sim, make_app, tmp_path):
    """A baseline recorded in-process, then a review change on PAGE opportunities for the job to read."""
    seed(pc_sim, hub_sim, PAGE)
    db = tmp_path / "poller.db"
    app = make_app(hub=hub_sim, db=db, fallback_owner_id=portfolio.FALLBACK_OWNER[0])
    assert run_cycle(app).summary["baseline"] is True
    app.store.db.conn.close()
    for n in range(PAGE):
        pc_sim.update_opportunity(opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.reset_calls()
    return db


def job_env(db: Path, hub_sim) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLLER_CONFIG", "HUBSPOT_ACCESS_TOKEN_FILE")}
    env.update(POLLER_DB=str(db), HUBSPOT_ACCESS_TOKEN="sim-token", HUBSPOT_BASE_URL=hub_sim.url,
               POLLER_FALLBACK_OWNER_ID=portfolio.FALLBACK_OWNER[0], POLLER_PC_REQUESTS_PER_SECOND="10",
               POLLER_RETRY_ATTEMPTS="2", POLLER_LOG_FORMAT="text")
    return env


class Signaller:
    """A simulator hook that sends `signum` to the job when it makes its `at`-th detail read, then counts the
    reads that still arrive: what the job read after it was told to stop."""

    def __init__(self, signum: int, at: int):
        self.signum, self.at = signum, at
        self.proc: subprocess.Popen[str] | None = None
        self.reads = 0
        self.after = 0

    def __call__(self, operation: str) -> bool:
        if operation in READS:
            self.reads += 1
            if self.reads == self.at and self.proc is not None:
                os.kill(self.proc.pid, self.signum)  # while this read is in flight: it completes
            elif self.reads > self.at:
                self.after += 1
        return False


def run_job(argv: list[str], env: dict[str, str], cwd: Path, hook: Signaller) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([sys.executable, "-m", "poller", *argv], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hook.proc = proc
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def table(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def key_of(obj: dict) -> str:
    return obj["properties"].get("poller_event_key") or obj["properties"]["hs_task_body"]


COMMANDS = {
    "run on SIGTERM (docker stop, ECS)": (["run"], signal.SIGTERM),
    "run on SIGINT (Ctrl-C)": (["run"], signal.SIGINT),
    "daemon on SIGHUP": (["daemon", "--every", "1h"], signal.SIGHUP),
    "daemon on SIGTERM": (["daemon", "--every", "1h"], signal.SIGTERM),
    "backfill on SIGTERM": (["backfill", "--since", "TODAY"], signal.SIGTERM),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(COMMANDS))
def test_a_stop_signal_ends_the_job_at_the_next_record_with_the_lease_released(case, changed_page, pc_sim, hub_sim,
                                                                                make_app):
    argv, signum = COMMANDS[case]
    argv = [a.replace("TODAY", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")) for a in argv]
    cursors_before = table(changed_page, "SELECT name, value FROM cursors")
    events_before = table(changed_page, "SELECT count(*) FROM events")
    hook = Signaller(signum, at=10)  # a page of 120 paced reads: 12 s to the end of the page
    pc_sim.on_call(hook)

    done = run_job(argv, job_env(changed_page, hub_sim), changed_page.parent, hook)
    pc_sim.on_call(None)

    assert done.returncode == 0, done.stderr
    assert hook.reads >= 10, done.stderr
    assert hook.after <= 1, f"{hook.after} reads after the signal"  # not the rest of the page
    assert f"{signal.Signals(signum).name} received" in done.stderr and "Traceback" not in done.stderr
    assert table(changed_page, "SELECT count(*) FROM lease") == [(0,)]  # released: the next run need not wait
    mode, status, deferred, finished = table(
        changed_page, "SELECT mode, status, deferred, finished_at FROM runs ORDER BY id DESC LIMIT 1")[0]
    assert (mode, status) == (argv[0], "partial") and deferred.startswith("stop requested") and finished
    # The page being read was dropped whole: no event, no cursor move; it is read again next time.
    assert table(changed_page, "SELECT count(*) FROM events") == events_before
    assert table(changed_page, "SELECT name, value FROM cursors") == cursors_before
    assert hub_sim.tasks() == []

    app = make_app(hub=hub_sim, db=changed_page, fallback_owner_id=portfolio.FALLBACK_OWNER[0])
    assert run_cycle(app).status == "ok"
    keys = [k for (k,) in table(changed_page, "SELECT key FROM events")]
    assert len(keys) == PAGE  # nothing lost
    assert len(hub_sim.tasks()) == PAGE and len(set(map(key_of, hub_sim.tasks()))) == PAGE  # nothing twice


@pytest.mark.slow
def test_sigterm_during_delivery_stops_between_batches_and_the_next_run_sends_the_rest_once(changed_page, hub_sim,
                                                                                          make_app):
    job: dict[str, subprocess.Popen[str]] = {}

    def stop_the_job(_request) -> bool:  # the task batch is in flight when the signal lands
        os.kill(job["proc"].pid, signal.SIGTERM)
        return False

    hub_sim.on_request(TASKS, method="POST", before_commit=stop_the_job)
    proc = subprocess.Popen([sys.executable, "-m", "poller", "run"], env=job_env(changed_page, hub_sim),
                            cwd=changed_page.parent, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job["proc"] = proc
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 0, err
    assert len(hub_sim.tasks()) == PAGE and hub_sim.notes() == []  # the batch in flight finished; no note batch
    assert table(changed_page, "SELECT count(*) FROM lease") == [(0,)]
    states = Counter(s for (s,) in table(changed_page, "SELECT task_state || '/' || note_state FROM outbox"))
    assert states == Counter({"done/pending": PAGE})

    assert run_cycle(make_app(hub=hub_sim, db=changed_page, fallback_owner_id=portfolio.FALLBACK_OWNER[0])).status \
        == "ok"
    assert len(hub_sim.tasks()) == PAGE and len(hub_sim.notes()) == PAGE
    assert hub_sim.call_count(TASKS) == 1  # the tasks were not sent again


# --- the lease


class Killer(Signaller):
    def __call__(self, operation: str) -> bool:
        if operation in READS:
            self.reads += 1
            if self.reads == self.at and self.proc is not None:
                self.proc.kill()
                self.proc.wait()
                return True
        return False


@pytest.mark.slow
def test_a_lease_left_by_a_killed_job_on_another_host_is_taken_over_minutes_later(changed_page, pc_sim, hub_sim,
                                                                                 make_app, caplog):
    hook = Killer(signal.SIGKILL, at=5)
    pc_sim.on_call(hook)
    done = run_job(["run"], job_env(changed_page, hub_sim), changed_page.parent, hook)
    pc_sim.on_call(None)
    assert done.returncode == -signal.SIGKILL
    # As if that container had run on another host (ECS replaces a task elsewhere): its PID cannot be checked.
    with sqlite3.connect(changed_page) as conn:
        conn.execute("UPDATE lease SET host = 'ip-10-0-1-23.ec2.internal'")
    ((heartbeat, expires),) = table(changed_page, "SELECT heartbeat_at, expires_at FROM lease")
    assert parse_iso(expires) - parse_iso(heartbeat) == dt.timedelta(minutes=3)  # 30 s HTTP timeout + 2.5 min

    with freeze_time(parse_iso(heartbeat) + dt.timedelta(minutes=2)) as clock:
        app = make_app(db=changed_page)  # records only: HubSpot's SDK and a frozen clock disagree
        assert run_cycle(app, deliver=False).status == "skipped"  # it might still be alive
        clock.tick(dt.timedelta(minutes=1))
        assert run_cycle(app, deliver=False).status == "ok"
    assert "taking over the lease" in caplog.text and "ip-10-0-1-23" in caplog.text
    assert table(changed_page, "SELECT count(*) FROM events") == [(PAGE,)]


def test_a_live_run_renews_its_lease_during_a_long_delivery_so_it_is_never_taken_over(pc_sim, hub_sim, tmp_path,
                                                                                     monkeypatch):
    seed(pc_sim, hub_sim, 300)  # three batches of deal reads, tasks and notes
    db = tmp_path / "poller.db"
    monkeypatch.delenv("POLLER_CONFIG", raising=False)
    settings = load_settings(environ={"POLLER_DB": str(db), "HUBSPOT_ACCESS_TOKEN": "sim-token",
                                      "HUBSPOT_BASE_URL": hub_sim.url,
                                      "POLLER_FALLBACK_OWNER_ID": portfolio.FALLBACK_OWNER[0]})
    now = [dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)]  # the job's clock, moved by the slow portal below
    app = build_app(settings, pacing=False, retry=FAST_RETRY, clock=lambda: now[0])
    run_cycle(app)
    for n in range(300):
        pc_sim.update_opportunity(opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    seen: list[tuple[dt.datetime, str]] = []

    def slow_hubspot(_request) -> bool:  # every HubSpot request takes almost 3 minutes (a struggling proxy)
        now[0] += dt.timedelta(minutes=2.9)
        ((expires,),) = table(db, "SELECT expires_at FROM lease")
        seen.append((now[0], expires))
        return False

    hub_sim.on_request("/crm/", before_commit=slow_hubspot, times=1000)
    result = run_cycle(app)

    assert result.status == "ok" and len(hub_sim.tasks()) == 300
    # Delivery alone (owners, 3 task and 3 note batches, no page boundary) outlasts the old fixed 15-minute TTL.
    assert seen[-1][0] - seen[-7][0] >= dt.timedelta(minutes=15)
    for moment, expires in seen:
        assert parse_iso(expires) > moment, (moment, expires)  # at no request could another run have taken it


def test_a_holder_whose_pid_now_belongs_to_another_process_is_taken_over_at_once(tmp_path, caplog):
    # A container restarted on the same host runs as PID 1 again: same host name, same PID, another process.
    store = open_store(tmp_path / "poller.db")
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    old = f"{socket.gethostname()}:{os.getpid()}:12:deadbeef"  # started at tick 12 after boot: not this process
    store.db.execute("INSERT INTO lease (name, holder, pid, host, acquired_at, heartbeat_at, expires_at) "
                     "VALUES ('cycle', ?, ?, ?, ?, ?, ?)",
                     [old, os.getpid(), socket.gethostname(), iso(now), iso(now), iso(now + dt.timedelta(minutes=3))])
    lease = Lease(store.db)
    assert lease.acquire(now + dt.timedelta(seconds=5)) is None
    assert "restarted container" in caplog.text
