"""The HubSpot simulator, driven by the real hubspot-api-client over loopback HTTP (no mocks, no sleeps)."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request

import pytest
import urllib3
from freezegun import freeze_time
from hubspot import HubSpot
from hubspot.crm.associations.v4 import exceptions as hs_assoc
from hubspot.crm.deals import exceptions as hs_deals
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.tasks import exceptions as hs_tasks
from hubspot.crm.owners import exceptions as hs_owners
from hubspot.crm.properties import exceptions as hs_properties

from poller.simulators.hubspot.simulator import HubSpotSimulator

TOKEN = "sim-token"
DUE = "1767225600000"  # 2026-01-01T00:00:00Z in epoch ms


class FakeClock:
    """The simulator's clock, moved by hand."""

    def __init__(self, start: float = 1_767_225_600.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock):
    with HubSpotSimulator(clock=clock) as simulator:
        seed(simulator)
        yield simulator


def seed(simulator: HubSpotSimulator) -> None:
    simulator.add_owner("11", "ana@example.com", "Ana", "Lima", user_id=501)
    simulator.add_owner("12", "bo@example.com", "Bo", "Ng", user_id=502)
    simulator.add_deal("101", dealname="Acme", hubspot_owner_id="11", amount="5000", closedate="2026-12-01T00:00:00Z")
    simulator.add_deal("102", dealname="Globex", hubspot_owner_id="12")


def client(simulator: HubSpotSimulator, token: str = TOKEN) -> HubSpot:
    return HubSpot(access_token=token, host=simulator.url)


def to_deal(deal_id: str, type_id: int = 216) -> list[PublicAssociationsForObject]:
    return [PublicAssociationsForObject(to=PublicObjectId(id=deal_id), types=[
        AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)])]


def task_input(trace: str | None, deal_id: str = "101", **overrides) -> SimplePublicObjectBatchInputForCreate:
    properties = {"hs_timestamp": DUE, "hs_task_subject": f"Follow up {trace}", "hs_task_status": "NOT_STARTED",
                  "hs_task_priority": "HIGH", "hs_task_type": "TODO", "hubspot_owner_id": "11", **overrides}
    return SimplePublicObjectBatchInputForCreate(object_write_trace_id=trace, properties=properties,
                                                 associations=to_deal(deal_id))


def batch(*inputs: SimplePublicObjectBatchInputForCreate) -> BatchInputSimplePublicObjectBatchInputForCreate:
    return BatchInputSimplePublicObjectBatchInputForCreate(inputs=list(inputs))


def search_request(*filters: Filter, **kwargs) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(filter_groups=[FilterGroup(filters=list(filters))], **kwargs)


# --- batch create


def test_batch_create_maps_results_by_trace_id_and_links_the_deal(sim):
    api = client(sim).crm.objects.tasks.batch_api
    data, status, headers = api.create_with_http_info(batch(task_input("evk-a"), task_input("evk-b", "102")))
    assert status == 201
    assert type(data).__name__ == "BatchResponseSimplePublicObject" and data.status == "COMPLETE"
    by_trace = {result.object_write_trace_id: result for result in data.results}
    assert set(by_trace) == {"evk-a", "evk-b"}
    assert by_trace["evk-a"].properties["hs_task_subject"] == "Follow up evk-a"
    assert by_trace["evk-a"].properties["hs_object_id"] == by_trace["evk-a"].id
    assert by_trace["evk-a"].properties["hs_timestamp"] == "2026-01-01T00:00:00.000Z"
    assert headers["X-HubSpot-RateLimit-Max"] == "100" and headers["X-HubSpot-RateLimit-Remaining"] == "99"
    stored = {task["id"]: task for task in sim.tasks()}
    assert stored[by_trace["evk-a"].id]["associations"] == {"deals": ["101"]}
    assert stored[by_trace["evk-b"].id]["associations"] == {"deals": ["102"]}
    assert [n for n in sim.objects("deals") if n["id"] == "101"][0]["associations"]["tasks"] == [by_trace["evk-a"].id]


