"""`poller outbox retry`: failed rows go back to pending on the operator's word, recorded in their history, and the
next run delivers them; without a selection it refuses rather than retry everything silently."""

from __future__ import annotations

import json
from collections import Counter

from click.testing import CliRunner
from test_delivery import TASK_CREATE, baseline, event_key, outbox_statuses

from poller.cli import cli
from poller.run.cycle import run_cycle
from poller.simulators import portfolio


def poller(app, *args: str):
    return CliRunner().invoke(cli, ["--db", app.settings.db, *args], catch_exceptions=False)


def failed_twice(pc_sim, hub_sim, make_app):
    """Two review changes whose tasks HubSpot refused (400 for the batch, then for each half): both `failed`."""
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    for n in (1, 2):
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.fail_next(TASK_CREATE, 400, times=3)
    assert run_cycle(app).status == "ok"
    assert outbox_statuses(app) == Counter({"failed": 2}) and hub_sim.tasks() == []
    return app, [r["event_key"] for r in app.store.db.query("SELECT event_key FROM outbox ORDER BY subject_id")]


def row(app, key: str) -> dict:
    return next(app.store.db.query("SELECT * FROM outbox_status WHERE event_key = ?", [key]))


def test_retry_needs_a_selection_and_known_keys(pc_sim, hub_sim, make_app):
    app, keys = failed_twice(pc_sim, hub_sim, make_app)
    for args, message in ((["outbox", "retry"], "say what to retry"),
                          (["outbox", "retry", "evk_000000000000000000000000"], "no outbox row has event key"),
                          (["outbox", "retry", "--all", "--kind", "review_approved"], "give it alone"),
                          (["outbox", "retry", "--since", "yesterday"], "neither YYYY-MM-DD nor ISO 8601")):
        result = poller(app, *args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    assert outbox_statuses(app) == Counter({"failed": 2})  # nothing changed

    nothing = poller(app, "outbox", "retry", "--kind", "review_approved")
    assert nothing.exit_code == 0 and "no failed notifications match; nothing changed" in nothing.output
    later = poller(app, "outbox", "retry", "--since", "2999-01-01")
    assert later.exit_code == 0 and "nothing changed" in later.output
    dry = poller(app, "outbox", "retry", "--all", "--dry-run")
    assert dry.exit_code == 0 and "would put 2 failed notifications back to pending" in dry.output
    assert all(k in dry.output for k in keys) and outbox_statuses(app) == Counter({"failed": 2})


def test_retry_puts_failed_rows_back_records_it_and_the_next_run_delivers_them(pc_sim, hub_sim, make_app):
    app, (first, second) = failed_twice(pc_sim, hub_sim, make_app)
    result = poller(app, "outbox", "retry", first, "--kind", "review_action_required", "--since", "2000-01-01")

    assert result.exit_code == 0, result.output
    assert "put 1 failed notification back to pending; the next `poller run` sends them" in result.output
    assert first in result.output and second not in result.output
    retried = row(app, first)
    assert (retried["status"], retried["task_state"], retried["note_state"], retried["attempts"]) == (
        "pending", "pending", "done", 0)
    assert row(app, second)["status"] == "failed"

    shown = json.loads(poller(app, "state", "outbox", "--json").output)
    history = {r["event_key"]: r["history"] for r in shown["rows"]}
    assert [h["action"] for h in history[first]] == ["failed", "retried"]
    assert "task back to pending by `poller outbox retry`" in history[first][-1]["detail"]
    assert "HTTP 400" in history[first][-1]["detail"]  # why it had failed stays on record
    text = poller(app, "state", "outbox").output
    assert "retried" in text
    timeline = poller(app, "state", "opportunity", "O1000001").output
    assert f"retried {first}" in timeline

    assert run_cycle(app).summary["delivered"] == 1
    (task,) = hub_sim.tasks()
    assert event_key(task) == first and row(app, first)["status"] == "done"
    again = poller(app, "outbox", "retry", first)  # not failed any more: said so, left alone
    assert again.exit_code == 0 and f"{first}: done, not failed; left as it is" in again.output

    assert poller(app, "outbox", "retry", "--all").exit_code == 0
    assert run_cycle(app).summary["delivered"] == 1
    assert outbox_statuses(app) == Counter({"done": 2}) and len(hub_sim.tasks()) == 2
