"""What stops the job before it starts, in one line naming the setting: no token, a bad database path or file, a
database from a newer version, an absurd duration; and `poller state`, which only ever reads."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import opportunity_id, seed
from poller.store import open_store


@pytest.fixture
def env(cli_db):
    return cli_db


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def one_line(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- no HubSpot token


@pytest.mark.parametrize("command", [("run",), ("run", "--json"), ("backfill", "--since", "2026-03-01")])
def test_without_a_token_the_commands_that_deliver_refuse_to_start(env, pc_sim, command):
    one_line(invoke(*command), 2, "HUBSPOT_ACCESS_TOKEN", "--dry-run", "deliver = false")
    assert pc_sim.operation_counts() == {}
    assert not env.exists()


def test_without_a_token_the_daemon_refuses_to_start(env, pc_sim):
    # In a process of its own: a daemon that did start would run until stopped.
    daemon = subprocess.run([sys.executable, "-m", "poller", "daemon", "--every", "5m"], cwd=env.parent,
                            capture_output=True, text=True, timeout=60)
    assert daemon.returncode == 2, daemon.stderr
    assert daemon.stderr.startswith("Error: HUBSPOT_ACCESS_TOKEN: not set") and daemon.stdout == ""
    assert len(daemon.stderr.strip().splitlines()) == 1
    assert pc_sim.operation_counts() == {}


def test_recording_only_is_allowed_when_asked_for(env, pc_sim):
    seed(pc_sim, None, 2)
    dry = invoke("run", "--dry-run")
    assert dry.exit_code == 0, dry.output
    record_only = invoke("run", "--json", env={"POLLER_DELIVER": "false"})
    assert record_only.exit_code == 0, record_only.output
    assert json.loads(record_only.stdout)["summary"]["status"] == "ok"
    bad = invoke("run", env={"POLLER_DELIVER": "maybe"})
    one_line(bad, 2, "deliver: expected true or false", "POLLER_DELIVER")


def test_with_a_token_and_deliver_false_nothing_is_sent(env, pc_sim, hub_sim):
    seed(pc_sim, hub_sim, 2)
    settings = {"HUBSPOT_ACCESS_TOKEN": "sim-token", "HUBSPOT_BASE_URL": hub_sim.url, "POLLER_DELIVER": "false"}
    assert invoke("run", env=settings).exit_code == 0
    pc_sim.update_opportunity(opportunity_id(1), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    result = invoke("run", "--json", env=settings)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["events"] == 1
    assert hub_sim.tasks() == []  # queued for a run that delivers
    assert open_store(env).db.execute("SELECT count(*) FROM outbox_status WHERE status = 'pending'").fetchone() == (1,)


# --- the state database


def test_a_database_path_that_cannot_be_created_is_one_line_naming_poller_db(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    one_line(invoke("run", "--dry-run", env={"POLLER_DB": str(blocker / "state" / "poller.db")}), 2,
             "db:", "POLLER_DB", "cannot be created")
    one_line(invoke("run", "--dry-run", env={"POLLER_DB": str(tmp_path)}), 2, "db:", "POLLER_DB")  # a folder


def test_a_corrupt_database_file_is_one_line_naming_poller_db(env, pc_sim):
    env.write_bytes(b"this is not a database, it is a text file that happens to be called poller.db\n" * 50)
    for command in (("run", "--dry-run"), ("state", "runs"), ("prune",)):
        one_line(invoke(*command), 2, "db:", "POLLER_DB", "not a usable SQLite database")
    assert pc_sim.operation_counts() == {}


def test_someone_elses_sqlite_database_is_not_taken_over(env):
    with sqlite3.connect(env) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    one_line(invoke("run", "--dry-run"), 2, "db:", "not poller's")
    with sqlite3.connect(env) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]


def test_a_database_written_by_a_newer_version_is_refused(env, pc_sim):
    store = open_store(env)
    store.db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('poller-state', 'm999_from_the_future', '2030-01-01')")
    for command in (("run", "--dry-run"), ("state", "runs"), ("prune",)):
        one_line(invoke(*command), 2, "db:", "newer version of poller", "m999_from_the_future")
    assert pc_sim.operation_counts() == {}


def test_state_on_a_missing_database_creates_nothing(env, tmp_path):
    typo = tmp_path / "stat" / "poller.db"
    for command in (("state", "runs"), ("state", "outbox"), ("state", "cursors"), ("state", "budget"),
                    ("state", "opportunity", "O1")):
        one_line(invoke("--db", str(typo), *command), 2, f"db: {typo} does not exist")
    one_line(invoke("--db", str(typo), "prune"), 2, f"db: {typo} does not exist")
    assert not typo.parent.exists()


def test_state_does_not_migrate_or_write_an_older_database(env, pc_sim, make_app):
    seed(pc_sim, None, 1)
    run_cycle(make_app(db=env), deliver=False)
    with sqlite3.connect(env) as conn:  # as a previous version left it: its last migration not applied yet
        conn.execute("DELETE FROM _sqlite_migrations WHERE id = (SELECT max(id) FROM _sqlite_migrations)")
        conn.execute("DROP VIEW last_runs")
        before = "\n".join(conn.iterdump())

    result = invoke("state", "runs")
    cursors = invoke("state", "cursors", "--json")

    one_line(result, 2, "db:", "predates this version of poller", "the next `poller run` upgrades it")
    assert cursors.exit_code == 0 and json.loads(cursors.stdout)[0]["name"] == "opportunities"
    with sqlite3.connect(env) as conn:
        assert "\n".join(conn.iterdump()) == before


# --- other files and values


def test_a_binary_poller_toml_is_one_line(env):
    (env.parent / "poller.toml").write_bytes(b"\xff\xfe\x00\x01binary\x00garbage")
    one_line(invoke("run", "--dry-run"), 2, "config:", "poller.toml", "not a text file")
    (env.parent / "poller.toml").write_bytes(b"lookback = \"15m\"\x00\n")
    one_line(invoke("run", "--dry-run"), 2, "config:", "not valid TOML")


@pytest.mark.parametrize(("name", "value", "setting"), [
    ("POLLER_LOOKBACK", "99999999d", "lookback"),
    ("POLLER_HTTP_TIMEOUT", "0", "http_timeout"),
    ("POLLER_HTTP_TIMEOUT", "2h", "http_timeout"),
    ("POLLER_RUN_TIME_BUDGET", "1s", "run_time_budget"),
    ("POLLER_SWEEP_PERIOD", "400d", "sweep_period"),
    ("POLLER_RETENTION", "1h", "retention"),
])
def test_durations_are_bounded_at_load_time(env, pc_sim, name, value, setting):
    line = one_line(invoke("run", "--dry-run", env={name: value}), 2, f"{setting}:", "out of range", name)
    assert "from " in line and " to " in line  # says what is allowed
    assert pc_sim.operation_counts() == {}


def test_the_daemon_interval_is_bounded(env):
    daemon = subprocess.run([sys.executable, "-m", "poller", "daemon", "--every", "9999d"], cwd=env.parent,
                            capture_output=True, text=True, timeout=60, env={**os.environ, "POLLER_DELIVER": "false"})
    assert daemon.returncode == 2, daemon.stderr
    assert daemon.stderr.startswith("Error: --every: '9999d' is out of range (from 1s to 7d)")