def test_batch_create_207_reports_the_bad_owner_by_trace_id(sim):
    data, status, _ = client(sim).crm.objects.tasks.batch_api.create_with_http_info(
        batch(task_input("good"), task_input("bad", hubspot_owner_id="999")))
    assert status == 207
    assert type(data).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert data.num_errors == 1 and data.errors[0].context["objectWriteTraceId"] == ["bad"]
    assert data.errors[0].category == "VALIDATION_ERROR" and "INVALID_OWNER_ID" in data.errors[0].message
    assert [result.object_write_trace_id for result in data.results] == ["good"]
    assert len(sim.tasks()) == 1


@pytest.mark.parametrize(("overrides", "deal_id", "type_id", "expected"), [
    ({"hs_timestamp": None}, "101", 216, "Error creating TASK. Some required properties were not set."),
    ({"hs_task_status": "DONE"}, "101", 216, "INVALID_OPTION"),
    ({"hs_task_priority": "URGENT"}, "101", 216, "INVALID_OPTION"),
    ({"hs_task_type": "MEETING"}, "101", 216, "INVALID_OPTION"),
    ({"no_such_property": "x"}, "101", 216, "PROPERTY_DOESNT_EXIST"),
    ({"hs_task_body": "x" * 65_537}, "101", 216, "INVALID_STRING_LENGTH"),
    ({}, "999", 216, "ids: 999 not valid"),
    ({}, "101", 214, "not a valid association type"),
])
def test_each_invalid_input_comes_back_as_its_own_error(sim, overrides, deal_id, type_id, expected):
    bad = task_input("bad", deal_id, **overrides)
    bad.properties = {k: v for k, v in bad.properties.items() if v is not None}
    bad.associations = to_deal(deal_id, type_id)
    data = client(sim).crm.objects.tasks.batch_api.create(batch(task_input("good"), bad))
    assert [error.context["objectWriteTraceId"] for error in data.errors] == [["bad"]]
    assert expected in data.errors[0].message
    assert len(sim.tasks()) == 1


def test_without_trace_ids_one_bad_input_fails_the_whole_batch(sim):
    with pytest.raises(hs_tasks.ApiException) as caught:
        client(sim).crm.objects.tasks.batch_api.create(batch(task_input(None), task_input(None, hubspot_owner_id="999")))
    assert caught.value.status == 400
    body = json.loads(caught.value.body)
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR" and body["correlationId"]
    assert "INVALID_OWNER_ID" in body["message"]
    assert sim.tasks() == []


def test_archived_owner_is_refused(sim):
    sim.archive_owner("12")
    data = client(sim).crm.objects.tasks.batch_api.create(batch(task_input("a", hubspot_owner_id="12")))
    assert "INVALID_OWNER_ID" in data.errors[0].message and sim.tasks() == []


def test_more_than_100_inputs_is_a_400(sim):
    with pytest.raises(hs_tasks.ApiException) as caught:
        client(sim).crm.objects.tasks.batch_api.create(batch(*[task_input(f"k{i}") for i in range(101)]))
    assert caught.value.status == 400 and sim.tasks() == []


def test_results_come_back_shuffled(sim):
    random.seed(7)
    traces = [f"k{i:02d}" for i in range(20)]
    data = client(sim).crm.objects.tasks.batch_api.create(batch(*[task_input(t) for t in traces]))
    assert sorted(r.object_write_trace_id for r in data.results) == traces
    assert [r.object_write_trace_id for r in data.results] != traces
    ids = [int(task["id"]) for task in sim.tasks()]
    assert ids == sorted(ids) and len(set(ids)) == 20


