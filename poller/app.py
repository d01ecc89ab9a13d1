"""Composition root: builds the store, the adapters, the sinks and the rules from settings; nothing else builds them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poller.budget.limits import Limits
from poller.budget.pace import RateGate, SlotStore
from poller.budget.reads import HOST as PC_HOST
from poller.budget.reads import ReadBudget
from poller.budget.requests import HOST as HUBSPOT_HOST
from poller.clock import epoch, utc_now
from poller.config import Settings
from poller.config.sinks import SinkSettings
from poller.core.model import Deal
from poller.core.routes import SinkRoute
from poller.core.rules import RuleConfig
from poller.delivery.protocol import Delivery, DeliveryOutcome
from poller.delivery.routing import Owners
from poller.delivery.sink import Sink
from poller.errors import StopRequested
from poller.hubspot.deals import HubSpotDeals
from poller.hubspot.owners import HubSpotOwners
from poller.hubspot.portal import HubSpotPortal
from poller.hubspot.sink import HubSpotSink
from poller.partner_central import PartnerCentral, make_client
from poller.partner_central.benefits import PartnerCentralBenefits, make_benefits_client
from poller.retry import RetrySettings
from poller.slack.sink import PER_SECOND as SLACK_PER_SECOND
from poller.slack.sink import SlackSink
from poller.sns.sink import SnsSink
from poller.sns.sink import make_client as make_sns_client
from poller.stopping import interruptible
from poller.store import StateStore, open_store
from poller.store.lease import Lease
from poller.templates import load_templates

SEARCHES_PER_SECOND = 3.0  # HubSpot allows searches about 4 per second on their own; keep a margin for jitter
BENEFITS_HOST = "partner_central_benefits"  # the Benefits API's calls are counted (and budgeted) on their own
BENEFITS_PER_SECOND = 2.0  # a funding pass is a few pages an hour: no need to press the Benefits API


@dataclass(slots=True, kw_only=True)
class App:
    settings: Settings
    store: StateStore
    rules: RuleConfig
    pc: PartnerCentral
    hubspot: HubSpotPortal | None = None  # the HubSpot side, when a token is configured: its portal,
    deals: HubSpotDeals | None = None  # the deals opportunities link to,
    owners: HubSpotOwners | None = None  # who may receive a notification,
    sinks: tuple[Sink, ...] = ()  # and where notifications go (the task+note sink)
    clock: Callable[[], dt.datetime] = utc_now
    api_calls: Counter[str] = field(default_factory=Counter)  # this process's calls per host, for the run row
    stop: threading.Event = field(default_factory=threading.Event)  # set by SIGTERM, SIGINT or SIGHUP
    lease: Lease | None = None  # the lease the running cycle holds, renewed as it goes
    benefits: PartnerCentralBenefits | None = None  # funding (Partner Central Benefits), when enabled

    def begin_run(self) -> None:
        """A cycle begins: HubSpot is worth trying again, its 429s are waited out within the run's time budget, and
        the sinks forget what the last run re-checked."""
        if self.hubspot is not None:
            self.hubspot.start_run(self.settings.run_time_budget)
        for sink in self.sinks:
            sink.begin_run()

    @property
    def sink_routes(self) -> tuple[SinkRoute, ...]:
        """The sinks each notification is queued for, with their routes: HubSpot's (every notification, with a note)
        and each configured one's. Queued also while they cannot deliver (no token, a dry run, `deliver = false`),
        so that a later run delivers what was recorded."""
        return (SinkRoute(sink=HubSpotSink.name, notes=True), *(sink.route for sink in self.settings.sinks))

    sink_names = sink_routes  # its name before sinks had routes (Outbox.enqueue takes either)

    def deliver(self) -> DeliveryOutcome:
        """Deliver the outbox through every sink."""
        assert self.owners is not None and self.deals is not None  # sinks exist only beside them
        return Delivery(store=self.store, owners=self.owners, deals=self.deals,
                        fallback_owner_id=self.settings.fallback_owner_id, clock=self.clock,
                        preferences=self.settings.preferences, rules=self.rules).deliver(self.sinks)

    def linked_deals(self, deal_ids: list[str]) -> dict[str, Deal]:
        """The deals with these ids, fresh from HubSpot when it is configured, else as last stored."""
        if self.deals is None:
            return self.store.records.deals(deal_ids)
        return self.deals.read_deals(deal_ids)

    def limits(self, started: float, stop_requested: Callable[[], bool] | None = None) -> Limits:
        """A run's limits from `started` (monotonic): its time budget, the read budget, and the stop flag."""
        return Limits(seconds=self.settings.run_time_budget, started=started, reads=self.reads,
                      stop_requested=stop_requested or self.stop.is_set, wall_clock=self.clock)

    @property
    def reads(self) -> ReadBudget:
        """The job's Partner Central read budget for the last 24 h (`pc_daily_budget`)."""
        return ReadBudget(self.store.budgets, self.settings.pc_daily_budget, self.clock)

    @property
    def benefit_reads(self) -> ReadBudget:
        """The funding signal's own read budget for the last 24 h (`benefits_daily_budget`)."""
        return ReadBudget(self.store.budgets, self.settings.benefits_daily_budget, self.clock, host=BENEFITS_HOST,
                          label="Partner Central Benefits")

    def count_call(self, host: str, n: int = 1) -> None:
        """Every API request passes here first (the adapters call it before sending): the record boundary, and for
        Partner Central (and Benefits) the daily read budget's hard limit."""
        self.at_boundary()
        if host == PC_HOST:
            self.reads.admit()
        elif host == BENEFITS_HOST:
            self.benefit_reads.admit()
        self.api_calls[host] += n
        self.store.budgets.count_call(host, self.clock(), n)

    def at_boundary(self) -> None:
        """Before each request: a stop request ends the run here, between records, not after the page; and the
        lease is renewed, so a live run is never taken for a dead one however long its page or delivery takes."""
        if self.stop.is_set():
            raise StopRequested("stop requested")
        if self.lease is not None:
            self.lease.renew(self.clock())


