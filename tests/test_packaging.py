"""The Dockerfile and crontab, exercised without Docker: the image's install and command lines, run in a fresh venv.

The build context is copied the way the Dockerfile's COPY lines say (minus .dockerignore), installed with the
Dockerfile's own `pip install` line into a new virtual environment (a path file lends it the dependencies installed
in the environment running the tests, never the machine's global ones, so no download is needed; `--no-deps` keeps
pip from resolving them again), and the
crontab's command and the image's ENTRYPOINT + CMD are run from that environment against the simulators.
Every command's --help carries an example, and the README mentions every command.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.simulators.portfolio import opportunity_id, seed

REPO = Path(__file__).resolve().parents[1]


# --- reading the Dockerfile and the crontab


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


def dockerfile() -> list[tuple[str, str]]:
    return instructions(REPO / "Dockerfile")


def args_of(keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile() if kw == keyword]


def exec_form(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list), f"{text} should be in exec form (a JSON list)"
    return value


def crontab_lines() -> list[tuple[str, list[str]]]:
    """(schedule, command argv) for every job line of the crontab."""
    jobs = []
    for raw in (REPO / "crontab").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 5)
        jobs.append((" ".join(fields[:5]), shlex.split(fields[5])))
    return jobs


def test_the_image_is_slim_runs_as_a_non_root_user_and_keeps_state_on_a_volume():
    (base,) = args_of("FROM")
    assert base == "python:3.11-slim"
    users = args_of("USER")
    assert users and users[-1] not in ("root", "0")
    assert any("--uid" in run and users[-1] in run for run in args_of("RUN"))  # the user is created
    env = " ".join(args_of("ENV"))
    assert "POLLER_DB=/app/state/poller.db" in env
    assert "/app/state" in exec_form(args_of("VOLUME")[-1])
    assert exec_form(args_of("ENTRYPOINT")[-1]) == ["poller"]
    assert exec_form(args_of("CMD")[-1]) == ["run"]
    # The state folder is private (the database holds personal data); poller itself stops on SIGTERM as PID 1.
    assert any("chmod 700 /app/state" in run and f"chown {users[-1]}" in run for run in args_of("RUN"))
    assert args_of("STOPSIGNAL") == ["SIGTERM"]
    for copy in args_of("COPY"):
        for source in shlex.split(copy)[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"


def test_the_crontab_runs_one_cycle_every_five_minutes_and_a_prune_once_a_day_with_json_logs():
    (schedule, argv), (daily, prune) = crontab_lines()
    assert schedule == "*/5 * * * *"
    assert argv[0] == "poller" and argv[-1] == "run"
    assert daily.split()[2:] == ["*", "*", "*"] and all(f.isdigit() for f in daily.split()[:2])  # once a day
    assert prune[0] == "poller" and prune[-1] == "prune"
    for line in (argv, prune):
        result = CliRunner().invoke(cli, [*line[1:], "--help"])  # the line parses as a command line of this CLI
        assert result.exit_code == 0, result.output
        assert "json" in line


# --- the same install and command lines, in a fresh virtual environment


def build_context(tmp_path: Path) -> Path:
    """Copy what the Dockerfile COPYs into its build directory (the WORKDIR before `pip install`)."""
    ignore = [p.strip() for p in (REPO / ".dockerignore").read_text().splitlines()
              if p.strip() and not p.startswith("#")] if (REPO / ".dockerignore").exists() else []

    def ignored(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.removeprefix("**/"))
                   or fnmatch.fnmatch(Path(rel).name, p.removeprefix("**/")) for p in ignore)

    context = tmp_path / "src"
    context.mkdir()
    for keyword, rest in dockerfile():
        if keyword == "RUN" and "pip install" in rest:
            break
        if keyword != "COPY":
            continue
        *sources, dest = shlex.split(rest)
        for source in sources:
            origin = REPO / source
            assert origin.exists(), f"COPY {source}: not in the repository"
            target = context / dest / origin.name if dest.endswith("/") or len(sources) > 1 else context / dest
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=lambda d, names: [
                    n for n in names if ignored(str((Path(d) / n).relative_to(REPO)))])
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    return context


def pip_install_line() -> list[str]:
    (line,) = [rest for kw, rest in dockerfile() if kw == "RUN" and rest.startswith("pip install")]
    argv = shlex.split(line.split("&&")[0])
    assert argv[:2] == ["pip", "install"] and "." in argv
    return argv[2:]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("image")
    context = build_context(root)
    env_dir = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    # The image's dependencies come from the environment running these tests (the project's venv in CI), never from
    # the machine's global site-packages: a path file appends that environment's site-packages after the new venv's
    # own, so the package installed below is found first and the dependencies without a download.
    purelib = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(purelib) / "_poller_test_deps.pth").write_text("".join(f"{p}\n" for p in ours))
    offline = ["--no-build-isolation"] if _has("wheel") else []  # else pip fetches setuptools+wheel to build
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                           *pip_install_line(), "--no-deps", *offline], cwd=context, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return env_dir


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _env(tmp_path: Path, pc_sim, hub_sim) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLLER_", "HUBSPOT_"))}
    for assignment in shlex.split(" ".join(args_of("ENV"))):  # the image's ENV, with its paths under tmp
        name, _, value = assignment.partition("=")
        env[name] = value.replace("/app/", f"{tmp_path}/app/")
    env.update(HUBSPOT_ACCESS_TOKEN="sim-token", HUBSPOT_BASE_URL=hub_sim.url, POLLER_FALLBACK_OWNER_ID="190",
               POLLER_PC_REQUESTS_PER_SECOND="10", AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING=pc_sim.url)
    return env


@pytest.mark.slow
def test_the_installed_package_is_the_one_in_the_venv(venv, tmp_path):
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import poller, poller.store; print(poller.__file__);"
                          "print(poller.store.__file__)"], cwd=tmp_path, capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        assert Path(line).is_relative_to(venv), line
    for args in (["--help"], ["run", "--help"], ["--version"]):
        assert subprocess.run([str(venv / "bin" / "poller"), *args], capture_output=True).returncode == 0, args


@pytest.mark.slow
def test_the_crontab_line_and_the_image_command_run_a_cycle_from_the_venv(venv, tmp_path, pc_sim, hub_sim):
    seed(pc_sim, hub_sim, 3)
    env = _env(tmp_path, pc_sim, hub_sim)
    (state_dir,) = [Path(v).parent for k, v in (a.partition("=")[::2] for a in shlex.split(" ".join(args_of("ENV"))))
                    if k == "POLLER_DB"]
    assert env["POLLER_DB"].startswith(str(tmp_path))
    (_schedule, argv), _prune = crontab_lines()
    command = [str(venv / "bin" / argv[0]), *argv[1:]]

    baseline = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert baseline.returncode == 0, baseline.stderr
    logs = [json.loads(line) for line in baseline.stderr.splitlines()]  # every log line is JSON (CloudWatch)
    assert any("silent baseline" in entry["message"] for entry in logs)
    assert Path(env["POLLER_DB"]).exists() and state_dir == Path("/app/state")

    pc_sim.update_opportunity(opportunity_id(1), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    entrypoint = [str(venv / "bin" / exec_form(args_of("ENTRYPOINT")[-1])[0]), *exec_form(args_of("CMD")[-1])]
    cycle = subprocess.run(entrypoint, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert cycle.returncode == 0, cycle.stderr
    assert "1 delivered" in cycle.stdout
    assert [t["properties"]["hs_task_subject"][0] for t in hub_sim.tasks()] == ["⚠"]


# --- every command documents itself, and the README mentions it


def command_paths(command: click.Command = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            paths += command_paths(sub, (*path, name))
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(("poller", *p)))
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"poller {' '.join(path)} --help has no Example: block"
    example = result.output.split("Example", 1)[1]
    assert "poller" in example and (not path or path[-1] in example)


@pytest.mark.parametrize("path", [p for p in command_paths() if p], ids=lambda p: " ".join(("poller", *p)))
def test_the_readme_mentions_every_command(path):
    readme = REPO / "README.md"
    if not readme.exists():
        pytest.skip("README.md does not exist yet (the lead writes it)")
    option = r"(?:\s+-{1,2}[\w-]+(?:[ =](?!-)\S+)?)*"  # global options may sit between `poller` and the command
    pattern = re.compile(r"poller" + option + r"\s+" + r"\s+".join(map(re.escape, path)) + r"\b")
    assert pattern.search(readme.read_text()), f"README.md never shows `poller {' '.join(path)}`"


def test_python_m_poller_works_beside_a_state_folder_of_databases(tmp_path):
    """The default database folder ./state/ must not shadow the `state` package under `python -m poller`."""
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "poller.db").write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "poller", "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