def test_notes_link_to_the_deal_with_214(sim):
    notes = client(sim).crm.objects.notes.batch_api
    from hubspot.crm.objects.notes import BatchInputSimplePublicObjectBatchInputForCreate as NoteBatch
    body = NoteBatch(inputs=[{"objectWriteTraceId": "n1", "properties": {"hs_timestamp": DUE, "hs_note_body": "<p>hi</p>"},
                              "associations": [{"to": {"id": "101"}, "types": [
                                  {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}]}])
    assert notes.create(body).results[0].object_write_trace_id == "n1"
    assert sim.notes()[0]["associations"] == {"deals": ["101"]}


# --- single objects


def test_single_create_get_with_associations_and_patch(sim):
    api = client(sim).crm.objects.tasks.basic_api
    created = api.create(simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
        properties={"hs_timestamp": DUE, "hs_task_subject": "One"}, associations=to_deal("101")))
    got = api.get_by_id(created.id, properties=["hs_task_subject"], associations=["deals"])
    assert got.properties == {"hs_task_subject": "One"}
    assert got.associations["deals"].results[0].id == "101"
    assert got.associations["deals"].results[0].type == "task_to_deal"
    patched = api.update(created.id, SimplePublicObjectInput(properties={"hs_task_status": "COMPLETED"}))
    assert patched.properties["hs_task_status"] == "COMPLETED"
    with pytest.raises(hs_tasks.ApiException) as caught:
        api.update(created.id, SimplePublicObjectInput(properties={"hs_task_status": "NOPE"}))
    assert caught.value.status == 400 and sim.tasks()[0]["properties"]["hs_task_status"] == "COMPLETED"


def test_deals_batch_read_get_and_seeding(sim):
    hs = client(sim)
    data, status, _ = hs.crm.deals.batch_api.read_with_http_info(
        {"inputs": [{"id": "101"}, {"id": "102"}], "properties": ["dealname", "hubspot_owner_id", "closedate"]})
    assert status == 200
    assert {d.id: d.properties["hubspot_owner_id"] for d in data.results} == {"101": "11", "102": "12"}
    assert data.results[0].properties["closedate"] == "2026-12-01T00:00:00.000Z"
    sim.update_deal("102", hubspot_owner_id="13")
    sim.remove_deal("101")
    data, status, _ = hs.crm.deals.batch_api.read_with_http_info({"inputs": [{"id": "101"}, {"id": "102"}],
                                                                  "properties": ["hubspot_owner_id"]})
    assert status == 207 and data.errors[0].category == "OBJECT_NOT_FOUND"
    assert data.errors[0].context == {"ids": ["101"]} and data.results[0].properties["hubspot_owner_id"] == "13"
    with pytest.raises(hs_deals.NotFoundException):
        hs.crm.deals.basic_api.get_by_id("101", properties=["dealname"])


# --- owners


def test_owners_paging_and_archived(sim):
    sim.add_owner("13", "cy@example.com", "Cy", "Do", user_id=503)
    sim.archive_owner("12")
    owners = client(sim).crm.owners.owners_api
    first = owners.get_page(limit=1)
    assert [o.id for o in first.results] == ["11"] and first.paging.next.after
    second = owners.get_page(limit=1, after=first.paging.next.after)
    assert [o.id for o in second.results] == ["13"] and second.paging is None
    archived = owners.get_page(archived=True)
    assert [(o.id, o.archived, o.user_id, o.user_id_including_inactive) for o in archived.results] == [
        ("12", True, None, 502)]
    assert owners.get_by_id("11", id_property="id").email == "ana@example.com"
    assert owners.get_by_id("503", id_property="userId").id == "13"
    with pytest.raises(hs_owners.NotFoundException):
        owners.get_by_id("12")
    with pytest.raises(hs_owners.ApiException) as caught:
        owners.get_page(limit=501)
    assert caught.value.status == 400


# --- search


def test_search_in_contains_token_and_paging(sim):
    hs = client(sim)
    hs.crm.objects.tasks.batch_api.create(batch(
        task_input("a", hs_task_body="<p>Ref: evk_alpha</p>"), task_input("b", hubspot_owner_id="12"),
        task_input("c", hs_task_body="<p>Ref: evk_gamma</p>", hubspot_owner_id="12")))
    search = hs.crm.objects.tasks.search_api.do_search
    by_owner = search(search_request(Filter(property_name="hubspot_owner_id", operator="IN", values=["12"]),
                                     properties=["hs_task_subject"]))
    assert by_owner.total == 2 and {r.properties["hs_task_subject"] for r in by_owner.results} == {
        "Follow up b", "Follow up c"}
    token = search(search_request(Filter(property_name="hs_task_body", operator="CONTAINS_TOKEN", value="evk_gamma")))
    assert token.total == 1
    wildcard = search(search_request(Filter(property_name="hs_task_body", operator="CONTAINS_TOKEN", value="evk_*")))
    assert wildcard.total == 2
    paged = search(search_request(Filter(property_name="hs_task_status", operator="EQ", value="NOT_STARTED"),
                                  limit=2, properties=["hs_task_subject"],
                                  sorts=[{"propertyName": "hs_task_subject", "direction": "DESCENDING"}]))
    assert paged.total == 3 and paged.paging.next.after == "2"
    assert [r.properties["hs_task_subject"] for r in paged.results] == ["Follow up c", "Follow up b"]
    rest = search(search_request(Filter(property_name="hs_task_status", operator="EQ", value="NOT_STARTED"),
                                 limit=2, after="2"))
    assert len(rest.results) == 1 and rest.paging is None


def test_search_index_lag_hides_fresh_writes_until_the_clock_moves(clock):
    with HubSpotSimulator(clock=clock, search_lag=30.0) as sim:
        seed(sim)
        hs = client(sim)
        hs.crm.objects.tasks.batch_api.create(batch(task_input("a")))
        query = search_request(Filter(property_name="hs_task_subject", operator="CONTAINS_TOKEN", value="a"))
        data, _, headers = hs.crm.objects.tasks.search_api.do_search_with_http_info(query)
        assert data.total == 0
        assert not any(name.lower().startswith("x-hubspot-ratelimit") for name in headers)
        clock.advance(30)
        assert hs.crm.objects.tasks.search_api.do_search(query).total == 1
        assert sim.max_requests_in_window() == 1  # searches are outside the ten-second window


def post(simulator: HubSpotSimulator, path: str, payload: dict) -> dict:
    """A raw JSON call: the SDK cannot run under freezegun (it compares parsed types with the patched datetime)."""
    request = urllib.request.Request(simulator.url + path, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_search_lag_follows_freezegun_without_a_clock():
    with freeze_time("2026-01-01T00:00:00Z") as frozen, HubSpotSimulator(search_lag=60.0) as sim:
        seed(sim)
        created = post(sim, "/crm/v3/objects/tasks/batch/create", {"inputs": [
            {"properties": {"hs_timestamp": DUE, "hs_task_type": "TODO"}, "associations": []}]})
        assert created["results"][0]["createdAt"] == "2026-01-01T00:00:00.000Z"
        query = {"filterGroups": [{"filters": [{"propertyName": "hs_task_type", "operator": "HAS_PROPERTY"}]}]}
        assert post(sim, "/crm/v3/objects/tasks/search", query)["total"] == 0
        frozen.tick(60)
        assert post(sim, "/crm/v3/objects/tasks/search", query)["total"] == 1


# --- properties


def test_custom_property_is_accepted_searchable_and_unique(clock):
    with HubSpotSimulator(clock=clock, allow_unique_on_activities=True) as sim:
        seed(sim)
        hs = client(sim)
        assert "PROPERTY_DOESNT_EXIST" in hs.crm.objects.tasks.batch_api.create(
            batch(task_input("a", poller_event_key="evk-a"))).errors[0].message
        spec = {"name": "poller_event_key", "label": "Poller event key", "type": "string", "fieldType": "text",
                "groupName": "task", "hasUniqueValue": True}
        created = hs.crm.properties.core_api.create("tasks", spec)
        assert created.has_unique_value and not created.hubspot_defined
        with pytest.raises(hs_properties.ApiException) as caught:
            hs.crm.properties.core_api.create("tasks", spec)
        assert caught.value.status == 409 and json.loads(caught.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
        hs.crm.objects.tasks.batch_api.create(batch(task_input("a", poller_event_key="evk-a"),
                                                    task_input("b", poller_event_key="evk-b")))
        found = hs.crm.objects.tasks.search_api.do_search(search_request(
            Filter(property_name="poller_event_key", operator="IN", values=["evk-b", "evk-z"]),
            properties=["poller_event_key"]))
        assert [r.properties["poller_event_key"] for r in found.results] == ["evk-b"]
        read = hs.crm.objects.tasks.batch_api.read({"inputs": [{"id": "evk-a"}, {"id": "evk-z"}],
                                                    "idProperty": "poller_event_key", "properties": ["hs_task_subject"]})
        assert read.results[0].properties["poller_event_key"] == "evk-a" and read.errors[0].context == {"ids": ["evk-z"]}
        duplicate = hs.crm.objects.tasks.batch_api.create(batch(task_input("c", poller_event_key="evk-a")))
        assert duplicate.errors[0].category == "CONFLICT" and len(sim.tasks()) == 2


def test_property_rules(clock):
    with HubSpotSimulator(clock=clock) as sim:
        hs = client(sim)
        status = hs.crm.properties.core_api.get_by_name("tasks", "hs_task_status")
        assert [o.value for o in status.options] == ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"]
        assert [o.value for o in hs.crm.properties.core_api.get_by_name("tasks", "hs_task_priority").options] == [
            "NONE", "LOW", "MEDIUM", "HIGH"]
        with pytest.raises(hs_properties.ApiException) as caught:  # unique values on activities: not by default
            hs.crm.properties.core_api.create("tasks", {"name": "k", "label": "K", "type": "string",
                                                        "fieldType": "text", "groupName": "task", "hasUniqueValue": True})
        assert caught.value.status == 400
        hs.crm.properties.core_api.create("tasks", {"name": "k", "label": "K", "type": "string", "fieldType": "text",
                                                    "groupName": "task"})
        with pytest.raises(hs_tasks.ApiException) as caught:
            hs.crm.objects.tasks.batch_api.read({"inputs": [{"id": "x"}], "idProperty": "k"})
        assert caught.value.status == 400 and "non-unique property" in json.loads(caught.value.body)["message"]
    with HubSpotSimulator(clock=clock, allow_custom_properties=False) as locked:
        with pytest.raises(hs_properties.ForbiddenException):
            client(locked).crm.properties.core_api.create("notes", {"name": "k", "label": "K", "type": "string",
                                                                    "fieldType": "text", "groupName": "note"})


# --- v4 associations


def test_v4_association_listing_default_link_batch_read_and_labels(sim):
    hs = client(sim)
    created = hs.crm.objects.tasks.batch_api.create(batch(task_input("a"))).results[0]
    page = hs.crm.associations.v4.basic_api.get_page("deals", "101", "tasks")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in page.results] == [(created.id, 215)]
    forward = hs.crm.associations.v4.basic_api.get_page("tasks", created.id, "deals")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in forward.results] == [("101", 216)]
    linked = hs.crm.associations.v4.basic_api.create_default("tasks", created.id, "deals", "102")
    assert {r.association_spec.association_type_id for r in linked.results} == {216, 215}
    read, status, _ = hs.crm.associations.v4.batch_api.get_page_with_http_info(
        "tasks", "deals", {"inputs": [{"id": created.id}, {"id": "424242"}]})
    assert status == 207 and [t.to_object_id for t in read.results[0].to] == ["101", "102"]
    assert read.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    labeled = hs.crm.associations.v4.basic_api.create("deals", "102", "tasks", created.id, [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 215}])
    assert (labeled.from_object_type_id, labeled.to_object_id) == ("0-3", created.id)
    with pytest.raises(hs_assoc.ApiException) as caught:
        hs.crm.associations.v4.basic_api.create("deals", "102", "tasks", created.id, [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 216}])
    assert caught.value.status == 400
    labels = hs.crm.associations.v4.schema.definitions_api.get_all("notes", "deals")
    assert [(r.category, r.type_id, r.label) for r in labels.results] == [("HUBSPOT_DEFINED", 214, None)]
    with pytest.raises(hs_assoc.ApiException):
        hs.crm.associations.v4.basic_api.create_default("tasks", created.id, "deals", "999")


