"""The soak: poller through a simulated month against both simulators, held against ground truth; prints the table.

    python bench/soak.py --days 30 --opportunities 3000 --seed 1     # the month (hours of wall time)
    python bench/soak.py --days 3 --opportunities 1000 --seed 1      # a quicker look
    python bench/soak.py --ci --seed 1                               # the variant tests/test_soak.py runs
    SOAK_PLANT=resend_unknown python bench/soak.py --ci --seed 1     # with a planted defect (see tests/soak/procs.py)

Exit status 0 when every invariant holds (0 missed, duplicated, wrong, spurious, budget overruns), else 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from soak.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
