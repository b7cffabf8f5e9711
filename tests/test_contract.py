"""The bot's description of the ticketing API (actions/clients/contract.py) against the
running API's /openapi.json: paths, methods, and every field the bot sends or reads.

The API and the bot live in separate environments; this test is what keeps them one
contract. It reads the schema the API publishes, over HTTP, from the real process.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Dict, Set

import httpx
import pytest

from actions import fields
from actions.clients import contract
from actions.clients.ticketing import TicketingClient
from tests import staff

JSON_TYPES = {str: {"string"}, int: {"integer"}, float: {"number", "integer"}, bool: {"boolean"}}


@pytest.fixture(scope="module")
def openapi(api_url: str) -> Dict[str, Any]:
    response = httpx.get(f"{api_url}/openapi.json", timeout=10)
    response.raise_for_status()
    return response.json()


def _resolve(spec: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _variants(spec: Dict[str, Any], schema: Dict[str, Any]) -> list:
    """The alternatives of an anyOf/oneOf (Optional[...] is anyOf [..., null]), resolved."""
    schema = _resolve(spec, schema)
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        return [v for option in options for v in _variants(spec, option)]
    return [schema]


def _json_types(spec: Dict[str, Any], schema: Dict[str, Any]) -> Set[str]:
    types: Set[str] = set()
    for variant in _variants(spec, schema):
        kind = variant.get("type")
        if kind is None and ("properties" in variant or "additionalProperties" in variant):
            kind = "object"
        if kind is None and "enum" in variant:
            kind = "string"
        if isinstance(kind, list):
            types.update(kind)
        elif kind:
            types.add(kind)
    return types


def _expected(annotation: Any) -> Set[str]:
    """The JSON types a Python annotation of the contract admits."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return set().union(*(_expected(arg) for arg in typing.get_args(annotation)))
    if annotation is type(None):
        return {"null"}
    if origin is typing.Literal:
        return {"string"}
    if origin in (list, typing.List):
        return {"array"}
    if origin in (dict, typing.Dict) or typing.is_typeddict(annotation):
        return {"object"}
    return JSON_TYPES[annotation]


def _compare(spec: Dict[str, Any], typed: type, schema_name: str, direction: str) -> list:
    """Differences between a TypedDict and a schema of the API, recursing into nested ones."""
    schema = _resolve(spec, {"$ref": f"#/components/schemas/{schema_name}"})
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    hints = typing.get_type_hints(typed)
    problems = []
    for field, annotation in hints.items():
        where = f"{typed.__name__}.{field} ({schema_name})"
        if field not in properties:
            problems.append(f"{where}: the API has no such field")
            continue
        always = field in typed.__required_keys__
        if direction == "response" and always and field not in required:
            problems.append(f"{where}: the bot relies on it, the API may leave it out")
        got = _json_types(spec, properties[field])
        want = _expected(annotation)
        if direction == "response" and not got <= want:
            problems.append(f"{where}: the API sends {sorted(got)}, the bot expects {sorted(want)}")
        if direction == "request" and not (want - {"null"}) <= got:
            problems.append(f"{where}: the bot sends {sorted(want)}, the API takes {sorted(got)}")
        nested = [v for v in _variants(spec, properties[field]) if v.get("type") != "null"]
        inner = annotation
        if typing.get_origin(annotation) is typing.Union:  # Optional[X] -> X
            inner = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
        if typing.get_origin(inner) in (list, typing.List):
            inner = typing.get_args(inner)[0]
            nested = [_resolve(spec, v.get("items", {})) for v in nested]
        if typing.is_typeddict(inner):
            ref = next((v.get("title") for v in nested if v.get("properties")), None)
            if ref is None:
                problems.append(f"{where}: the API sends no object here")
            else:
                problems.extend(_compare(spec, inner, ref, direction))
    if direction == "request":
        missing = required - set(typed.__required_keys__)
        problems.extend(f"{typed.__name__} ({schema_name}): the API requires {f}" for f in sorted(missing))
    return problems


@pytest.mark.parametrize("name", sorted(contract.ENDPOINTS))
def test_endpoint_matches_the_api(openapi: Dict[str, Any], name: str) -> None:
    endpoint = contract.ENDPOINTS[name]
    operation = openapi["paths"].get(endpoint.path, {}).get(endpoint.method.lower())
    assert operation, f"{endpoint.method} {endpoint.path} is not in the API"
    responses = [
        r["content"]["application/json"]["schema"]
        for code, r in operation["responses"].items()
        if code.startswith("2") and "content" in r
    ]
    names = {s.get("$ref", "").rsplit("/", 1)[-1] for s in responses}
    assert names == {endpoint.response_schema}, f"{name} answers with {names}"
    problems = _compare(openapi, endpoint.response, endpoint.response_schema, "response")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if endpoint.request is None:
        assert body is None, f"{name}: the API expects a body"
    else:
        assert body and body.get("$ref", "").endswith("/" + endpoint.request_schema), body
        problems += _compare(openapi, endpoint.request, endpoint.request_schema, "request")
    assert not problems, "\n".join(problems)


def test_every_client_call_goes_through_the_contract() -> None:
    """A new method on the client that calls the API needs its entry in the contract."""
    methods = {
        name
        for name, member in inspect.getmembers(TicketingClient, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    # aclose() closes the client's own connections (shutdown): it calls no endpoint.
    assert methods - {"aclose"} == set(contract.ENDPOINTS)
    source = inspect.getsource(TicketingClient)
    assert source.count("self._request(") == 1, "only _call() may reach _request()"


def test_the_comparison_can_fail(openapi: Dict[str, Any]) -> None:
    """A renamed, a wrongly typed and an optional-but-relied-on field are all caught."""

    class Renamed(typing.TypedDict):
        ticket_number: str

    class WrongType(typing.TypedDict):
        ticket_no: int

    class ReliedOn(typing.TypedDict):
        delay_reason: str

    assert _compare(openapi, Renamed, "TicketOut", "response")
    assert _compare(openapi, WrongType, "TicketOut", "response")
    assert _compare(openapi, ReliedOn, "Progress", "response")
    assert not _compare(openapi, contract.Deadline, "DeadlineOut", "response")


def test_the_labels_the_bot_keeps_are_the_apis(api_url: str) -> None:
    """Category and deadline labels come with the API's answers (Classification.category_label,
    Deadline.label); the request kinds and the complaint fields are named before a ticket exists,
    and only staff may read GET /labels, so the bot keeps those two tables: the API's wording."""
    labels = httpx.get(f"{api_url}/labels", headers=staff.login(api_url, "agent1"), timeout=10)
    labels.raise_for_status()
    api = labels.json()
    assert fields.REQUEST_LABELS == api["requests"]
    assert {f.slot: f.label for f in fields.FIELDS} == {f.slot: api["fields"][f.slot] for f in fields.FIELDS}


def test_the_labels_the_bot_shows_are_in_the_contract() -> None:
    """The bot shows these as sent; dropping them from the contract would bring back a copy."""
    assert typing.get_type_hints(contract.Classification)["category_label"] is str
    assert typing.get_type_hints(contract.Deadline)["label"] is str


def test_the_emergency_contact_carries_the_trip_dates() -> None:
    """actions/emergency.py tells from them, before any verification, whether the traveller is
    abroad now and whether a complaint is about an ended trip: dropping them from the contract
    would leave it guessing (the API's side is checked by test_endpoint_matches_the_api)."""
    hints = typing.get_type_hints(contract.EmergencyContact)
    assert hints["departure_date"] is str and hints["return_date"] is str
    assert {"departure_date", "return_date"} <= contract.EmergencyContact.__required_keys__