# --- auth and scopes


def test_bad_or_missing_token_is_401(sim):
    with pytest.raises(hs_tasks.UnauthorizedException) as caught:
        client(sim, "wrong").crm.objects.tasks.batch_api.create(batch(task_input("a")))
    body = json.loads(caught.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION" and body["message"].startswith("Authentication credentials")
    request = urllib.request.Request(sim.url + "/account-info/v3/details")
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request)
    assert raw.value.code == 401 and sim.tasks() == []


def test_any_token_accepted_when_token_is_none(clock):
    with HubSpotSimulator(clock=clock, token=None) as sim:
        request = urllib.request.Request(sim.url + "/account-info/v3/details", headers={"Authorization": "Bearer x"})
        with urllib.request.urlopen(request) as response:
            assert json.load(response)["portalId"] and response.headers["X-HubSpot-RateLimit-Max"] == "100"


def test_missing_scope_is_403_with_required_scopes(clock):
    with HubSpotSimulator(clock=clock, granted_scopes={"crm.objects.deals.read"}) as sim:
        seed(sim)
        hs = client(sim)
        assert hs.crm.deals.basic_api.get_by_id("101").id == "101"
        with pytest.raises(hs_tasks.ForbiddenException) as caught:
            hs.crm.objects.tasks.batch_api.create(batch(task_input("a")))
        body = json.loads(caught.value.body)
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
        with pytest.raises(hs_owners.ForbiddenException):
            hs.crm.owners.owners_api.get_page()
        assert sim.tasks() == []


