"""`python bench/soak.py …`: run the soak from the command line and print its table (or JSON)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from soak.faults import RATES
from soak.harness import SoakConfig, run_soak
from soak.procs import PLANTS

# The variant the test suite runs (tests/test_soak.py): a week, 200 opportunities (half of the approved ones closed,
# so the sweep, which reads every open one hourly, costs less), three times the month's change rate so that every
# kind of change happens.
CI = {"days": 7.0, "opportunities": 200, "intensity": 3.0, "closed_share": 0.5, "fault_rates": (("kill", 1.0),)}


def config_from(argv: list[str]) -> tuple[SoakConfig, bool]:
    parser = argparse.ArgumentParser(prog="python bench/soak.py", description=__doc__)
    parser.add_argument("--days", type=float, default=30.0, help="simulated days of changes after the baseline")
    parser.add_argument("--opportunities", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ci", action="store_true", help=f"the CI variant: {CI}")
    parser.add_argument("--drain", type=float, default=4.0, help="simulated hours of quiet after the changes stop")
    parser.add_argument("--intensity", type=float, default=1.0, help="× every change rate")
    parser.add_argument("--closed-share", type=float, default=0.0,
                        help="close this share of the approved opportunities in the starting portfolio")
    parser.add_argument("--without", default="", help=f"faults to leave out, comma-separated ({', '.join(RATES)})")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME=PER_DAY",
                        help="change one fault's rate per simulated day, e.g. late_commit=12")
    parser.add_argument("--pc-daily-budget", type=int, default=50_000,
                        help="poller's Partner Central reads per rolling 24 h (POLLER_PC_DAILY_BUDGET)")
    parser.add_argument("--sweep-period", type=float, default=1.0,
                        help="hours between two reads of an open opportunity's AWS summary (POLLER_SWEEP_PERIOD)")
    parser.add_argument("--workdir", type=Path, help="keep the state database and logs here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    plant = os.environ.get("SOAK_PLANT") or None
    if plant and plant not in PLANTS:
        parser.error(f"SOAK_PLANT: unknown defect {plant!r} (known: {', '.join(PLANTS)})")
    without = {name.strip() for name in args.without.split(",") if name.strip()}
    if without - set(RATES):
        parser.error(f"--without: unknown fault(s) {sorted(without - set(RATES))}")
    rates = []
    for item in args.fault:
        name, _, rate = item.partition("=")
        if name not in RATES:
            parser.error(f"--fault: unknown fault {name!r} (known: {', '.join(RATES)})")
        try:
            rates.append((name, float(rate)))
        except ValueError:
            parser.error(f"--fault {item}: the rate is not a number")
    parser_sizes = {"days": args.days, "opportunities": args.opportunities, "intensity": args.intensity,
                    "closed_share": args.closed_share}
    sizes = dict(CI) if args.ci else parser_sizes
    rates = [*sizes.pop("fault_rates", ()), *rates]
    config = SoakConfig(**sizes, seed=args.seed, drain=dt.timedelta(hours=args.drain), workdir=args.workdir,
                        faults=frozenset(set(RATES) - without), fault_rates=tuple(dict(rates).items()), plant=plant,
                        pc_daily_budget=args.pc_daily_budget, sweep_hours=args.sweep_period,
                        progress=not args.quiet)
    return config, args.json


def command(config: SoakConfig) -> str:
    """The one command that reproduces a run."""
    plant = f"SOAK_PLANT={config.plant} " if config.plant else ""
    extra = "".join(f" --fault {name}={rate:g}" for name, rate in config.fault_rates)
    extra += f" --pc-daily-budget {config.pc_daily_budget}" if config.pc_daily_budget != 50_000 else ""
    extra += f" --sweep-period {config.sweep_hours:g}" if config.sweep_hours != 1.0 else ""
    without = sorted(set(RATES) - config.faults)
    extra += f" --without {','.join(without)}" if without else ""
    extra += f" --drain {config.drain / dt.timedelta(hours=1):g}" if config.drain != dt.timedelta(hours=4) else ""
    return (f"{plant}python bench/soak.py --days {config.days:g} --opportunities {config.opportunities} "
            f"--intensity {config.intensity:g} --closed-share {config.closed_share:g} --seed {config.seed}{extra}")


def main(argv: list[str]) -> int:
    config, as_json = config_from(argv)
    report = run_soak(config)
    if as_json:
        print(json.dumps({**report.summary(), "failures": report.failures(), "command": command(config)},
                         indent=2, default=str))
    else:
        failures = report.failures()
        text = (f"{report.table()}\n\nreproduce: {command(config)}\n"
                + "invariants: " + ("all hold" if not failures else "BROKEN\n  " + "\n  ".join(failures)))
        (report.workdir / "report.txt").write_text(text + "\n")
        print(text)
    return 1 if report.failures() else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
