"""Slack and SNS in the soak: their simulators, the routes poller is given, their faults, and what each received
held against the truth (missed, duplicated, spurious per sink; the tasks' own checks stay with HubSpot).

The Slack sink takes MEDIUM and HIGH notifications; the SNS sink, a FIFO topic, takes every one. Their faults are
the ones a sink answers without having delivered (429, 5xx, a dropped connection before Slack posted; SNS throttling,
an internal error, a failed entry) and, for SNS, a publish whose answer is lost: the FIFO topic's deduplication
makes that one exactly once too. A Slack post whose answer is lost is posted again by design (at least once), so
the soak does not inject it; nor do its kills land on these two (they hit Partner Central and HubSpot calls).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from poller.simulators.slack.simulator import SlackSimulator
from poller.simulators.sns.simulator import SnsSimulator
from soak.compare import Outcome, Sent, compare, event_labels
from soak.scripts import Streams
from soak.truth import Expected
from soak.world import World

SLACK_MIN = "MEDIUM"
RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}


class Sinks:
    def __init__(self, slack: SlackSimulator, sns: SnsSimulator, seed: int):
        self.slack, self.sns = slack, sns
        self.rng = random.Random(f"sinks {seed}")  # their own stream: the world draws from its own, as before
        self.webhook = slack.add_webhook()
        self.topic = sns.create_topic("poller-soak.fifo")

    def env(self) -> dict[str, str]:
        return {"POLLER_SINK_SLACK_WEBHOOK_URL": self.webhook, "POLLER_SINK_SLACK_MIN_PRIORITY": SLACK_MIN,
                "POLLER_SINK_SNS_TOPIC_ARN": self.topic, "AWS_ENDPOINT_URL_SNS": self.sns.url}

    # --- faults
    def arrivals(self, rates: dict[str, float], gap: dt.timedelta) -> list[str]:
        """Which sink faults happen in this gap: Poisson counts at per-day rates, from the sinks' own stream."""
        return Streams(None, self.rng).arrivals(rates, gap, 1)  # type: ignore[arg-type]  # arrivals needs no world

    def slack_fault(self) -> None:
        rng = self.rng
        times = rng.randint(1, 3)
        choice = rng.choice(["429", "5xx", "drop"])
        if choice == "429":
            self.slack.fail_next(429, "rate_limited", times=times)
        elif choice == "5xx":
            self.slack.fail_next(rng.choice([500, 503]), "rollup_error", times=times)
        else:
            self.slack.drop_before_post(times=times)

    def sns_fault(self) -> None:
        rng = self.rng
        choice = rng.choice(["throttled", "internal", "entry", "lost_answer"])
        if choice == "throttled":
            self.sns.fail_next("Throttled", 429, times=rng.randint(1, 3))
        elif choice == "internal":
            self.sns.fail_next("InternalError", 500, times=rng.randint(1, 2))
        elif choice == "entry":
            self.sns.fail_entries("InternalError", times=rng.randint(1, 3))
        else:
            self.sns.publish_then_drop()

    # --- what each received
    def received(self, db: Path) -> dict[str, list[Sent]]:
        labels = event_labels(db)
        slack = []
        for post in self.slack.posted(self.webhook):
            key = post.payload["blocks"][-1]["elements"][0]["text"].rsplit("Ref: ", 1)[-1]
            slack.append(_sent(key, labels, post.at, post.payload.get("text") or ""))
        sns = [_sent(m.attributes.get("event_key", "?"), labels, m.at, m.subject or "") for m in self.sns.messages()]
        return {"slack": slack, "sns": sns}

    def compare(self, expected: list[Expected], db: Path, world: World) -> dict[str, Outcome]:
        received = self.received(db)
        wanted = {"slack": [e for e in expected if RANK.get(e.priority, 0) >= RANK[SLACK_MIN]], "sns": expected}
        return {name: compare(wanted[name], received[name], world, check=False) for name in received}


def _sent(key: str, labels: dict[str, tuple[str, str]], at: float, title: str) -> Sent:
    kind, subject = labels.get(key, ("(unknown)", "(unknown)"))
    return Sent(key=key, kind=kind, subject=subject, task_id=key, owner=None, priority=None, due=None,
                created=dt.datetime.fromtimestamp(at, dt.UTC), deal=None, title=title, body="")
