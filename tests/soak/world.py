"""The simulated world: each opportunity's state on both sides, kept in step with the two simulators and the truth.

Every mutation here changes the simulator(s) and then tells the Truth what a reader would now see, so the ground
truth is written at the instant the world changes (latency is measured from there).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from poller.simulators import portfolio
from soak.clock import SharedClock
from soak.state import COMPANIES, FALLBACK, LEAVER, SELLER_OWNERS, AwsState, Opp, cents
from soak.truth import Facts, Truth


class World:
    """The opportunities, deals, owners and invitations; the only code that changes the simulators' data."""

    def __init__(self, pc: Any, hub: Any, clock: SharedClock, truth: Truth, rng: random.Random):
        self.pc, self.hub, self.clock, self.truth, self.rng = pc, hub, clock, truth, rng
        self.opps: dict[str, Opp] = {}
        self.owners: dict[str, list[tuple[dt.datetime, str]]] = {}  # deal id → owner history
        self.archived: dict[str, dt.datetime] = {}  # owner id → archived at
        self.invitations: dict[str, dict[str, Any]] = {}  # id → {"expires", "status", "title", "notified"}
        self.baseline = True
        self.next_n = 0
        self.opp_list: list[Opp] = []
        self.newest: dt.datetime | None = None  # the newest LastModifiedDate the world has written
        self.high_water: dt.datetime | None = None  # the newest one as of the last cycle (the poller's cursor)
        self._invitation_n = 0

    # --- what a reader sees
    def facts(self, opp: Opp) -> Facts:
        pc = (" ".join(opp.title.split()), cents(opp.amount), opp.close)
        deal = (" ".join(opp.deal[0].split()), cents(opp.deal[1]), opp.deal[2][:10])
        return Facts(review=opp.review, aws=opp.aws.facts() if opp.aws else None, pc=pc, deal=deal,
                     referral=bool(opp.aws and opp.aws.origin == "AWS Referral"),
                     invitation_notified=opp.invitation_notified)

    def observe(self, opp: Opp) -> None:
        self.truth.observe(opp.oid, opp.deal_id, self.facts(opp), self.clock.now(), baseline=self.baseline)

    def recipient(self, deal_id: str | None, at: dt.datetime) -> str:
        """The owner a notification about this deal should reach at `at` (DESIGN §4): the active owner, else fallback."""
        if deal_id is None:
            return FALLBACK
        owner = FALLBACK
        for since, who in self.owners.get(deal_id, []):
            if since <= at:
                owner = who
        gone = self.archived.get(owner)
        return FALLBACK if gone is not None and gone <= at else owner

    def owner_changes(self, deal_id: str | None, start: dt.datetime, end: dt.datetime) -> set[str]:
        """Every recipient in force between two instants (a reassignment may land between detection and delivery)."""
        moments = [start, end, *(t for t, _o in self.owners.get(deal_id or "", []) if start <= t <= end),
                   *(t for t in self.archived.values() if start <= t <= end)]
        return {self.recipient(deal_id, t) for t in moments}

    # --- creating
    def new_opportunity(self, *, review: str | None, aws: AwsState | None, stage: str = "Qualified",
                        title: str | None = None, owner: str | None = None, referral: bool = False,
                        invitation_notified: bool = True, modified: dt.datetime | None = None,
                        created: dt.datetime | None = None) -> Opp:
        n = self.next_n
        self.next_n += 1
        rng = self.rng
        record = portfolio.opportunity_record(n, rng=rng, review_status=review or "Pending Submission", stage=stage)
        company = COMPANIES[n % len(COMPANIES)]
        record["Customer"]["Account"]["CompanyName"] = company
        if title:
            record["Project"]["Title"] = title
        if review is None:
            record["LifeCycle"].pop("ReviewStatus")
        now = self.clock.now()
        close = (now + dt.timedelta(days=rng.randint(20, 300))).date().isoformat()
        record["LifeCycle"]["TargetCloseDate"] = close
        amount = record["Project"]["ExpectedCustomerSpend"][0]["Amount"]
        opp = Opp(n=n, oid=record["Id"], deal_id=portfolio.deal_id(n), title=record["Project"]["Title"],
                  amount=amount, close=close, stage=stage, review=review, aws=aws,
                  deal=[record["Project"]["Title"], amount, f"{close}T00:00:00Z"], referral=referral,
                  invitation_notified=invitation_notified)
        if aws is not None:
            aws.target_close = close
        owner = owner or (LEAVER if n % 50 == 19 else SELLER_OWNERS[n % len(SELLER_OWNERS)])
        # The seller makes the deal first, then the opportunity that names it (PartnerOpportunityIdentifier).
        self.hub.add_deal(opp.deal_id, dealname=opp.deal[0], amount=amount, closedate=opp.deal[2],
                          hubspot_owner_id=owner)
        self.owners[opp.deal_id] = [(now, owner)]
        record["LastModifiedDate"] = _wire(modified or now)
        record["CreatedDate"] = _wire(created or modified or now)
        self.pc.put_opportunity(record, aws.summary() if aws else None)
        self.opps[opp.oid] = opp
        self.opp_list.append(opp)
        self._stamped(opp)
        self.observe(opp)
        return opp

    def hold(self, opp: Opp, aspects: tuple[str, ...]) -> None:
        for aspect in aspects:
            opp.busy[aspect] = dt.datetime.max.replace(tzinfo=dt.UTC)

    def next_invitation(self) -> int:
        self._invitation_n += 1
        return self._invitation_n

    def _stamped(self, opp: Opp) -> None:
        modified = dt.datetime.fromisoformat(self.pc.opportunity(opp.oid)["LastModifiedDate"].replace("Z", "+00:00"))
        opp.modified = modified
        if self.newest is None or modified > self.newest:
            self.newest = modified

    # --- changing the Partner Central record (moves LastModifiedDate, unless `modified` says when)
    def edit_record(self, opp: Opp, changes: dict[str, Any], *, modified: dt.datetime | None = None) -> None:
        if modified is not None:
            changes = {**changes, "LastModifiedDate": _wire(modified)}
        self.pc.update_opportunity(opp.oid, changes)
        self._stamped(opp)
        self.observe(opp)

    def edit_pc(self, opp: Opp, *, title: str | None = None, amount: str | None = None, close: str | None = None,
                next_steps: str | None = None, modified: dt.datetime | None = None) -> None:
        """A partner-side edit of the mapped fields (or of NextSteps alone, which nobody is told about)."""
        changes: dict[str, Any] = {}
        if title is not None:
            opp.title = title
            changes["Project"] = {"Title": title}
        if amount is not None:
            opp.amount = amount
            changes.setdefault("Project", {})["ExpectedCustomerSpend"] = [
                {"Amount": amount, "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]
        life = {k: v for k, v in (("TargetCloseDate", close), ("NextSteps", next_steps)) if v is not None}
        if close is not None:
            opp.close = close
        if life:
            changes["LifeCycle"] = life
        self.edit_record(opp, changes, modified=modified)

    def set_review(self, opp: Opp, status: str | None, *, modified: dt.datetime | None = None,
                   comments: str | None = None) -> None:
        opp.review = status
        life: dict[str, Any] = {"ReviewStatus": status}
        if status == "Action Required":
            life["ReviewComments"] = comments or "Add the customer's business problem in more detail."
        self.edit_record(opp, {"LifeCycle": life}, modified=modified)

    def submit(self, opp: Opp, aws: AwsState) -> None:
        """Pending Submission → Submitted: AWS's view appears with the submission."""
        opp.aws = aws
        aws.target_close = opp.close
        opp.review = "Submitted"
        self.pc.set_aws_summary(opp.oid, aws.summary())
        self.edit_record(opp, {"LifeCycle": {"ReviewStatus": "Submitted"}})

    # --- changing AWS's view (does not move LastModifiedDate: only the sweep finds it)
    def push_aws(self, opp: Opp) -> None:
        assert opp.aws is not None
        self.pc.set_aws_summary(opp.oid, opp.aws.summary())
        self.observe(opp)

    # --- the HubSpot side
    def edit_deal(self, opp: Opp, *, dealname: str | None = None, amount: str | None = None,
                  close: str | None = None) -> None:
        changes = {}
        if dealname is not None:
            opp.deal[0] = changes["dealname"] = dealname
        if amount is not None:
            opp.deal[1] = changes["amount"] = amount
        if close is not None:
            opp.deal[2] = changes["closedate"] = f"{close}T00:00:00Z"
        self.hub.update_deal(opp.deal_id, **changes)
        self.observe(opp)

    def reassign(self, opp: Opp, owner: str) -> None:
        self.hub.update_deal(opp.deal_id, hubspot_owner_id=owner)
        self.owners[opp.deal_id].append((self.clock.now(), owner))

    def archive_owner(self, owner: str) -> None:
        self.hub.archive_owner(owner)
        self.archived[owner] = self.clock.now()

    # --- invitations
    def invite(self, n: int, *, sender: str, expires_in: dt.timedelta, title: str, announce: bool = True) -> str:
        """A PENDING invitation; `announce` False when it is accepted before any cycle can see it PENDING."""
        now = self.clock.now()
        record = portfolio.referral_invitation(n, invited=now)
        record["Id"] = f"engi-{n:013d}"
        record["SenderCompanyName"] = sender
        record["ExpirationDate"] = _wire(now + expires_in)
        record["Payload"]["OpportunityInvitation"]["Project"]["Title"] = title
        iid = self.pc.put_invitation(record)
        self.invitations[iid] = {"expires": now + expires_in, "status": "PENDING", "title": title, "since": now,
                                 "sender": sender}
        if announce:  # PENDING invitations notify even on the baseline (DESIGN §2)
            self.truth.invitation(iid, sender, now, now + expires_in)
        return iid

    def set_invitation(self, iid: str, status: str) -> None:
        self.pc.set_invitation_status(iid, status)
        self.invitations[iid]["status"] = status


def _wire(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
