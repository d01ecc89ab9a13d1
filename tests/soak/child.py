"""The poller side of the soak, in its own process: a daemon-like loop of run_cycle, or one `poller run` to kill.

Virtual time: freezegun starts *before* poller is imported and time.sleep becomes a virtual sleep. So every clock
poller reads (datetime.now, time.time, time.monotonic, also those bound as default arguments at import time, such
as RateGate's, HubSpotBudget's and the run's Limits) is the virtual one, and every wait (Partner Central pacing,
the HubSpot token bucket, tenacity's backoff) moves the virtual clock instead of the wall clock. Each move is
written to the SharedClock, so the simulators in the harness process stamp calls with the poller's own time.

    python -m soak.child daemon --clock FILE --seed N    # JSON commands on stdin: {"cmd": "cycle"} / {"cmd": "exit"}
    python -m soak.child run --clock FILE --seed N       # `poller run` at the clock's instant (the kill runs)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from soak.clock import SharedClock


def install_virtual_time(clock: SharedClock) -> Any:
    """Freeze time at the shared clock's instant; sleeping ticks it. Call before importing poller."""
    import freezegun

    # Nothing in these processes needs the real time, so skip freezegun's per-call stack inspection.
    freezegun.configure(default_ignore_list=[])
    frozen = freezegun.freeze_time(clock.now()).start()

    def sleep(seconds: float) -> None:
        if seconds and seconds > 0:
            # Whole microseconds, rounded up: a real sleep never ends early, and a 0.2 s pacing gap rounded down to
            # 0.199999 s would put six calls in one second.
            frozen.tick(dt.timedelta(microseconds=math.ceil(seconds * 1_000_000)))
            clock.set(virtual_now(frozen))

    time.sleep = sleep
    return frozen


def virtual_now(frozen: Any) -> float:
    return frozen.time_to_freeze.replace(tzinfo=dt.UTC).timestamp()


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # pragma: no cover - not Linux


def plant(name: str | None) -> None:
    """SOAK_PLANT: put a known defect into this poller process, so a test can show the soak reports it."""
    if not name or name == "no_lookback":  # no_lookback is a setting (POLLER_LOOKBACK=0s), set by the harness
        return
    if name != "resend_unknown":
        raise SystemExit(f"SOAK_PLANT: unknown defect {name!r}")
    from poller.hubspot.sink import HubSpotSink

    if not hasattr(HubSpotSink, "find_by_keys"):
        raise SystemExit("SOAK_PLANT=resend_unknown: HubSpotSink.find_by_keys is gone; update soak/child.py")

    def nothing_found(_sink: Any, _part: str, _rows: list[dict[str, Any]]) -> dict[str, str]:
        return {}  # "looked up, absent": resend at once

    HubSpotSink.find_by_keys = nothing_found  # type: ignore[method-assign]


def daemon(clock: SharedClock, frozen: Any) -> None:
    """One long-lived App, one run_cycle per command: what `poller daemon` does on each tick."""
    from poller import logs
    from poller.app import build_app
    from poller.config import load_settings
    from poller.run.cycle import run_cycle

    settings = load_settings()
    plant(os.environ.get("SOAK_PLANT"))
    logs.configure("text", logging.INFO, secrets=[settings.hubspot_access_token])
    app = build_app(settings)
    out = sys.stdout
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("cmd") != "cycle":
            break
        frozen.move_to(clock.now())
        result = run_cycle(app, mode="daemon")
        clock.set(virtual_now(frozen))
        summary = {k: v for k, v in result.summary.items() if k != "api_calls"}
        out.write(json.dumps({"status": result.status, "exit_code": result.exit_code, "summary": summary,
                              "rss_kb": rss_kb(), "end": clock.time()}, default=str) + "\n")
        out.flush()


def run_once() -> None:
    """`poller run` through its own command line, as cron starts it."""
    from poller.cli import cli

    plant(os.environ.get("SOAK_PLANT"))
    cli.main(args=["run"], prog_name="poller")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="soak.child")
    parser.add_argument("mode", choices=["daemon", "run"])
    parser.add_argument("--clock", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    clock = SharedClock(Path(args.clock))
    frozen = install_virtual_time(clock)
    random.seed(args.seed)  # tenacity's jitter: a seed replays the same waits
    if args.mode == "run":
        run_once()
    elif os.environ.get("SOAK_PROFILE"):  # where the daemon's time goes: python -m pstats FILE
        import cProfile

        cProfile.runctx("daemon(clock, frozen)", globals(), {"clock": clock, "frozen": frozen},
                        os.environ["SOAK_PROFILE"])
    else:
        daemon(clock, frozen)


if __name__ == "__main__":
    main()
