"""The two simulators on loopback, started together, with the environment that points the product at them."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass

from poller.clock import utc_now
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.partner_central.simulator import PartnerCentralSimulator
from poller.simulators.portfolio import FALLBACK_OWNER, seed_invitations, seed_portfolio

HOST = "127.0.0.1"
DUMMY_AWS_KEYS = {"AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000", "AWS_SECRET_ACCESS_KEY": "simulator-does-not-check"}
# Variables that would steer boto3 away from the dummy keys or the simulator's endpoint.
AWS_OVERRIDES = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


class ShiftedClock:
    """Real time plus an offset that only moves forward: the demo's "yesterday", then its day, then "now".

    Real time keeps flowing underneath, so rate-limit windows and timeouts behave as they do in production.
    """

    def __init__(self, offset: dt.timedelta = dt.timedelta(0)):
        self.offset = offset

    def now(self) -> dt.datetime:
        return utc_now() + self.offset

    def epoch(self) -> float:
        return self.now().timestamp()

    def move_to(self, moment: dt.datetime) -> None:
        self.offset = max(self.offset, moment - utc_now())


@dataclass(slots=True, kw_only=True)
class Simulators:
    pc: PartnerCentralSimulator
    hubspot: HubSpotSimulator
    token: str

    def stop(self) -> None:
        for sim in (self.pc, self.hubspot):
            with contextlib.suppress(Exception):
                sim.stop()

    def env(self) -> dict[str, str]:
        """What the product reads: boto3's endpoint override and (dummy) keys, the HubSpot token and base URL."""
        return {"AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING": self.pc.url, **DUMMY_AWS_KEYS,
                "HUBSPOT_ACCESS_TOKEN": self.token, "HUBSPOT_BASE_URL": self.hubspot.url,
                "POLLER_FALLBACK_OWNER_ID": FALLBACK_OWNER[0]}

    def exports(self, db: str | None = None) -> list[str]:
        """Shell lines that point `poller run` at these simulators."""
        values = {**self.env(), **({"POLLER_DB": db} if db else {})}
        return [f"export {name}={value}" for name, value in values.items()]


def start_simulators(*, pc_port: int = 0, hubspot_port: int = 0, token: str = "sim-token",
                     clock: ShiftedClock | None = None, pc_reads_per_second: float | None = None) -> Simulators:
    """Both simulators on 127.0.0.1 (port 0 = any free port), serving in daemon threads until stop()."""
    pc = PartnerCentralSimulator(pc_port, reads_per_second=pc_reads_per_second,
                                 clock=clock.now if clock else None).start()
    try:
        hubspot = HubSpotSimulator(hubspot_port, token=token, clock=clock.epoch if clock else None).start()
    except BaseException:
        pc.stop()
        raise
    return Simulators(pc=pc, hubspot=hubspot, token=token)


@contextlib.contextmanager
def pointed_at(sims: Simulators) -> Iterator[None]:
    """Set the simulators' environment for boto3 (its endpoint and dummy keys) and restore every variable after."""
    names = [*sims.env(), *AWS_OVERRIDES]
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in AWS_OVERRIDES:
            os.environ.pop(name, None)
        os.environ.update(sims.env())
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_seeded(*, pc_port: int = 0, hubspot_port: int = 0, token: str = "sim-token",
                 opportunities: int = 50) -> Simulators:
    """`poller simulate`'s servers: a seeded portfolio and two invitations, Partner Central's 10 reads/s quota on."""
    sims = start_simulators(pc_port=pc_port, hubspot_port=hubspot_port, token=token, pc_reads_per_second=10)
    try:
        now = utc_now()
        seed_portfolio(sims.pc, sims.hubspot, opportunities, now=now)
        seed_invitations(sims.pc, now=now)
    except BaseException:
        sims.stop()
        raise
    return sims
