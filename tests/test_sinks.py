"""Sinks beyond HubSpot end to end: the real cycle delivers to a Slack webhook (loopback simulator checking Block
Kit) and an SNS topic (loopback Query-protocol simulator, a real boto3 client), each once, each on its own.

Settings and `poller sinks`: tests/test_sinks_config.py.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FAST_RETRY
from test_delivery import FALLBACK, SCRIPT, owner_of, script_every_kind

from poller.app import build_app
from poller.cli import cli
from poller.config import load_settings
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import seed
from poller.simulators.slack.mrkdwn import show
from poller.simulators.slack.simulator import SlackSimulator
from poller.simulators.sns.simulator import SnsSimulator

DEAL_URL = "https://app.hubspot.com/contacts/4242/record/0-3/{id}"
INJECTION = "<!channel> Tom & Jerry <https://evil.example|click here>"  # Slack control sequences from Partner Central


@pytest.fixture
def slack_sim():
    with SlackSimulator() as sim:
        yield sim


@pytest.fixture
def sns_sim(aws_env, monkeypatch):
    with SnsSimulator() as sim:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sim.url)  # boto3's own override, as for Partner Central
        yield sim


def sinks_app(tmp_path: Path, hub_sim, **env: str):
    """An app as an operator configures one: HubSpot, plus sinks declared in POLLER_SINK_* variables."""
    settings = load_settings(environ={
        "POLLER_DB": str(tmp_path / "poller.db"), "POLLER_SWEEP_PERIOD": "0s", "HUBSPOT_ACCESS_TOKEN": "sim-token",
        "HUBSPOT_BASE_URL": hub_sim.url, "POLLER_FALLBACK_OWNER_ID": FALLBACK, "POLLER_HUBSPOT_DEAL_URL": DEAL_URL,
        **env})
    return build_app(settings, pacing=False, retry=FAST_RETRY)


def baseline(pc_sim, hub_sim, tmp_path, count: int = 12, **env: str):
    seed(pc_sim, hub_sim, count)
    if count > 3:  # script_every_kind approves it after the baseline
        pc_sim.update_opportunity("O1000003", {"LifeCycle": {"ReviewStatus": "In review"}})
    app = sinks_app(tmp_path, hub_sim, **env)
    assert run_cycle(app).summary["baseline"] is True
    return app


def slack_keys(slack_sim, url: str | None = None) -> Counter[str]:
    """Messages per event key, read from the Ref in each message's context line."""
    return Counter(p.payload["blocks"][-1]["elements"][0]["text"].rsplit("Ref: ", 1)[1]
                   for p in slack_sim.posted(url))


def sns_keys(sns_sim, arn: str | None = None) -> Counter[str]:
    return Counter(m.attributes["event_key"] for m in sns_sim.messages(arn))


def outbox(app, sink: str) -> dict[str, dict]:
    return {r["event_key"]: r for r in app.store.db.query("SELECT * FROM outbox_status WHERE sink = ?", [sink])}


