"""The poller processes the harness starts: a long-lived daemon (run_cycle per command) and `poller run` to kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

TESTS = Path(__file__).resolve().parents[1]  # tests/: where the `soak` package lives
TOKEN = "soak-token"
# SOAK_PLANT=<name> plants a known defect in the poller processes (and nowhere else), to show the soak catches it.
PLANTS = {
    "resend_unknown": "an uncertain send is resent without being looked up (duplicates with the same event key)",
    "no_lookback": "the listing has no lookback overlap (records at the cursor or dated slightly back are missed)",
}


def child_env(workdir: Path, pc_url: str, hub_url: str, plant: str | None,
              settings: dict[str, str] | None = None) -> dict[str, str]:
    """Configuration through the environment only, as cron or ECS would give it; nothing from this machine's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POLLER_", "HUBSPOT_", "AWS_", "SOAK_")) or k == "SOAK_PROFILE"}
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p),
        "POLLER_DB": str(workdir / "poller.db"), "HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_BASE_URL": hub_url,
        "AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING": pc_url, "AWS_ACCESS_KEY_ID": "soak",
        "AWS_SECRET_ACCESS_KEY": "soak-secret", "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
        "POLLER_FALLBACK_OWNER_ID": "190", "PYTHONHASHSEED": "0",
        # The truth models transitions, not time-based reminders (an invitation 48 h before expiry, an opportunity
        # 3 days at Action Required): those are tested in tests/test_reminders.py; here they would read as spurious.
        "POLLER_MUTED_KINDS": "invitation_expiring,action_required_overdue", **(settings or {}),
    })
    if plant:
        env["SOAK_PLANT"] = plant
        if plant == "no_lookback":
            env["POLLER_LOOKBACK"] = "0s"
    return env


class Daemon:
    """`python -m soak.child daemon`: one App for the whole soak, like `poller daemon`; a cycle per request."""

    def __init__(self, workdir: Path, env: dict[str, str], seed: int):
        self.log: IO[str] = (workdir / "daemon.log").open("a")
        self.env, self.workdir, self.seed = env, workdir, seed
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "soak.child", "daemon", "--clock", str(self.workdir / "clock"),
                 "--seed", str(self.seed)], env=self.env, cwd=self.workdir, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self.log, text=True)
        return self.proc

    def cycle(self) -> dict[str, Any]:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write('{"cmd": "cycle"}\n')
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            code = proc.wait()
            raise RuntimeError(f"the poller daemon process died (exit {code}); see {self.workdir / 'daemon.log'}")
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"cmd": "exit"}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.log.close()


class KillRun:
    """`poller run` through its CLI in a fresh process, SIGKILLed at the k-th call it makes to either simulator."""

    def __init__(self, workdir: Path, env: dict[str, str], seed: int, kill_at: int):
        self.workdir, self.env, self.seed, self.kill_at = workdir, env, seed, kill_at
        self.calls = 0
        self.killed = False
        self.proc: subprocess.Popen[str] | None = None

    def hook(self, *_args: object) -> bool:
        """For the simulators' on_call / on_request hooks: kill the job, wait until it is gone, drop the call."""
        self.calls += 1
        if self.calls != self.kill_at or self.proc is None:
            return False
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)  # gone before the connection drops, or it would see the drop and carry on
        with (self.workdir / "kill-runs.log").open("a") as log:
            log.write(f"KILLED pid {self.proc.pid} at call {self.calls}: {_args!r}"[:300] + "\n")
        return True

    def run(self) -> int:
        with (self.workdir / "kill-runs.log").open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "soak.child", "run", "--clock", str(self.workdir / "clock"),
                 "--seed", str(self.seed)], env=self.env, cwd=self.workdir, stdout=log, stderr=log, text=True)
            code = self.proc.wait(timeout=600)
        self.killed = code == -signal.SIGKILL
        return code
