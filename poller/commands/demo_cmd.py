"""`poller demo` (the whole pipeline against built-in simulators) and `poller simulate` (the simulators, served)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import click

from poller import logs
from poller.commands.common import emit_json, say, shown, table
from poller.demo.run import DEMO_KINDS, DemoReport, run_demo
from poller.demo.sims import Simulators, start_seeded
from poller.errors import ConfigError


def _quiet_logs(ctx: click.Context, level: int = logging.WARNING) -> None:
    """Logs on stderr at WARNING (DEBUG with -v), so the demo's own output stays readable."""
    root = ctx.find_root().params
    logs.configure(root.get("log_format") or "text", logging.DEBUG if root.get("verbose") else level,
                   secrets=[os.environ.get("AWS_SECRET_ACCESS_KEY"), os.environ.get("HUBSPOT_ACCESS_TOKEN")])


@click.command(name="demo")
@click.option("--opportunities", "-n", default=200, show_default=True, type=click.IntRange(20, 5000),
              help="Opportunities in the simulated Partner Central portfolio.")
@click.option("--db", "db_path", default="state/demo.db", show_default=True, type=click.Path(dir_okay=False),
              help="The demo's own state database, recreated on every run (your POLLER_DB is never used).")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON report on stdout.")
@click.pass_context
def demo_command(ctx: click.Context, opportunities: int, db_path: str, as_json: bool) -> None:
    """Run the whole pipeline against built-in simulators: no credentials, no network beyond 127.0.0.1.

    Starts a Partner Central and a HubSpot simulator, seeds a portfolio (opportunities with AWS summaries, deals,
    owners, invitations), runs a silent baseline cycle "yesterday", applies a scripted day of changes that
    covers the ten notification kinds and the 2026 signals (deal quality, recommendations, co-sell motion, an expiry
    reminder), runs the next cycle, and shows what each HubSpot user received. It is the
    same code `poller run` runs: the real boto3 and hubspot-api-client clients over HTTP.

    Example:

    \b
        poller demo
        poller demo --opportunities 1000 --json
        poller --db state/demo.db state outbox
    """
    _quiet_logs(ctx)
    report = run_demo(opportunities=opportunities, db=db_path)
    if as_json:
        emit_json(report.to_json())
    else:
        say(render_report(report))
    if report.missing_kinds:
        ctx.exit(1)


def render_report(r: DemoReport) -> str:
    out = ["poller demo: the real cycle (boto3 + hubspot-api-client over HTTP) against local simulators",
           f"  Partner Central {r.pc_url} · HubSpot {r.hubspot_url} · state {r.db} (recreated)",
           f"  portfolio: {r.portfolio['opportunities']} opportunities with AWS summaries and linked deals, "
           f"{r.portfolio['owners']} sellers + Erin (leaves today) + Riley Park of RevOps (fallback owner), "
           f"{r.portfolio['invitations']} AWS invitations", ""]
    rows = [{"cycle": f"{i} {c.label}", "status": c.summary["status"], "read": c.summary["opportunities_changed"],
             "swept": c.summary["swept"], "events": c.summary["events"], "delivered": c.summary["delivered"],
             "Partner Central calls": (c.summary.get("api_calls") or {}).get("partner_central", 0),
             "HubSpot calls": (c.summary.get("api_calls") or {}).get("hubspot", 0),
             "ms": c.summary["duration_ms"]} for i, c in enumerate(r.cycles, 1)]
    out += [table(rows, list(rows[0])), ""]
    out.append("The day in between (UTC): what AWS, the sellers and RevOps changed")
    out += [f"  {s.at}  {s.who:<13} {s.what}" for s in r.steps]
    out += ["", *_received(r), "", *_kinds(r)]
    out += ["", "Inspect the state:"] + [f"  {line}" for line in r.inspect()]
    out.append(f"\nDone in {r.duration_s:.1f} s.")
    return "\n".join(out)


def _received(r: DemoReport) -> list[str]:
    """Per owner: priority, kind, due, deal and subject of each task (run 1 = baseline, 2 = the day's cycle)."""
    notes = sum(1 for x in r.received if x.note)
    lines = [f"What each HubSpot user received: {len(r.received)} tasks (assigned, with a reminder) and {notes} "
             "timeline notes on their deals"]
    rows = [[f"run {x.cycle}", x.priority, x.kind, f"due {x.due}", f"deal {x.deal or '-'}", shown(x.subject)]
            for x in r.received]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    owner = None
    for x, row in zip(r.received, rows, strict=True):
        if x.owner != owner:
            owner = x.owner
            count = sum(1 for y in r.received if y.owner == owner)
            lines.append(f"  {x.owner} <{x.email}>: {count} task{'s' if count > 1 else ''}")
        lines.append("    " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:5])) + "  " + row[5])
    fallback = [x for x in r.received if x.route.endswith("fallback owner") and x.deal]
    lines += [f"  (deal {x.deal} went to {x.owner}: {x.route})" for x in fallback]
    return lines


