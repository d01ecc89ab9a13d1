"""The soak's CI variant: a simulated week of changes and faults, poller's real cycle against both simulators, held
against ground truth kept on the simulators' side (tests/soak/). See bench/soak.py for the month.

Each run is `python bench/soak.py … --json` in its own process; two run side by side (one per core).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
def start(seed: int, workdir: Path, *args: str, plant: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOAK_")}
    if plant:
        env["SOAK_PLANT"] = plant
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / "soak.py"), "--seed", str(seed), "--json",
                             "--quiet", "--workdir", str(workdir), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=900)
    assert out.strip().startswith("{"), f"the soak did not finish (exit {proc.returncode}):\n{err[-3000:]}"
    return json.loads(out)


@pytest.mark.slow
def test_a_simulated_week_keeps_every_invariant(tmp_path):
    """0 missed, 0 duplicated, 0 wrong, 0 spurious, 0 budget overruns: on seed 1, and on a random seed with every
    owner's notifications in hourly digests (each event reaches its owner alone or inside a digest, exactly once)."""
    seeds = [1, random.SystemRandom().randrange(2, 1_000_000)]
    print(f"soak seeds: {seeds} (the second with --digest 1h)")  # shown with a failure, so it can be replayed
    runs = [start(seed, tmp_path / f"seed-{seed}", "--ci", *(("--digest", "1h") if seed != 1 else ()))
            for seed in seeds]
    reports = [finish(run) for run in runs]
    broken = [f"seed {r['seed']}: {failure}  (reproduce: {r['command']})" for r in reports for failure in r["failures"]]
    assert not broken, "\n".join(broken)


@pytest.mark.slow
def test_the_soak_reports_a_planted_defect(tmp_path):
    """Issue 9, acceptance 1: plant a defect poller does not have (an uncertain send is resent without being looked
    up) and the soak reports the duplicates it causes; the same world without the plant has none."""
    args = ("--days", "2", "--opportunities", "100", "--intensity", "3", "--fault", "late_commit=24")
    planted, control = (start(5, tmp_path / name, *args, plant=plant)
                        for name, plant in (("planted", "resend_unknown"), ("control", None)))
    planted_report, control_report = finish(planted), finish(control)

    assert planted_report["duplicated (same event key)"] > 0, planted_report
    assert any(f.split(" ")[1] == "duplicated:" for f in planted_report["failures"]), planted_report["failures"]
    assert planted_report["command"].startswith("SOAK_PLANT=resend_unknown python bench/soak.py")
    assert control_report["duplicated (same event key)"] == 0, control_report