# --- rate limits and faults


def test_429_after_the_window_budget_with_headers_then_recovery(clock):
    with HubSpotSimulator(clock=clock, rate_limit=3) as sim:
        seed(sim)
        api = client(sim).crm.objects.tasks.batch_api
        remaining = [api.create_with_http_info(batch(task_input(f"k{i}")))[2]["X-HubSpot-RateLimit-Remaining"]
                     for i in range(3)]
        assert remaining == ["2", "1", "0"]
        with pytest.raises(hs_tasks.ApiException) as caught:
            api.create(batch(task_input("over")))
        assert caught.value.status == 429
        body = json.loads(caught.value.body)
        assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        assert caught.value.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert len(sim.tasks()) == 3  # the refused request committed nothing
        clock.advance(10)
        assert api.create(batch(task_input("later"))).results[0].object_write_trace_id == "later"
        assert sim.max_requests_in_window() == 3


def test_daily_limit(clock):
    with HubSpotSimulator(clock=clock, daily_limit=2) as sim:
        owners = client(sim).crm.owners.owners_api
        _, _, headers = owners.get_page_with_http_info()
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
        owners.get_page()
        with pytest.raises(hs_owners.ApiException) as caught:
            owners.get_page()
        assert json.loads(caught.value.body)["policyName"] == "DAILY"
        clock.advance(86_400)
        assert owners.get_page().results == []