def test_each_sink_gets_its_share_once_beside_hubspot(pc_sim, hub_sim, slack_sim, sns_sim, tmp_path):
    webhook, topic = slack_sim.add_webhook(), sns_sim.create_topic("poller-events")
    app = baseline(pc_sim, hub_sim, tmp_path, POLLER_SINK_DEALS_WEBHOOK_URL=webhook,
                   POLLER_SINK_DEALS_KINDS="review_action_required,review_approved,new_opportunity",
                   POLLER_SINK_EVENTS_TOPIC_ARN=topic, POLLER_SINK_EVENTS_MIN_PRIORITY="medium")
    expected = script_every_kind(pc_sim, hub_sim)
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Action Required",
                                                         "ReviewComments": f"{SCRIPT} {INJECTION}"}})

    result = run_cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0), result.summary
    keys = {(e["kind"], e["subject_id"]): e["key"] for e in app.store.db.query("SELECT * FROM events")}
    assert len(hub_sim.tasks()) == len(expected)  # HubSpot, the default, gets everything
    to_slack = {keys[(x.kind, x.subject_id)] for x in expected
                if x.kind in ("review_action_required", "review_approved", "new_opportunity")}
    to_sns = {keys[(x.kind, x.subject_id)] for x in expected if x.priority in ("HIGH", "MEDIUM")}
    assert slack_keys(slack_sim) == Counter(to_slack) and len(to_slack) == 5
    assert sns_keys(sns_sim) == Counter(to_sns) and len(to_sns) == 12
    assert {r["status"] for s in ("hubspot", "deals", "events") for r in outbox(app, s).values()} == {"done"}
    assert set(outbox(app, "deals")) == to_slack and set(outbox(app, "events")) == to_sns  # rows only where routed

    # The Block Kit message of the review that needs action, as a seller reads it in the channel.
    key = keys[("review_action_required", "O1000002")]
    (posted,) = [p for p in slack_sim.posted() if key in json.dumps(p.payload)]
    blocks = posted.payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "section", "actions", "context"]
    assert blocks[0]["text"]["text"].startswith("⚠️ ")
    fields = {f["text"].split("\n")[0]: show(f["text"].split("\n", 1)[1]).text for f in blocks[2]["fields"]}
    assert fields["*Priority*"] == "HIGH" and fields["*Owner*"] == "Carol Okafor <carol@partner.example>"
    assert fields["*HubSpot deal*"] == "50002" and fields["*Due*"].endswith("UTC")
    assert blocks[3]["text"]["text"].startswith("*Next steps*\n• ")
    assert show(blocks[4]["text"]["text"]).text.startswith("*Changes*\n• Review status: ")
    buttons = {b["action_id"]: b["url"] for b in blocks[5]["elements"]}
    assert buttons == {"hubspot_deal": DEAL_URL.format(id="50002"),
                       "partner_central": app.rules.opportunity_url("O1000002")}
    texts = [posted.payload["text"], *(b["text"]["text"] for b in blocks[1:5] if "text" in b),
             *(f["text"] for f in blocks[2]["fields"])]
    shown = [show(t) for t in texts]
    # Partner Central's text shows as typed: no @channel, no link, no markup obeyed.
    assert any(INJECTION in s.text and SCRIPT in s.text for s in shown), [s.text for s in shown]
    assert [m for s in shown for m in s.mentions] == [] and [link for s in shown for link in s.links] == []

    # SNS: the event as JSON, a readable ASCII subject, attributes to filter on.
    (message,) = [m for m in sns_sim.messages(topic) if m.attributes["event_key"] == key]
    body = json.loads(message.message)
    assert (body["kind"], body["priority"], body["opportunity_id"], body["deal_id"], body["owner_id"]) == (
        "review_action_required", "HIGH", "O1000002", "50002", owner_of(2))
    assert INJECTION in json.dumps(body, ensure_ascii=False) and body["links"]["hubspot_deal"] == buttons["hubspot_deal"]
    assert message.subject.isascii() and 0 < len(message.subject) < 100 and "O1000002" not in message.subject
    assert message.attributes["kind"] == "review_action_required" and message.attributes["priority"] == "HIGH"

    # A rerun finds nothing new and sends nothing anywhere.
    posts, published, tasks = len(slack_sim.posted()), len(sns_sim.messages()), len(hub_sim.tasks())
    again = run_cycle(app)
    assert (again.summary["events"], again.summary["delivered"]) == (0, 0)
    assert (len(slack_sim.posted()), len(sns_sim.messages()), len(hub_sim.tasks())) == (posts, published, tasks)



def ask_action(pc_sim, *numbers: int) -> None:
    """A review_action_required (HIGH) for each opportunity named (seeded ones start Approved)."""
    for n in numbers:
        pc_sim.update_opportunity(f"O{1_000_000 + n}", {"LifeCycle": {"ReviewStatus": "Action Required"}})


