"""Personal data: a private database file, a retention that `poller prune` enforces, and output that cannot be forged."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from poller import logs
from poller.cli import cli
from poller.run.backfill import backfill
from poller.run.cycle import run_cycle
from poller.run.daemon import PRUNE_JOB_ID, Daemon, prune_job
from poller.run.window import Window
from poller.simulators import portfolio
from poller.simulators.portfolio import invitation_record, opportunity_id, seed
from poller.store import open_store
from poller.store.prune import LAST_PRUNED, prune_if_due

EVIL = "Evil\x1b[31m red\u202eexe.txt\r\n12:00:00 INFO    poller.cycle: forged line\x07"


@pytest.fixture
def cli_env(cli_db, monkeypatch):
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot here: recording only is intended
    return cli_db


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- file permissions


def test_the_database_its_wal_and_shm_and_the_folders_it_creates_are_private(cli_env, tmp_path, monkeypatch, pc_sim):
    seed(pc_sim, None, 1)
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    db = existing / "new" / "state" / "poller.db"
    monkeypatch.setenv("POLLER_DB", str(db))
    old = os.umask(0o022)  # the usual umask: without care the file would be world-readable
    try:
        result = invoke("run", "--dry-run")
        store = open_store(db)  # an open writer keeps the -wal and -shm files in place
        store.db.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
    finally:
        os.umask(old)

    assert result.exit_code == 0, result.output
    for folder in (existing / "new", existing / "new" / "state"):
        assert mode(folder) == 0o700, folder
    for suffix in ("", "-wal", "-shm"):
        assert mode(Path(f"{db}{suffix}")) == 0o600, suffix
    assert mode(existing) == 0o755  # a folder it did not create is left as it was


# --- retention


def _tasks(hub_sim) -> int:
    return len(hub_sim.tasks())


def _count(store, sql: str) -> int:
    return store.db.execute(sql).fetchone()[0]


def later(days: int = 200):
    """The clock, some days from now (for the steps that never call HubSpot: its SDK and freezegun disagree)."""
    return freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=days))


@pytest.fixture
def aged(pc_sim, hub_sim, make_app, cli_env):
    """Today's history, to be looked at 200 days later: delivered rows, one still pending, invitations, runs."""
    seed(pc_sim, hub_sim, 3)
    pc_sim.put_invitation(invitation_record(1))  # PENDING: notified by the baseline, kept while pending
    pc_sim.put_invitation(invitation_record(2, status="ACCEPTED"))
    app = make_app(hub=hub_sim, db=cli_env, fallback_owner_id=portfolio.FALLBACK_OWNER[0])
    run_cycle(app)  # baseline
    pc_sim.update_opportunity(opportunity_id(0), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    run_cycle(app)  # delivered
    pc_sim.update_opportunity(opportunity_id(1), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    run_cycle(app, deliver=False)  # queued, never delivered: an open row
    with later():  # a recent run (no HubSpot); O…0 has waited at Action Required for 200 days, but its escalation
        # (tests/test_reminders.py) is not what this history is about
        run_cycle(make_app(db=cli_env, muted_kinds=("action_required_overdue",)), deliver=False)
    return app


def test_prune_dry_run_counts_and_prune_deletes_only_what_is_old_and_unneeded(aged, cli_env, hub_sim):
    store = aged.store
    before = {t: _count(store, f"SELECT count(*) FROM {t}") for t in
              ("snapshot_history", "outbox", "events", "invitations", "runs", "owners_cache", "opportunities")}

    with later():
        dry = invoke("prune", "--dry-run")
        assert {t: _count(store, f"SELECT count(*) FROM {t}") for t in before} == before  # nothing deleted
        result = invoke("prune", "--json")
        again = invoke("prune", "--dry-run", "--json")

    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("older than 180d (before ")  # `retention`'s default
    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)["removed"]
    assert json.loads(again.stdout)["removed"] == dict.fromkeys(removed, 0)  # a second prune finds nothing left
    assert removed["snapshots"] == 2  # opportunities 0 and 1 had two old snapshots each: the older one goes
    assert removed["delivered notifications"] == 2  # the invitation's and opportunity 0's
    assert removed["events"] == 2
    assert removed["finished invitations"] == 1  # the ACCEPTED one; the PENDING one stays
    assert removed["runs"] == 3  # the three old runs; the recent one stays
    assert removed["cached HubSpot owners"] == before["owners_cache"] > 0
    assert removed["unlinked deals"] == 0  # every deal is linked to an opportunity

    assert _count(store, "SELECT count(*) FROM opportunities") == 3  # current snapshots are never pruned
    assert {r[0] for r in store.db.execute("SELECT opportunity_id FROM snapshot_history")} == {
        opportunity_id(n) for n in range(3)}  # each keeps its latest snapshot
    open_row = store.db.execute("SELECT kind, subject_id FROM outbox_status WHERE status = 'pending'").fetchall()
    assert open_row == [("review_rejected", opportunity_id(1))]  # the undelivered row and its event stay
    assert _count(store, "SELECT count(*) FROM events") == 1
    assert [r[0] for r in store.db.execute("SELECT status FROM invitations")] == ["PENDING"]
    assert store.meta(LAST_PRUNED) is not None

    # Nothing pruned comes back: a backfill over the whole period and the next cycle send nothing old twice.
    delivered = _tasks(hub_sim)
    assert backfill(aged, Window.parse("2020-01-01", None, aged.clock())).summary["new"] == 0
    assert run_cycle(aged).summary["events"] == 0
    assert _tasks(hub_sim) == delivered + 1  # only the row that was still open went out
    text = invoke("state", "opportunity", opportunity_id(0))
    assert text.exit_code == 0 and "(baseline)" in text.stdout  # the kept snapshot is the new base


def test_prune_older_than_overrides_the_retention_and_is_bounded(aged, cli_env):
    with later():
        removed = json.loads(invoke("prune", "--older-than", "400d", "--json").stdout)["removed"]
    assert set(removed.values()) == {0}  # nothing is that old
    bad = CliRunner().invoke(cli, ["prune", "--older-than", "99999d"])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --older-than:") and "out of range" in bad.stderr


def test_the_daemon_prunes_once_a_day(aged):
    with later() as clock:
        daemon = Daemon(aged, 300)
        job = daemon.scheduler.get_job(PRUNE_JOB_ID)
        assert job.trigger.interval == dt.timedelta(days=1)

        prune_job(aged, lambda: False)()  # what the scheduler runs
        assert aged.store.meta(LAST_PRUNED) is not None and _count(aged.store, "SELECT count(*) FROM events") == 1
        clock.tick(dt.timedelta(hours=2))
        assert prune_if_due(aged.store, older_than=aged.settings.retention, now=aged.clock()) is None  # a restart
        clock.tick(dt.timedelta(days=1))
        assert prune_if_due(aged.store, older_than=aged.settings.retention, now=aged.clock()) is not None


# --- text from Partner Central cannot forge terminal output or log lines


def test_control_and_bidi_characters_from_partner_central_are_escaped_in_text_output(cli_env, pc_sim, make_app):
    seed(pc_sim, None, 2)
    run_cycle(make_app(db=cli_env), deliver=False)  # baseline
    pc_sim.update_opportunity(opportunity_id(1), {"Project": {"Title": EVIL},
                                                  "LifeCycle": {"ReviewStatus": "Action Required"}})

    outputs = [invoke("run"), invoke("state", "outbox"), invoke("state", "opportunity", opportunity_id(1))]

    for result in outputs:
        assert result.exit_code == 0, result.output
        text = result.stdout
        assert "Evil" in text  # the text is there …
        for raw in ("\x1b", "\u202e", "\r", "\x07"):
            assert raw not in text, (raw, text)  # … but shown, not obeyed
        assert not any(line.startswith("12:00:00 INFO") for line in text.splitlines())
    # ESC and BEL are dropped when the record is stored; what remains is shown escaped
    assert "red\\u202eexe.txt\\r\\n12:00:00 INFO    poller.cycle: forged line" in outputs[2].stdout


def test_the_text_log_formatter_escapes_control_and_bidi_characters(capsys):
    logs.configure("text")
    logging.getLogger("poller.test").warning("skipped record %s", EVIL)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "\x1b" not in err and "\u202e" not in err and "\\x1b[31m" in err and "\\u202e" in err
