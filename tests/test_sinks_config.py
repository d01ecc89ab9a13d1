"""Sinks in configuration (`[sinks.NAME]` tables, POLLER_SINK_* variables): one-line errors that never quote a webhook
URL, `poller config show`, and `poller sinks list | test NAME` against the loopback Slack and SNS simulators."""

from __future__ import annotations

import json

import pytest
import test_config
from test_config import invoke, write_toml

from poller.simulators.slack.simulator import SlackSimulator
from poller.simulators.sns.simulator import SnsSimulator

clean_env = pytest.fixture(test_config.clean_env.__wrapped__)  # the settings tests' own: nothing from this machine
SECRET_PATH = "/services/T0SECRET/B0SECRET/abcdefghijklmnopqrstuvwx"
BAD = [
    ({"POLLER_SINK_DEALS_WEBHOOK_URL": f"http://hooks.slack.example{SECRET_PATH}"},
     "", "POLLER_SINK_DEALS_WEBHOOK_URL: plain http would send the webhook's secret"),
    ({"POLLER_SINK_DEALS_WEBHOOK_URL": f"hooks.slack.com{SECRET_PATH}"}, "",
     "POLLER_SINK_DEALS_WEBHOOK_URL: not an http(s) URL (the value is not shown: it is a secret)"),
    ({"POLLER_SINK_EVENTS_TOPIC_ARN": "arn:aws:sqs:us-east-1:123456789012:q"}, "",
     "POLLER_SINK_EVENTS_TOPIC_ARN: 'arn:aws:sqs:us-east-1:123456789012:q' is not an SNS topic ARN"),
    ({"POLLER_SINK_DEALS_WEBHOOK_URL": f"https://hooks.slack.com{SECRET_PATH}", "POLLER_SINK_DEALS_KINDS": "approved"},
     "", "POLLER_SINK_DEALS_KINDS: unknown event kind 'approved'"),
    ({"POLLER_SINK_DEALS_WEBHOOK_URL": f"https://hooks.slack.com{SECRET_PATH}",
      "POLLER_SINK_DEALS_MIN_PRIORITY": "urgent"}, "", "POLLER_SINK_DEALS_MIN_PRIORITY: expected one of HIGH, MEDIUM"),
    ({"POLLER_SINK_DEALS_WEBHOOK_URL": f"https://hooks.slack.com{SECRET_PATH}",
      "POLLER_SINK_DEALS_OWNERS": "alice@partner.example"}, "", "POLLER_SINK_DEALS_OWNERS: 'alice@partner.example'"),
    ({"POLLER_SINK_DEALS_WEBHOOK": "x"}, "", "POLLER_SINK_DEALS_WEBHOOK: not a sink setting"),
    ({"POLLER_SINK_DEALS_KINDS": "review_approved"}, "",
     "sinks.deals.type: expected one of slack, sns (or set webhook_url for Slack, topic_arn for SNS)"),
    ({}, '[sinks.deals]\ntype = "slack"\n', "sinks.deals.webhook_url: not set (in the [sinks.deals] table or "
                                            "POLLER_SINK_DEALS_WEBHOOK_URL)"),
    ({}, '[sinks.deals]\ntype = "slack"\ntopic_arn = "arn:aws:sns:us-east-1:123456789012:t"\n',
     "sinks.deals.topic_arn: a slack sink has no topic_arn (it takes webhook_url)"),
    ({}, '[sinks.deals]\nwebhook_url = "https://hooks.slack.com/x"\nchannel = "#deals"\n',
     "sinks.deals.channel: unknown sink setting"),
    ({}, '[sinks.hubspot]\nwebhook_url = "https://hooks.slack.com/x"\n', "sinks.hubspot: the name is the default sink"),
    ({}, '[sinks.Deals-Channel]\nwebhook_url = "https://hooks.slack.com/x"\n', "sinks.Deals-Channel: the name must"),
    ({}, "sinks = 3\n", "sinks: expected tables [sinks.NAME] in poller.toml"),
    ({}, 'hubspot_deal_url = "https://app.hubspot.com/contacts/1/record/0-3/"\n', "hubspot_deal_url: "),
]