def test_a_failing_sink_waits_on_its_own_and_later_delivers_once(pc_sim, hub_sim, slack_sim, sns_sim, tmp_path):
    """The channel is archived: HubSpot and SNS deliver, Slack's rows wait (the run fails, naming Slack); once the
    channel is back the next cycle posts each once, and nothing goes to HubSpot or SNS again."""
    webhook, topic = slack_sim.add_webhook(), sns_sim.create_topic("poller-events")
    app = baseline(pc_sim, hub_sim, tmp_path, count=4, POLLER_SINK_DEALS_WEBHOOK_URL=webhook,
                   POLLER_SINK_EVENTS_TOPIC_ARN=topic)
    slack_sim.archive_channel(webhook)
    ask_action(pc_sim, 0, 1, 3)

    failed = run_cycle(app)

    assert (failed.status, failed.exit_code) == ("failed", 1)
    assert "Slack (deals)" in failed.summary["error"] and "410 channel_is_archived" in failed.summary["error"]
    assert len(hub_sim.tasks()) == len(hub_sim.notes()) == 3 and len(sns_sim.messages()) == 3
    assert {r["status"] for s in ("hubspot", "events") for r in outbox(app, s).values()} == {"done"}
    waiting = outbox(app, "deals")
    assert {r["status"] for r in waiting.values()} == {"pending"} and len(waiting) == 3
    # One request found the webhook unusable; the rest were not tried (the next cycle tries again).
    assert [c.status for c in slack_sim.calls] == [410] and slack_sim.posted() == []
    assert [r["last_error"] for r in waiting.values() if r["last_error"]] == [
        "Slack (deals): Slack refused the webhook: 410 channel_is_archived; fix its webhook_url"]

    slack_sim.unarchive_channel(webhook)
    later = run_cycle(app)

    assert (later.status, later.summary["delivered"]) == ("ok", 3)
    assert slack_keys(slack_sim) == Counter(list(waiting))
    assert len(hub_sim.tasks()) == 3 and len(sns_sim.messages()) == 3
    assert {r["status"] for r in outbox(app, "deals").values()} == {"done"}


def test_an_uncertain_slack_post_is_posted_again_at_least_once(pc_sim, hub_sim, slack_sim, tmp_path):
    """A webhook cannot be searched: a post whose answer was lost is posted again at once (at least once; the same
    Ref shows it is a repeat). One Slack did not post goes once."""
    webhook = slack_sim.add_webhook()
    app = baseline(pc_sim, hub_sim, tmp_path, count=3, POLLER_SINK_DEALS_WEBHOOK_URL=webhook)
    slack_sim.post_then_drop()
    ask_action(pc_sim, 0)
    assert run_cycle(app).status == "ok"
    (key,) = outbox(app, "deals")
    assert slack_keys(slack_sim) == Counter({key: 2})
    assert outbox(app, "deals")[key]["status"] == "done" and outbox(app, "deals")[key]["attempts"] == 2

    slack_sim.drop_before_post()
    slack_sim.fail_next(503, "service_unavailable")  # Slack failed to post: uncertain, posted again
    ask_action(pc_sim, 1)
    assert run_cycle(app).status == "ok"
    assert sorted(slack_keys(slack_sim).values()) == [1, 2] and len(hub_sim.tasks()) == 2


def test_slack_429_is_waited_out_as_retry_after_says(pc_sim, hub_sim, slack_sim, tmp_path, monkeypatch):
    webhook = slack_sim.add_webhook()
    app = baseline(pc_sim, hub_sim, tmp_path, count=3, POLLER_SINK_DEALS_WEBHOOK_URL=webhook)
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # the product's waits, recorded instead of slept
    slack_sim.fail_next(429, "rate_limited", times=2)
    ask_action(pc_sim, 0)

    assert run_cycle(app).status == "ok"

    assert [c.status for c in slack_sim.calls] == [429, 429, 200]
    assert sum(waits) == pytest.approx(2.0)  # Retry-After: 1, twice
    assert len(slack_sim.posted()) == 1


