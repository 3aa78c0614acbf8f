"""The client against the contract: what it sends, checked against openapi.yaml itself.

An httpx MockTransport records each request; that is the right tool here, because the point
is the exact shape of the request the client puts on the wire, for every operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

import httpx
import pytest
import yaml
from pydantic import BaseModel

from bu_cdp import BrowserUse, models

SPEC: dict[str, Any] = yaml.safe_load(
    resources.files("bu_cdp").joinpath("openapi.yaml").read_text()
)


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in SPEC["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters":
                continue
            found[op["operationId"]] = (method.upper(), path, {**op, "_shared": shared})
    return found


OPERATIONS = _operations()


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref_or_schema:
        name = ref_or_schema["$ref"].rsplit("/", 1)[1]
        return SPEC["components"]["schemas"][name]  # type: ignore[no-any-return]
    return ref_or_schema


# operationId -> (a call with every argument filled in, a JSON answer to give)
CALLS: dict[str, tuple[Callable[[BrowserUse], Any], Any]] = {
    "createSession": (
        lambda c: c.sessions.create(
            "find the price",
            model="m",
            keep_alive=True,
            enable_recording=True,
            workspace_id="w1",
            profile_id="p1",
            output_schema={"type": "object"},
            proxy_country_code="us",
            agentmail=False,
            session_id="s0",
        ),
        {"id": "s1", "status": "running"},
    ),
    "listSessions": (lambda c: c.sessions.list(limit=5, offset=10), []),
    "getSession": (lambda c: c.sessions.get("s1"), {"id": "s1"}),
    "stopSession": (lambda c: c.sessions.stop("s1"), {}),
    "getSessionMessages": (lambda c: c.sessions.messages("s1"), [{"role": "agent"}]),
    "getSessionRecording": (lambda c: c.sessions.recording("s1"), {"recording_url": "http://r"}),
    "createBrowser": (
        lambda c: c.browsers.create(
            proxy_country_code="de",
            custom_proxy={"host": "h", "port": 8080},
            profile_id="p1",
            enable_recording=True,
            browser_screen_width=1024,
            browserScreenHeight=768,
            timeout=15,
        ),
        {"id": "b1", "status": "active"},
    ),
    "getBrowser": (lambda c: c.browsers.get("b1"), {"id": "b1"}),
    "stopBrowser": (lambda c: c.browsers.stop("b1"), {"id": "b1", "status": "stopped"}),
    "createWorkspace": (lambda c: c.workspaces.create("docs"), {"id": "w1", "name": "docs"}),
    "listWorkspaces": (lambda c: c.workspaces.list(), []),
    "getWorkspace": (lambda c: c.workspaces.get("w1"), {"id": "w1"}),
    "updateWorkspace": (lambda c: c.workspaces.update("w1", name="new"), {"id": "w1"}),
    "deleteWorkspace": (lambda c: c.workspaces.delete("w1"), None),
    "uploadWorkspaceFiles": (
        lambda c: c.workspaces.upload("w1", b"hello", filename="a.txt", prefix="in/"),
        {},
    ),
    "listWorkspaceFiles": (lambda c: c.workspaces.files("w1", prefix="in/"), []),
    "getWorkspaceSize": (lambda c: c.workspaces.size("w1"), {"bytes": 5}),
    "createProfile": (lambda c: c.profiles.create("shop"), {"id": "p1", "name": "shop"}),
    "listProfiles": (lambda c: c.profiles.list(query="sh"), []),
    "getProfile": (lambda c: c.profiles.get("p1"), {"id": "p1"}),
    "updateProfile": (lambda c: c.profiles.update("p1", name="new"), {"id": "p1"}),
    "deleteProfile": (lambda c: c.profiles.delete("p1"), None),
    "getBillingUsage": (lambda c: c.billing.usage(), {"browser_minutes": 3}),
    "getBillingBalance": (lambda c: c.billing.balance(), {"balance": 9.5}),
}


def test_every_operation_of_the_spec_has_a_client_method() -> None:
    assert set(CALLS) == set(OPERATIONS)


def _record(call: Callable[[BrowserUse], Any], answer: Any) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        if answer is None:
            return httpx.Response(204)
        return httpx.Response(200, json=answer)

    with BrowserUse(
        api_key="k", base_url="https://api.test/api/v3", transport=httpx.MockTransport(handler)
    ) as client:
        call(client)
    assert len(seen) == 1
    return seen[0]


@pytest.mark.parametrize("operation_id", sorted(CALLS))
def test_request_matches_the_spec(operation_id: str) -> None:
    method, path, op = OPERATIONS[operation_id]
    request = _record(*CALLS[operation_id])

    assert request.method == method
    pattern = "^/api/v3" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
    assert re.match(pattern, request.url.path), (request.url.path, path)
    assert request.headers["X-Browser-Use-API-Key"] == "k"

    query_names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    assert set(request.url.params) <= query_names
    if query_names:
        assert set(request.url.params) == query_names, "every query option was given"

    body = op.get("requestBody")
    if body is None:
        assert request.content == b""
        return
    content = body["content"]
    if "multipart/form-data" in content:
        assert request.headers["content-type"].startswith("multipart/form-data")
        assert b'name="file"; filename="a.txt"' in request.content
        assert b"hello" in request.content
        return
    schema = _schema(content["application/json"]["schema"])
    sent = json.loads(request.content)
    assert set(sent) <= set(schema["properties"]), set(sent) - set(schema["properties"])
    assert set(schema.get("required", [])) <= set(sent)
    assert set(sent) == set(schema["properties"]), "every field was given, under its spec name"


def test_browser_create_uses_the_specs_mixed_field_names() -> None:
    request = _record(
        lambda c: c.browsers.create(
            proxy_country_code="us", browser_screen_width=800, browser_screen_height=600
        ),
        {"id": "b"},
    )
    assert json.loads(request.content) == {
        "proxy_country_code": "us",
        "browserScreenWidth": 800,
        "browserScreenHeight": 600,
    }


def test_unknown_field_is_a_type_error_at_the_call() -> None:
    with BrowserUse(
        api_key="k",
        base_url="https://api.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    ) as client:
        with pytest.raises(TypeError, match="screen_width"):
            client.browsers.create(screen_width=3)
        with pytest.raises(ValueError, match="timeout"):
            client.browsers.create(timeout=500)


def test_ids_cannot_change_the_path() -> None:
    request = _record(lambda c: c.browsers.get("../sessions"), {"id": "x"})
    assert request.url.raw_path == b"/api/v3/browsers/..%2Fsessions"


# -- reading: every response schema, tolerant of what this version does not know ----------


def test_browser_reads_camel_case_aliases_and_keeps_unknown_fields() -> None:
    browser = models.Browser.model_validate(
        {
            "id": "b1",
            "cdpUrl": "wss://x/cdp",
            "liveUrl": "https://live",
            "recordingUrl": "https://r",
            "status": "hibernating",
            "region": "eu-1",
        }
    )
    assert browser.cdp_url == "wss://x/cdp"
    assert browser.live_url == "https://live"
    assert browser.recording_url == "https://r"
    assert browser.status == "hibernating"
    assert browser.model_extra == {"region": "eu-1"}


def test_session_status_known_and_unknown() -> None:
    assert (
        models.Session.model_validate({"status": "running"}).status is models.SessionStatus.RUNNING
    )
    unknown = models.Session.model_validate({"status": "paused", "liveUrl": "https://l"})
    assert unknown.status == "paused" and isinstance(unknown.status, str)
    assert unknown.live_url == "https://l"


def test_a_list_answer_is_read_as_an_array_or_as_one_page_of_a_paged_object() -> None:
    # The spec answers lists as arrays; the hosted API pages some of them in an object.
    file = {"path": "in/a.csv", "size": 3}
    answers = iter([[file], {"files": [file], "nextCursor": None, "hasMore": False}, {"x": 1}])
    with BrowserUse(
        api_key="k",
        base_url="https://api.test/api/v3",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=next(answers))),
    ) as client:
        assert [f.path for f in client.workspaces.files("w1")] == ["in/a.csv"]
        assert [f.size for f in client.workspaces.files("w1")] == [3]
        with pytest.raises(ValueError, match="GET /workspaces/w1/files: expected a list"):
            client.workspaces.files("w1")


@pytest.mark.parametrize("model", [models.Workspace, models.Profile])
def test_created_at_in_both_spellings(model: type[models.ApiModel]) -> None:
    for key in ("created_at", "createdAt"):
        item = model.model_validate({"id": "1", "name": "n", key: "2026-01-02T03:04:05Z"})
        assert item.created_at is not None and item.created_at.year == 2026  # type: ignore[attr-defined]


def test_every_schema_of_the_spec_has_a_model() -> None:
    """A schema added to the contract without a model of the same name fails here."""
    missing = [
        name
        for name in SPEC["components"]["schemas"]
        if not (
            isinstance(getattr(models, name, None), type)
            and issubclass(getattr(models, name), BaseModel)
        )
    ]
    assert missing == []


FUTURE = "field_from_the_future"  # what an open object holds that this version never heard of


def _sample(schema: dict[str, Any]) -> Any:
    """A value of ``schema`` with every property it names; an open object gets a field this
    version has never heard of, which must be kept."""
    schema = _schema(schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties")
        if not properties:
            return {FUTURE: "kept"}
        return {name: _sample(prop) for name, prop in properties.items()}
    if kind == "array":
        return [_sample(schema.get("items", {}))]
    if kind == "integer":
        return 3
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return {"date-time": "2026-01-02T03:04:05Z", "uri": "https://x.test/y"}.get(
        schema.get("format", ""), "text"
    )


def _json_responses() -> dict[str, dict[str, Any]]:
    found = {}
    for operation_id, (_, _, op) in OPERATIONS.items():
        for code, answer in op.get("responses", {}).items():
            if str(code).startswith("2") and "application/json" in answer.get("content", {}):
                found[operation_id] = answer["content"]["application/json"]["schema"]
    return found


RESPONSES = _json_responses()


def _read(parsed: Any, key: str) -> Any:
    """A field of what the client returned: a named field of the model for a property the
    schema names, the kept extras for the one it does not."""
    if isinstance(parsed, dict):
        return parsed.get(key)
    if key == FUTURE:
        return (parsed.model_extra or {}).get(key)
    return getattr(parsed, key, None)


@pytest.mark.parametrize("operation_id", sorted(RESPONSES))
def test_every_response_schema_is_read_by_the_client(operation_id: str) -> None:
    """The client reads an answer with every field of the operation's response schema (and
    keeps what an open object holds), whatever the schema: derived from the spec itself."""
    answer = _sample(RESPONSES[operation_id])
    call, _ = CALLS[operation_id]
    with BrowserUse(
        api_key="k",
        base_url="https://api.test/api/v3",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=answer)),
    ) as client:
        result = call(client)
    pairs = (
        list(zip(result, answer, strict=True)) if isinstance(answer, list) else [(result, answer)]
    )
    for parsed, sent in pairs:
        for key, value in sent.items():
            got = _read(parsed, key)
            if isinstance(got, datetime):
                value = datetime.fromisoformat(value)
            assert got == value, (operation_id, key, got, value)