def test_optional_search_limit_has_its_own_policy(sim):
    sim.set_search_rate_limit(1)
    search = client(sim).crm.objects.tasks.search_api.do_search
    query = search_request(Filter(property_name="hs_task_type", operator="HAS_PROPERTY"))
    assert search(query).total == 0
    with pytest.raises(hs_tasks.ApiException) as caught:
        search(query)
    assert json.loads(caught.value.body)["policyName"] == "SECONDLY"
    assert "X-HubSpot-RateLimit-Remaining" not in caught.value.headers


def test_storm_429_refuses_regardless_of_the_window(sim):
    sim.storm_429(2)
    api = client(sim).crm.objects.tasks.batch_api
    for _ in range(2):
        with pytest.raises(hs_tasks.ApiException) as caught:
            api.create(batch(task_input("a")))
        assert caught.value.status == 429 and json.loads(caught.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert sim.tasks() == []
    assert len(api.create(batch(task_input("a"))).results) == 1
    assert sim.max_requests_in_window() == 1


def test_commit_then_drop_creates_but_the_client_sees_a_disconnect(sim):
    sim.commit_then_drop("/tasks/batch/create")
    api = client(sim).crm.objects.tasks.batch_api
    with pytest.raises((urllib3.exceptions.ProtocolError, urllib3.exceptions.MaxRetryError)):
        api.create(batch(task_input("a"), task_input("b")))
    assert len(sim.tasks()) == 2
    assert sim.calls[-1].status == 0
    assert len(api.create(batch(task_input("c"))).results) == 1  # the next request is answered normally


def test_fail_next_answers_without_committing(sim):
    sim.fail_next("/batch/create", 502, method="POST")
    api = client(sim).crm.objects.tasks.batch_api
    with pytest.raises(hs_tasks.ServiceException) as caught:
        api.create(batch(task_input("a")))
    assert caught.value.status == 502 and json.loads(caught.value.body)["status"] == "error"
    assert sim.tasks() == []
    assert len(api.create(batch(task_input("a"))).results) == 1


def test_call_record(sim):
    hs = client(sim)
    hs.crm.owners.owners_api.get_page()
    hs.crm.objects.tasks.batch_api.create(batch(task_input("a")))
    assert sim.call_count("/crm/v3/owners") == 1
    assert sim.call_count("/crm/v3/objects/tasks", method="post") == 1
    sim.reset_calls()
    assert sim.call_count() == 0


def test_commit_late_stores_the_objects_only_after_the_client_gave_up(sim, clock):
    sim.commit_late("/tasks/batch/create", delay=45)
    api = client(sim).crm.objects.tasks.batch_api
    with pytest.raises((urllib3.exceptions.ProtocolError, urllib3.exceptions.MaxRetryError)):
        api.create(batch(task_input("a"), task_input("b")))
    assert sim.tasks() == [] and sim.calls[-1].status == 0  # still being stored when the connection went
    links = client(sim).crm.associations.v4.basic_api.get_page("deals", "101", "tasks")
    assert links.results == []
    clock.advance(45)
    stored = sim.tasks()
    assert sorted(t["properties"]["hs_task_subject"] for t in stored) == ["Follow up a", "Follow up b"]
    links = client(sim).crm.associations.v4.basic_api.get_page("deals", "101", "tasks")
    assert sorted(r.to_object_id for r in links.results) == sorted(t["id"] for t in stored)
    assert len(api.create(batch(task_input("c"))).results) == 1  # only the armed request was slow


def test_a_deleted_custom_property_is_refused_on_create(sim):
    hs = client(sim)
    hs.crm.properties.core_api.create("tasks", {"name": "ext_key", "label": "Key", "type": "string",
                                                "fieldType": "text", "groupName": "taskinformation"})
    hs.crm.objects.tasks.batch_api.create(batch(task_input("a", ext_key="k1")))
    hs.crm.properties.core_api.archive("tasks", "ext_key")  # DELETE /crm/v3/properties/tasks/ext_key
    assert "ext_key" not in sim.tasks()[0]["properties"]  # the values go with the definition
    with pytest.raises(hs_properties.NotFoundException):
        hs.crm.properties.core_api.get_by_name("tasks", "ext_key")
    answer = hs.crm.objects.tasks.batch_api.create(batch(task_input("b", ext_key="k2")))
    (error,) = answer.errors
    assert error.category == "VALIDATION_ERROR" and error.context["objectWriteTraceId"] == ["b"]
    assert "PROPERTY_DOESNT_EXIST" in error.message and "ext_key" in error.message
    with pytest.raises(hs_properties.ApiException) as caught:
        hs.crm.properties.core_api.archive("tasks", "hs_task_subject")
    assert caught.value.status == 400  # HubSpot's own properties stay


def test_v4_batch_read_pages_each_objects_links(sim):
    hs = client(sim)
    for start in range(0, 520, 100):
        hs.crm.objects.tasks.batch_api.create(batch(*(task_input(f"t{i}") for i in range(start, min(start + 100, 520)))))
    read = hs.crm.associations.v4.batch_api.get_page("deals", "tasks", {"inputs": [{"id": "101"}, {"id": "102"}]})
    (page,) = read.results  # deal 102 has no tasks: an error, not an empty result
    assert len(page.to) == 500 and page.paging.next.after
    rest = hs.crm.associations.v4.batch_api.get_page("deals", "tasks", {"inputs": [
        {"id": "101", "after": page.paging.next.after}]})
    assert len(rest.results[0].to) == 20 and rest.results[0].paging is None
    ids = {t.to_object_id for t in page.to} | {t.to_object_id for t in rest.results[0].to}
    assert ids == {t["id"] for t in sim.tasks()}
    with pytest.raises(hs_assoc.ApiException) as caught:
        hs.crm.associations.v4.batch_api.get_page("deals", "tasks", {"inputs": [{"id": str(i)} for i in range(1001)]})
    assert caught.value.status == 400
