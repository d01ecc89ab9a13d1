"""Benchmark of the funding pass (Partner Central Benefits): prints figures, asserts nothing (see bench/README.md).

    python bench/bench_funding.py                # 1,000 and 5,000 benefit applications
    python bench/bench_funding.py --sizes 200    # any sizes

The Benefits list has no time filter, so each pass reads every application (and every ACTIVE allocation): this
prints the reads per pass, the reads per day at the default period (1 h) against the default budget (2,000), and
the pass's wall time, with the real boto3 client against the loopback Benefits simulator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from poller.app import build_app  # noqa: E402
from poller.config import Settings  # noqa: E402
from poller.run.cycle import run_cycle  # noqa: E402
from poller.simulators.benefits.records import opportunity_arn  # noqa: E402
from poller.simulators.benefits.simulator import BenefitsSimulator  # noqa: E402
from poller.simulators.partner_central.simulator import PartnerCentralSimulator  # noqa: E402

DAY = 24


def measure(size: int, work: Path) -> tuple[int, int, float]:
    """(applications, Benefits reads of one steady pass, its seconds) for `size` applications, a third allocated."""
    with PartnerCentralSimulator() as pc, BenefitsSimulator() as benefits:
        os.environ.update(AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING=pc.url,
                          AWS_ENDPOINT_URL_PARTNERCENTRAL_BENEFITS=benefits.url)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
        for n in range(size):
            app_id = benefits.put_application({"Name": f"MAP credits {n}", "Status": "APPROVED",
                                               "AssociatedResources": [opportunity_arn(f"O{1_000_000 + n}")]})
            if n % 3 == 0:
                benefits.put_allocation({"Name": f"credits {n}", "BenefitApplicationId": app_id,
                                         "ExpiresAt": expires})
        settings = Settings(db=str(work / f"funding-{size}.db"), benefits=True, benefits_period=0.0,
                            benefits_daily_budget=100_000, deliver=False)
        app = build_app(settings, pacing=False)
        run_cycle(app, deliver=False)  # the funding baseline
        benefits.reset_calls()
        started = time.perf_counter()
        run_cycle(app, deliver=False)
        seconds = time.perf_counter() - started
        reads = sum(benefits.operation_counts().values())
        app.store.close()
    return size, reads, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000])
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    default = Settings()
    per_day = round(DAY * 3600 / default.benefits_period)
    print(f"funding pass: reads per pass, and per day at one pass per {default.benefits_period / 3600:g} h "
          f"(budget {default.benefits_daily_budget:,} reads per rolling 24 h)")
    print(f"{'applications':>12}  {'reads/pass':>10}  {'reads/day':>9}  {'of budget':>9}  {'pass s':>7}")
    with tempfile.TemporaryDirectory() as work:
        for size in args.sizes:
            applications, reads, seconds = measure(size, Path(work))
            daily = reads * per_day
            print(f"{applications:>12,}  {reads:>10,}  {daily:>9,}  {daily / default.benefits_daily_budget:>8.0%}  "
                  f"{seconds:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
