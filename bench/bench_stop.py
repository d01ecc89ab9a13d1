"""How fast `poller run` and `poller daemon` stop on a signal mid-page, at the default pacing: prints figures.

A baseline of N opportunities is recorded in-process, then a page of them changes; the job (a real process, real
boto3 and hubspot-api-client against the loopback simulators, Partner Central paced at the default 5 reads/s) is
sent the signal at its 20th detail read. Printed: seconds from the signal to the exit, reads after the signal,
exit code, whether the lease was released. It asserts nothing and is not part of pytest.

    python bench/bench_stop.py
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from poller.app import build_app
from poller.config import load_settings
from poller.run.cycle import run_cycle
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.partner_central.simulator import PartnerCentralSimulator
from poller.simulators.portfolio import FALLBACK_OWNER, opportunity_id, seed

PAGE = 100
AT = 20
READS = ("GetOpportunity", "GetAwsOpportunitySummary")


def measure(command: list[str], signum: int) -> None:
    with tempfile.TemporaryDirectory() as work, PartnerCentralSimulator() as pc, \
            HubSpotSimulator(token="sim-token") as hub:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
               "AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING": pc.url, "POLLER_DB": str(Path(work) / "poller.db"),
               "HUBSPOT_ACCESS_TOKEN": "sim-token", "HUBSPOT_BASE_URL": hub.url,
               "POLLER_FALLBACK_OWNER_ID": FALLBACK_OWNER[0]}
        env.pop("POLLER_CONFIG", None)
        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                               "AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING")})
        seed(pc, hub, PAGE)
        run_cycle(build_app(load_settings(environ=env), pacing=False))
        for n in range(PAGE):
            pc.update_opportunity(opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})
        state = {"reads": 0, "after": 0, "sent": 0.0}
        proc = subprocess.Popen([sys.executable, "-m", "poller", *command], env=env, cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def hook(operation: str) -> bool:
            if operation in READS:
                state["reads"] += 1
                if state["reads"] == AT:
                    state["sent"] = time.monotonic()
                    os.kill(proc.pid, signum)
                elif state["reads"] > AT:
                    state["after"] += 1
            return False

        pc.on_call(hook)
        code = proc.wait(timeout=300)
        stopped = time.monotonic() - state["sent"]
        with sqlite3.connect(env["POLLER_DB"]) as conn:
            leases = conn.execute("SELECT count(*) FROM lease").fetchone()[0]
        print(f"{' '.join(command):<22} {signal.Signals(signum).name:<8} stopped {stopped:5.2f} s after the signal, "
              f"{state['after']} reads after it (of {2 * PAGE - AT} left in the page), exit {code}, "
              f"lease {'released' if leases == 0 else 'HELD'}")


if __name__ == "__main__":
    print(f"a page of {PAGE} changed opportunities at 5 Partner Central reads/s; the signal at read {AT}")
    measure(["run"], signal.SIGTERM)
    measure(["daemon", "--every", "1h"], signal.SIGTERM)
    measure(["daemon", "--every", "1h"], signal.SIGHUP)
