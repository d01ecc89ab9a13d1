"""Where HubSpot objects carry their event key: the poller_event_key property when the portal has it, else a Ref: token."""

from __future__ import annotations

import logging

from hubspot.crm.properties import PropertyCreate

from poller.errors import TokenRefused, UnknownOutcome
from poller.hubspot.portal import HubSpotPortal, Rejected
from poller.store.database import StateStore

log = logging.getLogger(__name__)
KEY_PROPERTY = "poller_event_key"
OBJECT_TYPE = {"task": "tasks", "note": "notes"}
BODY_PROPERTY = {"task": "hs_task_body", "note": "hs_note_body"}
GROUP = {"task": "taskinformation", "note": "noteinformation"}
META = "event_key_storage"  # meta key: per part, "property" or "body"


def names_key_property(text: str | None) -> bool:
    """Whether a refusal is about poller_event_key itself (PROPERTY_DOESNT_EXIST, a bad value for it, …)."""
    return KEY_PROPERTY in (text or "")


class KeyHome:
    """Per part, "property" (poller_event_key) or "body" (a Ref: token): learnt once per portal, kept in the store."""

    def __init__(self, portal: HubSpotPortal, store: StateStore):
        self.portal = portal
        self.store = store
        self.rechecked: set[str] = set()  # parts whose refused property was looked at this run (so this never loops)

    def ensure(self) -> dict[str, str]:
        """Per part, 'property' when the portal has (or lets us create) poller_event_key, else 'body' (the Ref: token)."""
        modes = self.store.meta(META)
        if modes:
            return modes
        modes = {}
        for part, object_type in OBJECT_TYPE.items():
            try:
                self.portal.call(self.portal.properties.get_by_name_with_http_info, object_type, KEY_PROPERTY)
                modes[part] = "property"
                continue
            except (Rejected, TokenRefused) as exc:
                if isinstance(exc, TokenRefused) and exc.status != 403:
                    raise  # a bad token stops the cycle; a missing permission only means "no custom property"
                if exc.status != 404:
                    modes[part] = "body"
                    continue
            modes[part] = self._create(part)
        self.store.set_meta(META, modes)
        return modes


    def refused(self, part: str, modes: dict[str, str]) -> str:
        """HubSpot refused the key property on a part: an admin deleted or changed it. Look again: recreate it when it
        is gone and the portal allows it, else carry the key as the body's Ref: token from now on. Updates `modes`.

        A property that still exists but is refused, or one refused again after this run recreated it (HubSpot keeps
        an archived property's name), goes to the body, so this never loops.
        """
        try:
            gone = part not in self.rechecked and not self._exists(OBJECT_TYPE[part])
        except TokenRefused as exc:  # 403: the definitions cannot be read either; the body needs no permission
            if exc.status != 403:
                raise
            gone = False
        self.rechecked.add(part)
        if gone:
            log.warning("the %s property %s is gone (deleted in HubSpot?); creating it again", OBJECT_TYPE[part],
                        KEY_PROPERTY)
        mode = self._create(part) if gone else "body"
        modes[part] = mode
        self.store.set_meta(META, modes)
        log.warning("%ss now carry the event key %s", part,
                    "in the recreated property" if mode == "property" else "as a Ref: token in the body")
        return mode


    def _create(self, part: str) -> str:
        """Create poller_event_key on tasks or notes; 'property' once it exists, 'body' when the portal will not have it."""
        object_type = OBJECT_TYPE[part]
        group: str | None = GROUP[part]
        for _ in range(2):
            try:
                self.portal.call(self.portal.properties.create_with_http_info, object_type, PropertyCreate(
                    name=KEY_PROPERTY, label="Poller event key", type="string", field_type="text", group_name=group,
                    description="Idempotency key of the poller notification that created this"), write=True)
                return "property"
            except UnknownOutcome as exc:
                if self._exists(object_type):
                    return "property"
                raise UnknownOutcome(f"creating {object_type}.{KEY_PROPERTY}: {exc}") from exc
            except (Rejected, TokenRefused) as exc:  # 403: the portal's tier or the token's scopes do not allow it
                if isinstance(exc, TokenRefused) and exc.status != 403:
                    raise
                if isinstance(exc, Rejected) and exc.status == 409:  # created meanwhile (another run, a person)
                    return "property"
                if isinstance(exc, Rejected) and exc.status == 400 and (home := self._group_of_body(part)) != group:
                    group = home  # the portal names its groups differently: put the key beside the body property
                    continue
                log.info("cannot create %s.%s (%s); the event key goes in the body as a Ref: token", object_type,
                         KEY_PROPERTY, exc)
                return "body"
        return "body"


    def _exists(self, object_type: str) -> bool:
        try:
            self.portal.call(self.portal.properties.get_by_name_with_http_info, object_type, KEY_PROPERTY)
            return True
        except Rejected:
            return False


    def _group_of_body(self, part: str) -> str | None:
        try:
            data, _s, _h = self.portal.call(self.portal.properties.get_by_name_with_http_info, OBJECT_TYPE[part], BODY_PROPERTY[part])
        except Rejected:
            return None
        return getattr(data, "group_name", None)
