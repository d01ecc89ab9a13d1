"""Benchmark of EventBridge latency: change in Partner Central → task in HubSpot, on a simulated clock.

Both simulators on loopback, the real boto3 and hubspot-api-client, N opportunities with a recorded baseline. Then
K changes (review status, engagement score, an AWS seller, AWS products; rotating), each at a random instant of a
simulated day, handled two ways:

- event: each change's EventBridge event reaches `poller.eventbridge.handle` after --eventbridge-delay (simulated;
  AWS publishes no figure, best-effort delivery is usually well under a second), which re-reads the opportunity and
  delivers in the same invocation. The handler's own time is measured (wall clock) and added to the simulated clock.
- poll: the same changes found by a daemon cycle every --every (simulated): a change that moves LastModifiedDate waits
  for the next tick, then the cycle's own measured time. Half of them (score, AWS team) change only the AWS summary:
  the listing cannot see those, the sweep finds them within `sweep_period` (1 h by default) instead.

The HubSpot request budget and the simulated portal allow HubSpot's highest limit (250 / 10 s): at a few dozen events
a day no budget binds,
while back to back (as the benchmark replays a day in seconds) the default 50 / 10 s would pace the handler.

    python bench/bench_event_latency.py                  # 200 opportunities, 40 changes
    python bench/bench_event_latency.py --changes 100 --every 300 --eventbridge-delay 1

It prints figures and asserts nothing; it is not part of pytest.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}


def event(opportunity_id: str, n: int) -> dict[str, Any]:
    return {"version": "1", "id": f"bench-{n}", "detail-type": "Opportunity Updated",
            "source": "aws.partnercentral-selling", "account": "123456789012", "time": "2026-03-02T09:00:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {"schemaVersion": "1", "catalog": "AWS", "opportunity": {"identifier": opportunity_id}}}


def change(pc: Any, opportunity_id: str, n: int) -> None:
    from poller.simulators.portfolio import person

    kind = n % 4
    if kind == 0:
        pc.update_opportunity(opportunity_id, {"LifeCycle": {"ReviewStatus": "Action Required",
                                                              "ReviewComments": f"Change {n}"}})
    elif kind == 1:
        pc.update_aws_summary(opportunity_id, {"Insights": {"EngagementScore": "High"}})
    elif kind == 2:
        team = pc.aws_summary(opportunity_id)["OpportunityTeam"]
        pc.update_aws_summary(opportunity_id, {"OpportunityTeam": [*team, person("Ada", f"Bench{n}", "AWSSalesRep")]})
    else:
        pc.update_aws_summary(opportunity_id, {"RelatedEntityIds": {"AwsProducts": ["AmazonS3", f"Bench{n}"]}},
                              touch=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opportunities", type=int, default=200)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--every", type=float, default=300.0, help="daemon interval, seconds (default 5 min)")
    parser.add_argument("--eventbridge-delay", type=float, default=1.0, help="simulated delivery delay, seconds")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    os.environ.update(AWS_ENV)
    logging.basicConfig(level=logging.WARNING)

    from poller.app import build_app
    from poller.config import load_settings
    from poller.eventbridge import handle
    from poller.run.cycle import run_cycle
    from poller.simulators.hubspot.simulator import HubSpotSimulator
    from poller.simulators.partner_central.simulator import PartnerCentralSimulator
    from poller.simulators.portfolio import opportunity_id, seed

    rng = random.Random(args.seed)
    day = 86_400.0
    moments = sorted(rng.uniform(0, day) for _ in range(args.changes))  # when each change happens (simulated)
    targets = rng.sample(range(args.opportunities), args.changes)
    with tempfile.TemporaryDirectory() as work, PartnerCentralSimulator() as pc, \
            HubSpotSimulator(rate_limit=250) as hub:
        os.environ["AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING"] = pc.url
        seed(pc, hub, args.opportunities)
        apps = {}
        for name in ("event", "poll"):
            settings = load_settings(environ={"POLLER_DB": str(Path(work) / f"{name}.db"),
                                              "HUBSPOT_ACCESS_TOKEN": "sim-token", "HUBSPOT_BASE_URL": hub.url,
                                              "POLLER_FALLBACK_OWNER_ID": "190", "POLLER_SWEEP_PERIOD": "1d",
                                              "POLLER_HUBSPOT_REQUESTS_PER_10S": "250"})
            apps[name] = build_app(settings, pacing=False)
            run_cycle(apps[name])  # baseline

        # event: change, the event arrives, the handler re-reads and delivers
        event_latency, handler_times, calls = [], [], []
        tasks = len(hub.tasks())
        for n, target in enumerate(targets):
            oid = opportunity_id(target)
            change(pc, oid, n)
            pc.reset_calls()
            hub.reset_calls()
            started = time.perf_counter()
            summary = handle(apps["event"], event(oid, n))
            took = time.perf_counter() - started
            assert summary["delivered"] >= 1, summary  # the notification arrived in this invocation
            handler_times.append(took)
            event_latency.append(args.eventbridge_delay + took)
            calls.append((sum(pc.operation_counts().values()), len(hub.calls)))
        event_tasks = len(hub.tasks()) - tasks

        # poll: the same changes (already in the simulator) found by the next daemon tick; one cycle measured
        started = time.perf_counter()
        result = run_cycle(apps["poll"])
        cycle_time = time.perf_counter() - started
        # only the changes that move LastModifiedDate (review status, products with touch): the others wait for a sweep
        poll_latency = [(args.every - (moment % args.every)) + cycle_time for n, moment in enumerate(moments)
                        if n % 4 in (0, 3)]

    print(f"{args.changes} changes on {args.opportunities} opportunities; EventBridge delay {args.eventbridge_delay:g} s "
          f"(simulated), daemon every {args.every:g} s")
    print(f"{'path':<8}{'median':>10}{'p95':>10}{'max':>10}   notes")
    print(f"{'event':<8}{statistics.median(event_latency):>9.2f}s{percentile(event_latency, .95):>9.2f}s"
          f"{max(event_latency):>9.2f}s   handler {statistics.median(handler_times) * 1000:.0f} ms median "
          f"(p95 {percentile(handler_times, .95) * 1000:.0f} ms); {event_tasks} tasks; per event "
          f"{statistics.median(c[0] for c in calls):.0f} Partner Central reads, "
          f"{statistics.median(c[1] for c in calls):.0f} HubSpot calls (median)")
    print(f"{'poll':<8}{statistics.median(poll_latency):>9.1f}s{percentile(poll_latency, .95):>9.1f}s"
          f"{max(poll_latency):>9.1f}s   the {len(poll_latency)} changes that move LastModifiedDate; one cycle: "
          f"{cycle_time:.2f} s, {result.summary['delivered']} delivered; the other {args.changes - len(poll_latency)} "
          "(score, AWS team) wait for the sweep (sweep_period, 1 h by default)")


if __name__ == "__main__":
    main()
