"""`poller backfill`: after an outage it sends exactly what was missed, never anything twice, and resumes.

The HubSpot tests run in real time (hubspot-api-client cannot deserialize under freezegun) and count what the
owners received in the HubSpot simulator; the Partner Central-only tests freeze the clock and read the outbox.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.clock import utc_now
from poller.core.timefmt import iso, parse_moment
from poller.run.backfill import backfill
from poller.run.context import CURSOR
from poller.run.cycle import run_cycle
from poller.run.window import Window
from poller.simulators import portfolio
from poller.simulators.portfolio import opportunity_id, seed
from poller.store import open_store


@pytest.fixture
def cli_env(tmp_path, monkeypatch, pc_sim):
    """A temp state db and the Partner Central simulator as the endpoint; no HubSpot unless a test adds it."""
    monkeypatch.chdir(tmp_path)
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN_FILE", "POLLER_CONFIG", "HUBSPOT_BASE_URL",
                 "POLLER_MUTED_KINDS", "POLLER_LOOKBACK"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "poller.db"
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    monkeypatch.setenv("POLLER_RETRY_ATTEMPTS", "1")
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot: recording only is intended
    return db


@pytest.fixture
def hub_env(cli_env, hub_sim, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "sim-token")
    monkeypatch.setenv("HUBSPOT_BASE_URL", hub_sim.url)
    monkeypatch.setenv("POLLER_FALLBACK_OWNER_ID", portfolio.FALLBACK_OWNER[0])
    monkeypatch.setenv("POLLER_DELIVER", "true")
    return cli_env


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def received(hub_sim) -> list[tuple[str, str]]:
    """(owner, task subject) of every task in the portal: what the sellers see in their task lists."""
    return sorted((t["properties"]["hubspot_owner_id"], t["properties"]["hs_task_subject"]) for t in hub_sim.tasks())


def tables(db) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                for name in ("opportunities", "snapshot_history", "events", "outbox", "cursors", "runs", "lease")}


def outage(pc_sim) -> None:
    """While no cycle runs: AWS approves one review, raises another's engagement score, a partner edits a third."""
    pc_sim.update_opportunity(opportunity_id(0), {"LifeCycle": {"ReviewStatus": "Approved"}})
    pc_sim.update_aws_summary(opportunity_id(1), {"Insights": {"EngagementScore": "High"}}, touch=True)
    pc_sim.update_opportunity(opportunity_id(2), {"LifeCycle": {"NextSteps": "Partner-side edit: notifies nobody"}})


def baseline_with_a_pending_review(pc_sim, hub_sim) -> None:
    seed(pc_sim, hub_sim, 6)
    pc_sim.update_opportunity(opportunity_id(0), {"LifeCycle": {"ReviewStatus": "In review"}})
    first = invoke("run")
    assert first.exit_code == 0, first.output
    assert "(baseline)" in first.stdout and hub_sim.tasks() == []


def outage_start() -> str:
    # Partner Central stamps milliseconds: a start with microseconds could fall after the first change.
    return iso(utc_now() - dt.timedelta(milliseconds=1))


def expected_after_outage() -> list[tuple[str, str]]:
    return sorted([(portfolio.OWNERS[0][0], "✅"), (portfolio.OWNERS[1][0], "🎯")])


def kinds_received(hub_sim) -> list[tuple[str, str]]:
    return sorted((owner, subject[0]) for owner, subject in received(hub_sim))


# --- with HubSpot: what the owners receive