def test_a_refused_message_fails_its_row_alone(pc_sim, hub_sim, slack_sim, tmp_path):
    webhook = slack_sim.add_webhook()
    app = baseline(pc_sim, hub_sim, tmp_path, count=3, POLLER_SINK_DEALS_WEBHOOK_URL=webhook)
    slack_sim.fail_next(400, "invalid_blocks")
    ask_action(pc_sim, 0, 1)

    result = run_cycle(app)

    assert result.status == "ok" and len(slack_sim.posted()) == 1 and len(hub_sim.tasks()) == 2
    statuses = Counter(r["status"] for r in outbox(app, "deals").values())
    assert statuses == Counter({"done": 1, "failed": 1})
    (failed,) = [r for r in outbox(app, "deals").values() if r["status"] == "failed"]
    assert failed["last_error"] == "Slack (deals): Slack refused the message: 400 invalid_blocks"

    # The operator puts it back by its key (its HubSpot row is done): the next run posts it, and only it.
    retried = CliRunner().invoke(cli, ["--db", app.settings.db, "outbox", "retry", failed["event_key"]])
    assert retried.exit_code == 0 and "put 1 failed notification back to pending" in retried.output, retried.output
    assert run_cycle(app).summary["delivered"] == 1
    assert slack_keys(slack_sim)[failed["event_key"]] == 1 and len(slack_sim.posted()) == 2
    assert len(hub_sim.tasks()) == 2


def test_owners_route_rows_to_a_sink(pc_sim, hub_sim, slack_sim, tmp_path):
    """Only the rows whose owner the sink lists stay with it (the deal's owner, as for the HubSpot task)."""
    webhook = slack_sim.add_webhook()
    app = baseline(pc_sim, hub_sim, tmp_path, count=4, POLLER_SINK_TEAM_WEBHOOK_URL=webhook,
                   POLLER_SINK_TEAM_OWNERS=f"{owner_of(1)} {owner_of(2)}")
    ask_action(pc_sim, 0, 1, 3)

    assert run_cycle(app).status == "ok"

    keys = {r["subject_id"]: r["key"] for r in app.store.db.query("SELECT key, subject_id FROM events")}
    assert slack_keys(slack_sim) == Counter({keys["O1000001"]: 1})
    assert set(outbox(app, "team")) == {keys["O1000001"]} and len(hub_sim.tasks()) == 3


def test_sns_fifo_topic_gets_an_uncertain_batch_once(pc_sim, hub_sim, sns_sim, tmp_path):
    """A publish whose answer was lost is published again at once; the FIFO topic drops the repeat (deduplication
    id = event key). An entry SNS failed on its side goes again; one it refused as the sender's fault fails."""
    topic = sns_sim.create_topic("poller-events.fifo")
    app = baseline(pc_sim, hub_sim, tmp_path, count=6, POLLER_SINK_EVENTS_TOPIC_ARN=topic)
    sns_sim.publish_then_drop()
    ask_action(pc_sim, 0, 1)
    assert run_cycle(app).status == "ok"
    assert sns_keys(sns_sim) == Counter(list(outbox(app, "events"))) and len(outbox(app, "events")) == 2
    assert [m.group_id for m in sns_sim.messages()] == [m.attributes["opportunity_id"] for m in sns_sim.messages()]
    assert all(m.deduplication_id == m.attributes["event_key"] for m in sns_sim.messages())

    sns_sim.fail_entries("InternalError", times=1)
    sns_sim.fail_entries("InvalidParameter", sender_fault=True, times=1)
    ask_action(pc_sim, 2, 3, 4)
    assert run_cycle(app).status == "ok"
    statuses = Counter(r["status"] for r in outbox(app, "events").values())
    assert statuses == Counter({"done": 4, "failed": 1}) and len(sns_sim.messages()) == 4
    assert sns_keys(sns_sim) == Counter(k for k, r in outbox(app, "events").items() if r["status"] == "done")


