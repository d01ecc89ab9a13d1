"""The `poller` command line as an operator uses it: exit codes, stdout vs stderr, JSON, one-line errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import invitation_record, opportunity_id, seed
from poller.store import open_store
from poller.store.lease import Lease


@pytest.fixture
def env(tmp_path, monkeypatch, pc_sim):
    """A clean environment: a temp state db, the simulator as the Partner Central endpoint, no HubSpot."""
    monkeypatch.chdir(tmp_path)  # no stray ./poller.toml
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN_FILE", "POLLER_CONFIG", "HUBSPOT_BASE_URL",
                 "POLLER_CATALOG", "POLLER_LOOKBACK", "POLLER_FALLBACK_OWNER_ID"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "state.db"
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    monkeypatch.setenv("POLLER_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot: recording only is intended
    return db


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def populated(env, pc_sim, make_app):
    """A state db with a baseline and one change cycle, built through the product (unpaced) before the CLI reads it."""
    seed(pc_sim, None, 3)
    pc_sim.put_invitation(invitation_record(1))
    app = make_app(db=env)
    run_cycle(app, mode="run", deliver=False)
    pc_sim.update_opportunity(opportunity_id(1), {"LifeCycle": {"ReviewStatus": "Action Required",
                                                                "ReviewComments": "Add the use case"}})
    run_cycle(app, mode="run", deliver=False)
    return env


# --- poller run ----------------------------------------------------------------------------------------------------

def test_run_dry_run_json_prints_only_json_listing_the_notifications(env, pc_sim):
    seed(pc_sim, None, 2)
    pending = pc_sim.put_invitation(invitation_record(1))

    result = invoke("run", "--dry-run", "--json")

    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)  # nothing but JSON on stdout
    summary = payload["summary"]
    assert (summary["status"], summary["mode"], summary["baseline"], summary["notifications"]) == (
        "ok", "dry-run", True, 1)
    assert [(n["kind"], n["subject_id"], n["priority"]) for n in payload["notifications"]] == [
        ("new_opportunity", pending, "HIGH")]
    assert payload["notifications"][0]["subject"].startswith("🆕")
    assert "silent baseline" in result.stderr  # logs go to stderr
    rows = list(open_store(env).db.query("SELECT mode, status FROM runs"))
    assert rows == [{"mode": "dry-run", "status": "ok"}]


def test_run_text_mode_prints_a_summary_and_the_notification_table(env, pc_sim):
    seed(pc_sim, None, 2)
    pc_sim.put_invitation(invitation_record(1))

    result = invoke("run", "--dry-run")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("run 1 ok (baseline): 1 pages, 2 changed")
    assert "1 notifications would send:" in result.stdout
    header = next(line for line in lines if line.startswith("priority"))
    assert header.split() == ["priority", "kind", "deal", "due", "subject"]
    assert any(line.startswith("HIGH") and "new_opportunity" in line for line in lines)

    again = invoke("run", "--dry-run")
    assert again.exit_code == 0 and again.stdout.startswith("run 2 ok:") and "notifications" not in again.stdout


def test_a_second_run_while_the_lease_is_held_exits_0_and_records_a_skipped_run(env, pc_sim):
    store = open_store(env)
    holder = Lease(store.db)
    assert holder.acquire(dt.datetime.now(dt.UTC)) is None  # this (live) process holds it

    result = invoke("run")
    as_json = invoke("run", "--json")

    assert result.exit_code == 0 and as_json.exit_code == 0
    assert result.stdout.strip().startswith("another run holds the lease")
    assert len(result.stdout.strip().splitlines()) == 1
    assert json.loads(as_json.stdout)["summary"]["status"] == "skipped"
    runs = list(store.db.query("SELECT status, deferred FROM runs ORDER BY id"))
    assert [r["status"] for r in runs] == ["skipped", "skipped"]
    assert "another run holds the lease" in runs[0]["deferred"]
    assert pc_sim.operation_counts() == {}  # it did not touch Partner Central
    holder.release()


def test_run_exits_1_with_one_line_when_partner_central_is_unreachable(env, pc_sim):
    pc_sim.fail_next("ListOpportunities", "AccessDeniedException", message="not allowed")
    result = invoke("run", "--dry-run")
    assert result.exit_code == 1
    assert "AccessDeniedException" in result.stderr and "Traceback" not in result.output
    assert open_store(env).db.execute("SELECT status FROM runs").fetchone()[0] == "failed"


def test_an_unparseable_listing_exits_1_with_one_line_naming_the_call_and_keeps_the_cursor(populated, pc_sim):
    store = open_store(populated)
    before = store.db.execute("SELECT value FROM cursors WHERE name = 'opportunities'").fetchone()[0]
    pc_sim.update_opportunity(opportunity_id(2), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    pc_sim.answer_next("ListOpportunities", "<html>upstream busy</html>")  # the page itself, not one item

    result = invoke("run", "--dry-run")

    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Partner Central ListOpportunities: UnparseableResponse" in errors[0]
    assert store.db.execute("SELECT value FROM cursors WHERE name = 'opportunities'").fetchone()[0] == before
    assert store.db.execute("SELECT status FROM runs ORDER BY id DESC").fetchone()[0] == "failed"


def test_run_and_state_runs_name_each_skipped_record_and_why(populated, pc_sim):
    pc_sim.update_opportunity(opportunity_id(0), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    pc_sim.update_opportunity(opportunity_id(2), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    pc_sim.garble(opportunity_id(2), "GetOpportunity", LifeCycle="oops")

    result = invoke("run", "--dry-run", "--json")

    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["skipped_ids"] == [opportunity_id(2)] and summary["notifications"] == 1
    why = "malformed: Partner Central GetOpportunity: UnparseableResponse: LifeCycle is a string, not an object"
    assert summary["skipped_reasons"] == {opportunity_id(2): why}
    (last, *_) = json.loads(invoke("state", "runs", "--json").stdout)
    assert last["skipped_ids"] == [opportunity_id(2)] and last["skipped_reasons"] == {opportunity_id(2): why}
    assert opportunity_id(2) in invoke("state", "runs").stdout


@pytest.mark.parametrize(("name", "value", "named"), [
    ("POLLER_LOOKBACK", "abc", "lookback"),
    ("POLLER_CATALOG", "Prod", "POLLER_CATALOG"),
    ("HUBSPOT_BASE_URL", "notaurl", "HUBSPOT_BASE_URL"),
    ("POLLER_PC_REQUESTS_PER_SECOND", "50", "pc_requests_per_second"),
    ("POLLER_FALLBACK_OWNER_ID", "alice", "fallback_owner_id"),
])
@pytest.mark.parametrize("command", [("run", "--dry-run"), ("state", "runs")])
def test_a_bad_setting_exits_2_with_one_line_naming_it(env, pc_sim, name, value, named, command):
    result = invoke(*command, env={name: value})
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and named in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert pc_sim.operation_counts() == {}


def test_hubspot_unreachable_exits_1_and_the_token_appears_nowhere(env, pc_sim):
    seed(pc_sim, None, 1)
    result = invoke("run", "--dry-run", "--json", env={"HUBSPOT_ACCESS_TOKEN": "pat-secret-123456",
                                                       "HUBSPOT_BASE_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    summary = json.loads(result.stdout)["summary"]
    assert summary["status"] == "failed" and "HubSpot connection refused" in summary["error"]
    assert "pat-secret-123456" not in result.output
    assert "Traceback" not in result.output
    dump = "\n".join(open_store(env).db.conn.iterdump())
    assert "pat-secret-123456" not in dump


# --- poller state --------------------------------------------------------------------------------------------------

def test_state_runs(populated):
    text = invoke("state", "runs")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "mode", "status"]
    assert [line.split()[:3] for line in lines[2:]] == [["2", "run", "ok"], ["1", "run", "ok"]]

    data = json.loads(invoke("state", "runs", "--json").stdout)
    assert [(r["id"], r["status"], r["events"]) for r in data] == [(2, "ok", 1), (1, "ok", 1)]
    assert data[0]["api_calls"]["partner_central"] >= 3 and not data[0]["skipped_ids"]


def test_state_outbox(populated):
    text = invoke("state", "outbox")
    assert text.exit_code == 0
    assert text.stdout.startswith("counts: pending 2")
    assert "review_action_required" in text.stdout and "new_opportunity" in text.stdout

    data = json.loads(invoke("state", "outbox", "--json").stdout)
    assert data["counts"] == {"pending": 2}
    assert {(r["kind"], r["status"]) for r in data["rows"]} == {("review_action_required", "pending"),
                                                                ("new_opportunity", "pending")}
    filtered = json.loads(invoke("state", "outbox", "--status", "done", "--json").stdout)
    assert filtered["rows"] == []
    bad = invoke("state", "outbox", "--status", "lost")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_state_opportunity(populated):
    oid = opportunity_id(1)
    text = invoke("state", "opportunity", oid)
    assert text.exit_code == 0
    assert text.stdout.startswith(f"{oid}: ")
    assert "review Action Required" in text.stdout and "review_action_required HIGH" in text.stdout
    assert "(baseline)" in text.stdout

    data = json.loads(invoke("state", "opportunity", oid, "--json").stdout)
    assert data["opportunity_id"] == oid and data["snapshot"]["review_comments"] == "Add the use case"
    assert [e["entry"] for e in data["timeline"]].count("snapshot") == 2
    assert [e["entry"] for e in data["timeline"]].count("event") == 1


def test_state_opportunity_unknown_exits_1_with_one_line(populated):
    result = invoke("state", "opportunity", "O-unknown")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["Error: opportunity O-unknown is not in the state database"]


def test_state_cursors(populated, pc_sim):
    text = invoke("state", "cursors")
    assert text.exit_code == 0 and "opportunities" in text.stdout
    data = json.loads(invoke("state", "cursors", "--json").stdout)
    assert [r["name"] for r in data] == ["opportunities"]
    assert data[0]["value"].startswith(pc_sim.opportunity(opportunity_id(1))["LastModifiedDate"][:19])


def test_state_budget(populated):
    text = invoke("state", "budget")
    assert text.exit_code == 0 and text.stdout.startswith("day ")
    data = json.loads(invoke("state", "budget", "--json").stdout)
    assert data["calls"]["partner_central"] >= 8  # two cycles' worth of reads, counted per UTC day
    assert isinstance(data["buckets"], list)


def test_state_on_an_empty_database(env):
    open_store(env)  # a database the job created, with nothing in it yet
    assert invoke("state", "runs").stdout.strip() == "(none)"
    assert json.loads(invoke("state", "outbox", "--json").stdout) == {"counts": {}, "rows": []}
    assert json.loads(invoke("state", "cursors", "--json").stdout) == []