def test_after_an_outage_backfill_sends_exactly_the_missing_notifications_once(pc_sim, hub_sim, hub_env):
    baseline_with_a_pending_review(pc_sim, hub_sim)
    since = outage_start()
    outage(pc_sim)

    before = tables(hub_env)
    preview = invoke("backfill", "--since", since, "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.startswith("dry run: ")
    assert "2 events found, 2 new, 0 already known" in preview.stdout
    assert "2 notifications would be sent:" in preview.stdout
    assert tables(hub_env) == before  # a dry run writes nothing
    assert hub_sim.tasks() == []

    result = invoke("backfill", "--since", since)

    assert result.exit_code == 0, result.output
    assert "backfill run 2 ok:" in result.stdout
    assert "2 events found, 2 new, 0 already known" in result.stdout
    assert "2 delivered, 0 parked" in result.stdout
    assert "re-list: page 1 committed" in result.stderr  # not a terminal: one plain log line per page
    assert kinds_received(hub_sim) == expected_after_outage()  # one ✅ to opp 0's owner, one 🎯 to opp 1's
    assert len(hub_sim.notes()) == 2
    subjects = [s for _o, s in received(hub_sim)]
    assert any(portfolio.PROJECTS[0] in s for s in subjects) and any(portfolio.PROJECTS[1] in s for s in subjects)

    again = invoke("backfill", "--since", since)
    assert again.exit_code == 0, again.output
    assert "0 new, 2 already known" in again.stdout
    nxt = invoke("run")  # and the cycles, which were behind, do not repeat them either
    assert nxt.exit_code == 0, nxt.output
    assert len(hub_sim.tasks()) == 2 and len(hub_sim.notes()) == 2
    with sqlite3.connect(hub_env) as conn:
        assert conn.execute("SELECT count(*) FROM cursors WHERE name LIKE 'backfill:%'").fetchone()[0] == 0


def test_a_backfill_over_a_window_the_cycles_covered_sends_nothing(pc_sim, hub_sim, hub_env):
    baseline_with_a_pending_review(pc_sim, hub_sim)
    since = outage_start()
    outage(pc_sim)
    assert invoke("run").exit_code == 0  # no outage after all: the next cycle delivered them
    assert kinds_received(hub_sim) == expected_after_outage()
    with sqlite3.connect(hub_env) as conn:
        cursor = conn.execute("SELECT value FROM cursors WHERE name = ?", [CURSOR]).fetchone()[0]

    result = invoke("backfill", "--since", since, "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert (summary["found"], summary["new"], summary["known"], summary["delivered"]) == (2, 0, 2, 0)
    assert summary["history_replayed"] == 3  # the three changed snapshots the cycle stored
    assert summary["cursor_after"] == cursor  # the main cursor did not move
    assert len(hub_sim.tasks()) == 2 and len(hub_sim.notes()) == 2


# --- Partner Central only: the outbox is the measure


def outbox(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT kind, subject_id FROM outbox"))


def test_an_interrupted_backfill_resumes_from_its_checkpoint_with_the_same_result(pc_sim, make_app, cli_env, frozen):
    seed(pc_sim, None, 150)
    pc_sim.update_opportunity(opportunity_id(5), {"LifeCycle": {"ReviewStatus": "In review"}})
    app = make_app(db=cli_env)
    assert run_cycle(app).summary["baseline"]
    main_cursor = app.store.cursor(CURSOR)
    frozen.tick(dt.timedelta(minutes=5))
    since = iso(utc_now())
    for n in range(150):  # the outage touches every opportunity, one second apart: two pages to re-list
        frozen.tick(dt.timedelta(seconds=1))
        if n == 5:
            pc_sim.update_opportunity(opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Approved"}})
        elif n == 140:
            pc_sim.update_aws_summary(opportunity_id(n), {"Insights": {"EngagementScore": "High"}}, touch=True)
        else:
            pc_sim.update_opportunity(opportunity_id(n), {"LifeCycle": {"NextSteps": f"Partner step {n}"}})
    frozen.tick(dt.timedelta(minutes=1))
    window = Window.parse(since, None, utc_now())
    page_one_end = iso(parse_moment(pc_sim.opportunity(opportunity_id(99))["LastModifiedDate"]))

    def fail_page_two(progress) -> None:
        if progress.phase == "relist" and progress.done == 1:  # page 1 committed: page 2's request will fail
            pc_sim.fail_next("ListOpportunities", "InternalServerException", times=3, message="service unavailable")

    interrupted = backfill(app, window, progress=fail_page_two)

    assert (interrupted.status, interrupted.exit_code) == ("failed", 1)
    assert "ListOpportunities" in interrupted.summary["error"]
    assert interrupted.summary["checkpoint_after"] == page_one_end
    assert outbox(cli_env) == [("review_approved", opportunity_id(5))]  # page 1's work is committed
    assert app.store.cursor(CURSOR) == main_cursor
    assert app.store.db.execute("SELECT status FROM runs ORDER BY id DESC").fetchone()[0] == "failed"
    assert app.store.db.execute("SELECT count(*) FROM lease").fetchone()[0] == 0

    pc_sim.reset_calls()
    resumed = backfill(app, window)

    assert (resumed.status, resumed.exit_code) == ("ok", 0)
    assert resumed.summary["resumed_from"] == page_one_end
    first_list = next(json.loads(c.body) for c in pc_sim.calls if c.target.endswith("ListOpportunities"))
    assert first_list["LastModifiedDate"]["AfterLastModifiedDate"].startswith(page_one_end[:19])
    assert resumed.summary["opportunities_reread"] == 50  # page 2 only
    assert resumed.summary["checkpoint_after"] is None  # complete: the checkpoint is gone
    assert outbox(cli_env) == sorted([("review_approved", opportunity_id(5)),
                                      ("engagement_score_changed", opportunity_id(140))])
    assert app.store.cursor(CURSOR) == main_cursor  # the cycles' cursor never moved
    assert [c["name"] for c in app.store.cursors()] == [CURSOR]

    # The cycle that follows finds everything already recorded.
    frozen.tick(dt.timedelta(minutes=5))
    after = run_cycle(app)
    assert after.status == "ok" and after.summary["events"] == 0


def test_history_replay_finds_what_the_cycles_did_not_raise_but_never_what_the_baseline_recorded(
        pc_sim, make_app, cli_env, frozen):
    seed(pc_sim, None, 3)
    pc_sim.update_opportunity(opportunity_id(0), {"LifeCycle": {"ReviewStatus": "In review"}})
    pc_sim.update_opportunity(opportunity_id(2), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    muted = make_app(db=cli_env, muted_kinds=("review_approved",))
    run_cycle(muted)  # the baseline: opp 2 already needs action, opp 1 is already approved
    frozen.tick(dt.timedelta(minutes=5))
    pc_sim.update_opportunity(opportunity_id(0), {"LifeCycle": {"ReviewStatus": "Approved"}})
    run_cycle(muted)  # review_approved was muted then: recorded as a snapshot, no event
    assert outbox(cli_env) == []
    frozen.tick(dt.timedelta(minutes=5))

    result = invoke("backfill", "--since", "2026-03-02")  # the whole day, baseline included; now unmuted

    assert result.exit_code == 0, result.output
    assert "1 events found, 1 new, 0 already known (1 stored snapshots replayed" in result.stdout
    assert "delivery is off: 1 notifications queued" in result.stdout
    assert outbox(cli_env) == [("review_approved", opportunity_id(0))]  # nothing for the baseline's truths


def test_backfill_needs_a_baseline(cli_env, pc_sim):
    result = invoke("backfill", "--since", "2026-03-01")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the state database has no baseline yet")
    assert len(result.stderr.strip().splitlines()) == 1
    assert pc_sim.operation_counts() == {}


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "last tuesday"], "neither YYYY-MM-DD nor ISO 8601"),
    (["--since", "2026-03-02", "--until", "2026-03-01"], "is after --until"),
    (["--since", "2999-01-01"], "is not in the past"),
    ([], "Missing option '--since'"),
])
def test_bad_dates_are_usage_errors(cli_env, args, message):
    open_store(cli_env)
    result = invoke("backfill", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_window_dates_are_utc_days_or_iso_8601():
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    day = Window.parse("2026-03-01", "2026-03-03", now)
    assert (day.since, day.until) == ("2026-03-01T00:00:00.000000Z", "2026-03-03T23:59:59.999999Z")
    assert day.checkpoint == "backfill:2026-03-01T00:00:00.000000Z:2026-03-03T23:59:59.999999Z"
    exact = Window.parse("2026-03-01T09:30:00+02:00", None, now)
    assert (exact.since, exact.until) == ("2026-03-01T07:30:00.000000Z", "2026-03-10T12:00:00.000000Z")
    assert exact.checkpoint.endswith(":now")  # the same command finds the same checkpoint later
    assert Window.parse("2026-03-01", "2026-04-01", now).until == "2026-03-10T12:00:00.000000Z"  # capped at now