def rules_from(settings: Settings) -> RuleConfig:
    overrides: dict[str, Any] = {
        "score_change_threshold": settings.score_change_threshold,
        "high_engagement_score": settings.high_engagement_score,
        "conflict_reraise_hours": settings.conflict_reraise_hours,
        "muted_kinds": frozenset(settings.muted_kinds),
        "conflict_fields": frozenset(field for field, prop in settings.conflict_mapping if prop),
    }
    overrides.update(  # the 2026 signals
        quality_bands=settings.quality_bands, quality_hysteresis=settings.quality_hysteresis,
        invitation_reminder_hours=settings.invitation_reminder / 3600,
        action_required_after_hours=settings.action_required_after / 3600,
        action_required_every_hours=settings.action_required_every / 3600,
        funding_expiry_hours=settings.funding_expiry_window / 3600)
    if settings.partner_central_url:
        overrides["partner_central_url"] = settings.partner_central_url
    rules = RuleConfig.default().with_overrides(**overrides)
    if settings.due_hours:
        rules = rules.with_overrides(due_hours={**dict(rules.due_hours), **dict(settings.due_hours)})
    if settings.priority:
        rules = rules.with_overrides(priority={**dict(rules.priority), **dict(settings.priority)})
    # Loaded, checked and rendered against every kind here, at start-up: a broken template stops the job with its
    # file and line (exit 2) before anything is read, rather than failing a delivery.
    return rules.with_overrides(templates=load_templates(settings.template_dir, rules))


def build_app(settings: Settings, *, pc_client: Any = None, pacing: bool = True,
              retry: RetrySettings | None = None, clock: Callable[[], dt.datetime] = utc_now,
              store: StateStore | None = None, benefits_client: Any = None) -> App:
    retry = retry or RetrySettings.attempts(settings.retry_attempts)
    store = store or open_store(settings.db)
    app = App(settings=settings, store=store, rules=rules_from(settings), pc=None, clock=clock)  # type: ignore[arg-type]
    # Waits (pacing, back-off) end early on a stop signal: the next request then stops the run.
    pause = interruptible(app.stop)
    retry = dataclasses.replace(retry, sleep=pause)
    app.pc = PartnerCentral(pc_client or make_client(timeout=settings.http_timeout), catalog=settings.catalog,
                            gate=RateGate(settings.pc_requests_per_second if pacing else None, clock=epoch,
                                          shared=store.budgets, sleep=pause),
                            retry=retry,
                            count_call=lambda op: app.count_call(PC_HOST))
    if settings.benefits:
        app.benefits = PartnerCentralBenefits(
            benefits_client or make_benefits_client(timeout=settings.http_timeout), catalog=settings.catalog,
            gate=RateGate(BENEFITS_PER_SECOND if pacing else None, clock=epoch, shared=store.budgets, sleep=pause,
                          name="partner_central_benefits_pace"),
            retry=retry, count_call=lambda op: app.count_call(BENEFITS_HOST))
    if settings.hubspot_configured:
        portal = HubSpotPortal.from_settings(settings, budgets=store.budgets, retry=retry,
                                             count_call=lambda n=1: app.count_call(HUBSPOT_HOST, n),
                                             search_gate=RateGate(SEARCHES_PER_SECOND if pacing else None,
                                                                  sleep=pause))
        app.hubspot = portal
        # snapshot field → deal property read for it (conflicts compare them); unmapped fields read nothing
        mapping = settings.conflict_mapping or Settings().conflict_mapping
        app.deals = HubSpotDeals(portal, deal_fields={f: p for f, p in mapping if p},
                                 deal_currency=settings.deal_currency, deal_id_property=settings.deal_id_property)
        app.owners = HubSpotOwners(portal, store.owners, clock=clock, atomic=store.atomic)
        app.sinks = (HubSpotSink(portal, store, settle_time=settings.settle_time),
                     *(sink_for(config, settings, owners=app.owners, budgets=store.budgets, retry=retry, pause=pause,
                                pacing=pacing, count_call=app.count_call) for config in settings.sinks))
    return app


def sink_for(config: SinkSettings, settings: Settings, *, owners: Owners | None, budgets: SlotStore | None,
             retry: RetrySettings, pause: Callable[[float], None], pacing: bool = True,
             count_call: Callable[[str], None] = lambda host: None) -> Sink:
    """A configured Slack or SNS sink. In a cycle they deliver beside HubSpot: their rows are routed by its deals'
    owners, and `owners` names them in the messages; `budgets` keeps Slack's pace across runs."""
    host = f"{config.type}:{config.name}"  # the run row counts each sink's requests apart
    if config.type == "slack":
        gate = RateGate(SLACK_PER_SECOND if pacing else None, clock=epoch, shared=budgets, sleep=pause,
                        name=f"slack_pace:{config.name}")
        return SlackSink(config, owners=owners, deal_url=settings.hubspot_deal_url, timeout=settings.http_timeout,
                         run_time_budget=settings.run_time_budget, retry=retry, gate=gate,
                         count_call=lambda: count_call(host), sleep=pause)
    assert config.topic_arn is not None
    return SnsSink(config, make_sns_client(config.topic_arn, timeout=settings.http_timeout), owners=owners,
                   deal_url=settings.hubspot_deal_url, retry=retry, count_call=lambda: count_call(host))
