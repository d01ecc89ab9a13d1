"""`python -m poller` runs the command line."""

import sys
from pathlib import Path

# `python -m` puts the working directory first on sys.path. There, the default database folder `state/` (no
# __init__.py) would shadow the installed `state` package as an empty namespace package: drop that entry.
if sys.path and Path(sys.path[0] or ".", "state").is_dir() and not Path(sys.path[0] or ".", "state", "__init__.py").exists():
    sys.path.pop(0)

from poller.cli import cli  # noqa: E402

cli()