@pytest.mark.parametrize(("env", "toml", "message"), BAD)
def test_a_bad_sink_setting_is_one_line_naming_it_never_the_webhook(clean_env, monkeypatch, env, toml, message):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test-token")
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    if toml.startswith(("[", "sinks", "hubspot")):
        write_toml(clean_env, toml)
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {message}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert "SECRET" not in result.output


def test_config_show_and_sinks_list_never_print_the_webhook(clean_env, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test-token")
    monkeypatch.setenv("POLLER_SINK_DEALS_WEBHOOK_URL", f"https://hooks.slack.com{SECRET_PATH}")
    monkeypatch.setenv("POLLER_SINK_DEALS_MIN_PRIORITY", "high")
    write_toml(clean_env, '[sinks.events]\ntopic_arn = "arn:aws:sns:eu-west-1:123456789012:poller-events.fifo"\n'
                          'kinds = ["review_approved", "conflict_detected"]\nowners = [101, "102"]\n')

    shown = invoke("config", "show", "--json")
    listed = invoke("sinks", "list")
    checked = invoke("config", "check", "--offline")

    assert shown.exit_code == listed.exit_code == checked.exit_code == 0, shown.output + listed.output
    (row,) = [r for r in json.loads(shown.stdout) if r["setting"] == "sinks"]
    assert row["value"] == [
        {"name": "deals", "type": "slack", "webhook_url": "*** (set)", "kinds": "all", "min_priority": "HIGH",
         "owners": "all"},
        {"name": "events", "type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:poller-events.fifo",
         "kinds": ["review_approved", "conflict_detected"], "min_priority": "LOW", "owners": ["101", "102"]}]
    assert row["source"] == "env POLLER_SINK_* and file poller.toml"
    assert "poller-events.fifo" in listed.stdout and "webhook (set)" in listed.stdout
    assert "poller sinks test deals sends a sample" in checked.stdout
    for result in (shown, listed, checked):
        assert "SECRET" not in result.output and "hooks.slack.com" not in result.output


@pytest.fixture
def sinks_env(clean_env, monkeypatch, aws_env):
    with SlackSimulator() as slack, SnsSimulator() as sns:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns.url)
        monkeypatch.setenv("POLLER_RETRY_ATTEMPTS", "1")
        yield slack, sns


def test_sinks_test_sends_one_sample_and_says_what_came_back(sinks_env, monkeypatch):
    slack, sns = sinks_env
    webhook, topic = slack.add_webhook(), sns.create_topic("poller-events.fifo")
    monkeypatch.setenv("POLLER_SINK_DEALS_WEBHOOK_URL", webhook)
    monkeypatch.setenv("POLLER_SINK_EVENTS_TOPIC_ARN", topic)

    to_slack, to_sns = invoke("sinks", "test", "deals"), invoke("sinks", "test", "events")

    assert (to_slack.exit_code, to_slack.stdout) == (0, "OK deals (slack): test message delivered (ok)\n")
    assert to_sns.exit_code == 0 and to_sns.stdout.startswith("OK events (sns): test message delivered (message id ")
    (posted,) = slack.posted()
    assert posted.payload["blocks"][0]["text"]["text"] == "🧪 Test message from poller"
    (published,) = sns.messages()
    assert published.attributes["kind"] == "test" and published.subject == "Test message from poller: sink events"

    slack.archive_channel(webhook)
    sns.delete_topic(topic)
    refused, missing = invoke("sinks", "test", "deals"), invoke("sinks", "test", "events")
    assert refused.exit_code == 1 and refused.stderr == (
        "FAIL deals (slack): not delivered: Slack (deals): Slack refused the webhook: 410 channel_is_archived; fix "
        "its webhook_url\n")
    assert missing.exit_code == 1 and "FAIL events (sns): not delivered: SNS (events): NotFound: Topic does not " \
                                      "exist" in missing.stderr

    unknown, default = invoke("sinks", "test", "dealz"), invoke("sinks", "test", "hubspot")
    assert unknown.exit_code == default.exit_code == 2
    assert unknown.stderr == "Error: no sink named 'dealz'; sinks: deals, events\n"
    assert "the default sink" in default.stderr
    for result in (to_slack, refused, unknown):
        assert webhook.rsplit("/", 1)[1] not in result.output
    assert len(slack.posted()) == 1  # nothing more than the one sample