HUBSPOT_CALLS = {"GET /crm/v3/owners/": "owners read", "POST /crm/v3/objects/deals/batch/read": "deal batch read",
                 "POST /crm/v3/objects/tasks/batch/create": "task batch create",
                 "POST /crm/v3/objects/notes/batch/create": "note batch create"}


def _kinds(r: DemoReport) -> list[str]:
    marks = [f"{'✓' if r.kinds.get(k) else '✗'} {k} ×{r.kinds.get(k, 0)}" for k in DEMO_KINDS]
    head = (f"All {len(DEMO_KINDS)} kinds of the day delivered in the next cycle:" if not r.missing_kinds
            else f"MISSING kinds in the next cycle: {', '.join(r.missing_kinds)}")
    lines = [head] + ["  " + "   ".join(marks[i:i + 4]) for i in range(0, len(marks), 4)]
    calls = r.cycles[-1].calls
    hub = {k: v for k, v in calls.items() if not k.startswith("PartnerCentral.")}
    per = r.per_notification()
    lines.append(f"Cost: {r.day_notifications} notifications for {r.day_calls.get('hubspot', 0)} HubSpot calls ("
                 + ", ".join(f"{v} {HUBSPOT_CALLS.get(k, k)}" for k, v in hub.items())
                 + f") = {per['hubspot_calls']} calls and "
                 f"{per['hubspot_writes']} writes per notification")
    return lines


@click.command(name="simulate")
@click.option("--pc-port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Partner Central simulator port on 127.0.0.1 (0 = any free port).")
@click.option("--hubspot-port", default=8002, show_default=True, type=click.IntRange(0, 65535),
              help="HubSpot simulator port on 127.0.0.1 (0 = any free port).")
@click.option("--seed", "seed_count", default=50, show_default=True, type=click.IntRange(0, 20_000),
              help="Opportunities to seed (each with an AWS summary and a linked deal), plus owners and 2 invitations.")
@click.option("--token", default="sim-token", show_default=True, help="The HubSpot access token the simulator accepts.")
@click.pass_context
def simulate_command(ctx: click.Context, pc_port: int, hubspot_port: int, seed_count: int, token: str) -> None:
    """Serve the Partner Central and HubSpot simulators on 127.0.0.1 until Ctrl-C or SIGTERM.

    Prints the environment that points `poller run` (or `daemon`, `backfill`) at them.

    Example:

    \b
        poller simulate --pc-port 8001 --hubspot-port 8002 --seed 200
        # in another shell: paste the printed exports, then
        poller run
    """
    _quiet_logs(ctx)
    sims = open_simulators(pc_port=pc_port, hubspot_port=hubspot_port, seed_count=seed_count, token=token)
    say(describe_simulators(sims, seed_count))
    serve(sims, threading.Event())
    say("simulators stopped")


def open_simulators(*, pc_port: int, hubspot_port: int, seed_count: int, token: str) -> Simulators:
    """Start and seed both simulators; a port that cannot be bound is a usage error naming its option."""
    if pc_port and pc_port == hubspot_port:
        raise ConfigError(f"--pc-port and --hubspot-port are both {pc_port}; choose two ports")
    if not token.strip():
        raise ConfigError("--token: empty")
    try:
        return start_seeded(pc_port=pc_port, hubspot_port=hubspot_port, token=token, opportunities=seed_count)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1 ports {pc_port}/{hubspot_port}: {exc.strerror or exc}"
                          " (choose others with --pc-port/--hubspot-port, or 0 for any free port)") from None


def describe_simulators(sims: Simulators, seed_count: int) -> str:
    return "\n".join([
        f"Partner Central simulator: {sims.pc.url}  ({seed_count} opportunities, 2 invitations; "
        "10 reads/s, like the real quota)",
        f"HubSpot simulator:         {sims.hubspot.url}  ({seed_count} deals, 6 owners; owner 190 is the fallback)",
        "",
        "Point poller at them (the AWS keys are dummies: the simulator does not check signatures):",
        "",
        "unset AWS_PROFILE AWS_SESSION_TOKEN",
        *sims.exports(db="state/simulate.db"),
        "poller run        # the first run records a silent baseline; pending invitations still notify",
        "",
        "Serving until Ctrl-C (or SIGTERM).",
    ])


def serve(sims: Simulators, stop: threading.Event) -> None:
    """Block until `stop` is set, Ctrl-C (SIGINT) or SIGTERM; then stop both servers."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sims.stop()

