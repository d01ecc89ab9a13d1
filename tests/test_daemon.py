"""`poller daemon`: the scheduler's configuration, the lease shared with cron-started runs, and a clean SIGTERM."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner

from poller.cli import cli
from poller.clock import utc_now
from poller.core.timefmt import iso
from poller.run.cycle import run_cycle
from poller.run.daemon import build_scheduler, cycle_job
from poller.simulators.portfolio import opportunity_record, seed

START = "2026-03-02T09:00:00+00:00"  # conftest.START, the frozen clock


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray ./poller.toml
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN_FILE", "POLLER_CONFIG", "HUBSPOT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "poller.db"
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot: recording only is intended
    return db


def runs(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return [(mode, status) for mode, status in conn.execute("SELECT mode, status FROM runs ORDER BY id")]


def lease_holders(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM lease").fetchone()[0]


# --- the scheduler, configured but never started


def test_scheduler_runs_a_cycle_at_start_then_every_interval_without_overlap_or_bursts(frozen):
    def job():
        raise AssertionError("the scheduler must not run anything in this test")

    scheduler = build_scheduler(300, job)

    assert not scheduler.running
    (entry,) = scheduler.get_jobs()
    assert entry.func is job
    assert entry.next_run_time == dt.datetime.fromisoformat(START)  # the first cycle at start, not 5 minutes later
    assert isinstance(entry.trigger, IntervalTrigger)
    assert entry.trigger.interval == dt.timedelta(minutes=5)
    first = entry.next_run_time
    assert entry.trigger.get_next_fire_time(first, first) == first + dt.timedelta(minutes=5)
    assert entry.max_instances == 1  # a long cycle is never joined by a second one
    assert entry.coalesce is True  # ticks missed meanwhile become one run, not a burst
    assert entry.misfire_grace_time == 300  # a tick up to one interval late still runs; later ones are dropped


def test_scheduler_interval_follows_every(frozen):
    entry = build_scheduler(3600, lambda: None, now=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)).get_jobs()[0]
    assert entry.trigger.interval == dt.timedelta(hours=1)
    assert entry.misfire_grace_time == 3600
    assert entry.next_run_time == dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize("every", ["0s", "soon", "-5m"])
def test_a_bad_interval_is_a_one_line_usage_error(cli_env, every):
    result = CliRunner().invoke(cli, ["daemon", "--every", every])
    assert result.exit_code == 2
    assert "--every" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# --- one lease for the daemon and cron-started runs


def test_a_cron_run_during_a_daemon_tick_is_skipped_and_exits_0(pc_sim, make_app, cli_env, frozen):
    seed(pc_sim, None, 3)
    app = make_app(db=cli_env)
    cron: list = []

    def cron_fires_mid_cycle() -> bool:  # the stop check runs between pages, while the cycle holds the lease
        if not cron and lease_holders(cli_env):
            cron.append(CliRunner().invoke(cli, ["run", "--json"]))
        return False

    result = cycle_job(app, cron_fires_mid_cycle)()

    assert result is not None and result.status == "ok"
    (cron_run,) = cron
    assert cron_run.exit_code == 0
    assert json.loads(cron_run.stdout)["summary"]["status"] == "skipped"
    assert "another run holds the lease" in cron_run.stdout
    assert runs(cli_env) == [("daemon", "ok"), ("run", "skipped")]


def test_a_daemon_tick_during_a_cron_run_is_skipped(pc_sim, make_app, cli_env, frozen):
    seed(pc_sim, None, 3)
    cron_app, daemon_app = make_app(db=cli_env), make_app(db=cli_env)  # two connections, as two processes have
    tick = cycle_job(daemon_app, lambda: False)
    ticks: list = []

    def tick_fires_mid_cycle() -> bool:
        if not ticks and lease_holders(cli_env):
            ticks.append(tick())
        return False

    result = run_cycle(cron_app, mode="run", stop_requested=tick_fires_mid_cycle)

    assert result.status == "ok"
    (skipped,) = ticks
    assert skipped.status == "skipped" and skipped.exit_code == 0
    assert runs(cli_env) == [("run", "ok"), ("daemon", "skipped")]
    # The lease is free again: the next tick runs a cycle.
    frozen.tick(dt.timedelta(minutes=5))
    assert tick().status == "ok"


def test_a_crashing_cycle_is_logged_and_the_daemon_waits_for_the_next_tick(pc_sim, make_app, cli_env, frozen, caplog):
    seed(pc_sim, None, 2)
    app = make_app(db=cli_env)
    run_cycle(app)  # baseline
    pc_sim.fail_next("ListOpportunities", "AccessDeniedException", message="not authorized")
    tick = cycle_job(app, lambda: False)

    with caplog.at_level(logging.WARNING):
        failed = tick()
    assert failed.exit_code == 1
    assert "waiting for the next tick" in caplog.text
    frozen.tick(dt.timedelta(minutes=5))
    assert tick().status == "ok"


# --- SIGTERM in the middle of a cycle, in a real process


def _page_ends(pc_sim, ids: list[str], page: int = 100) -> list[str]:
    stamps = sorted((iso(dt.datetime.fromisoformat(pc_sim.opportunity(i)["LastModifiedDate"].replace("Z", "+00:00"))), i)
                    for i in ids)
    return [stamps[min(k + page, len(stamps)) - 1][0] for k in range(0, len(stamps), page)]


def _cursor(db) -> str | None:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT value FROM cursors WHERE name = 'opportunities'").fetchone()
    return row[0] if row else None


@pytest.mark.slow
def test_sigterm_during_a_cycle_stops_at_a_page_boundary_with_consistent_state(pc_sim, make_app, tmp_path):
    # 400 opportunities, 4 pages, already known to the database; only the cursor is gone, so the daemon's first
    # cycle lists everything again (one paced ListOpportunities per page, 2 s apart) without reading any of them.
    rng = random.Random(3)
    base = utc_now() - dt.timedelta(days=2)
    ids = []
    for n in range(400):
        record = opportunity_record(n, rng=rng, review_status="Pending Submission")
        record["LastModifiedDate"] = base + dt.timedelta(seconds=n)
        ids.append(pc_sim.put_opportunity(record))
    db = tmp_path / "poller.db"
    app = make_app(db=db)
    assert run_cycle(app, mode="run").status == "ok"
    app.store.db.execute("DELETE FROM cursors")
    page_ends = _page_ends(pc_sim, ids)
    env = {k: v for k, v in os.environ.items() if k not in ("HUBSPOT_ACCESS_TOKEN", "POLLER_CONFIG")}
    env.update(POLLER_DB=str(db), POLLER_PC_REQUESTS_PER_SECOND="0.5", POLLER_LOG_FORMAT="text",
               POLLER_DELIVER="false")
    log_path = tmp_path / "daemon.log"

    with open(log_path, "w") as log_file:
        daemon = subprocess.Popen([sys.executable, "-m", "poller", "daemon", "--every", "1h"], cwd=tmp_path, env=env,
                                  stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while _cursor(db) is None:  # the first page has committed once the cursor exists
                assert time.monotonic() < deadline, log_path.read_text()
                with pytest.raises(subprocess.TimeoutExpired):  # waits a little, and fails if the daemon died
                    daemon.wait(timeout=0.05)
            # A cron-started run while the daemon is mid-cycle: it sees the lease, records a skip and exits 0.
            cron = subprocess.run([sys.executable, "-m", "poller", "run", "--json"], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=60)
            assert cron.returncode == 0, cron.stderr
            assert json.loads(cron.stdout)["summary"]["status"] == "skipped"

            lists = pc_sim.operation_counts()["ListOpportunities"]
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=15) == 0, log_path.read_text()
            assert pc_sim.operation_counts()["ListOpportunities"] <= lists + 1  # not the remaining pages
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()

    log = log_path.read_text()
    assert "SIGTERM received: stopping at the next record" in log
    assert "Traceback" not in log
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        daemon_run = conn.execute("SELECT * FROM runs WHERE mode = 'daemon'").fetchone()
        assert conn.execute("SELECT count(*) FROM lease").fetchone()[0] == 0  # released
        assert [r["status"] for r in conn.execute("SELECT status FROM runs WHERE mode = 'run' ORDER BY id")] == \
            ["ok", "skipped"]
    assert daemon_run["status"] == "partial"  # finished, not left 'running'
    assert daemon_run["deferred"] == "stop requested"
    assert daemon_run["finished_at"] is not None
    cursor = _cursor(db)
    assert cursor in page_ends[:-1]  # a committed page boundary, short of the end: it stopped early
    assert daemon_run["cursor_after"] == cursor
    assert daemon_run["pages"] == page_ends.index(cursor) + 1