def test_a_webhook_url_is_never_logged_stored_or_printed(pc_sim, hub_sim, tmp_path, caplog):
    """Slack unreachable (nothing listens on the port): the run fails naming the sink, the rows wait, and the URL,
    which is the webhook's secret, appears in no log line, no stored error and no run row."""
    secret = "Zq8TOPSECRETxxWEBHOOKtoken42"
    webhook = f"http://127.0.0.1:9/services/T0AAAA/B0BBBB/{secret}"
    app = baseline(pc_sim, hub_sim, tmp_path, count=3, POLLER_SINK_DEALS_WEBHOOK_URL=webhook)
    ask_action(pc_sim, 0)

    result = run_cycle(app)

    assert (result.status, len(hub_sim.tasks())) == ("failed", 1)
    assert result.summary["error"].startswith("Slack (deals): Slack unreachable: ConnectionRefusedError")
    assert [r["status"] for r in outbox(app, "deals").values()] == ["pending"]
    app.store.db.conn.commit()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("poller.db*"))
    assert secret.encode() not in stored and b"/services/T0AAAA" not in stored
    assert secret not in caplog.text and secret not in json.dumps(result.summary)


def test_outbox_retry_of_a_key_retries_the_sink_that_failed_it(pc_sim, hub_sim, slack_sim, tmp_path):
    """HubSpot refused the task, Slack posted: retrying the key says it failed (it did, on one sink), puts HubSpot's
    row back, and the next run sends the task; Slack gets nothing twice. (The sink is named to sort after
    `hubspot`: the rows of one key come back in sink order.)"""
    webhook = slack_sim.add_webhook()
    app = baseline(pc_sim, hub_sim, tmp_path, count=3, POLLER_SINK_TEAM_WEBHOOK_URL=webhook)
    hub_sim.fail_next("/crm/v3/objects/tasks/batch/create", 400)
    ask_action(pc_sim, 0)
    assert run_cycle(app).status == "ok"
    (key,) = outbox(app, "team")
    assert (outbox(app, "hubspot")[key]["status"], outbox(app, "team")[key]["status"]) == ("failed", "done")

    retried = CliRunner().invoke(cli, ["--db", app.settings.db, "outbox", "retry", key])

    assert retried.exit_code == 0 and "left as it is" not in retried.output, retried.output
    assert "put 1 failed notification back to pending" in retried.output and "hubspot" in retried.output
    assert run_cycle(app).summary["delivered"] == 1
    assert len(hub_sim.tasks()) == 1 and slack_keys(slack_sim) == Counter({key: 1})


def test_long_text_full_of_control_characters_is_cut_to_block_kit_limits(pc_sim, hub_sim, slack_sim, tmp_path):
    """Escaping multiplies `&<>` by four or five; every part is still cut to Slack's limits, never inside an entity,
    so Slack accepts the message (its simulator refuses what Slack would)."""
    webhook = slack_sim.add_webhook()
    app = baseline(pc_sim, hub_sim, tmp_path, count=3, POLLER_SINK_DEALS_WEBHOOK_URL=webhook)
    pc_sim.update_opportunity("O1000000", {"LifeCycle": {"ReviewStatus": "Action Required",
                                                         "ReviewComments": "&<>" * 2000}})
    assert run_cycle(app).status == "ok"
    (posted,) = slack_sim.posted()
    assert slack_sim.refusals == []
    texts = [b["text"]["text"] for b in posted.payload["blocks"] if b["type"] == "section" and "text" in b]
    assert max(len(t) for t in texts) <= 3000 and any(t.endswith("…") for t in texts)
    assert all(show(t).mentions == [] and "&amp" not in show(t).text for t in texts)


def test_the_simulators_refuse_what_slack_and_sns_refuse(slack_sim, sns_sim):
    """The checks the end-to-end tests lean on can fail: an over-long header, a 100-character subject."""
    import urllib.error
    import urllib.request

    import boto3

    webhook = slack_sim.add_webhook()
    header = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]}
    request = urllib.request.Request(webhook, data=json.dumps(header).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert (refused.value.code, refused.value.read()) == (400, b"invalid_blocks")

    topic = sns_sim.create_topic("t")
    client = boto3.client("sns", region_name="us-east-1")
    answer = client.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "m", "Subject": "s" * 100}, {"Id": "b", "Message": "m", "Subject": "s" * 99}])
    assert [f["Id"] for f in answer["Failed"]] == ["a"] and [s["Id"] for s in answer["Successful"]] == ["b"]
