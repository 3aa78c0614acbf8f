"""Neither dialect can drift from its document.

Every method of the client runs, in each dialect, against the real local server (the seed
dialect at ``/api/v3``, the hosted one at the hosted face); every request it put on the wire is
then checked by openapi-core against the document of its dialect: ``bu_cdp/openapi.yaml`` or
``bu_cdp/openapi.hosted.json``. A request outside its document fails, and so does an operation
of the client's dialect table that the run did not exercise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bu_cdp import BrowserUse, errors
from bu_cdp.client._dialect import TABLES, Route
from bu_cdp.models import SessionStatus
from bu_cdp.server.api.routes.hosted import PREFIX as HOSTED_PREFIX
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.thread import ServerThread
from tests.support.openapi_check import DocumentCheck, Recorder

SEED_DOCUMENT: dict[str, Any] = yaml.safe_load(
    resources.files("bu_cdp").joinpath("openapi.yaml").read_text()
)
HOSTED_DOCUMENT: dict[str, Any] = json.loads(
    resources.files("bu_cdp").joinpath("openapi.hosted.json").read_text()
)

# The two operations a bu-cdp server answers beyond the seed document, which the client uses
# in the seed dialect (browsers.list, workspaces.download). Named here, and only these, so
# that any other request outside the document still fails.
_ANSWER = {"200": {"description": "ok"}}
SEED_EXTENSIONS: dict[str, Any] = {
    "/browsers": {
        "get": {
            "operationId": "listBrowsers",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["active", "stopped"]},
                }
            ],
            "responses": _ANSWER,
        }
    },
    "/workspaces/{workspace_id}/files/{path}": {
        "parameters": [
            {"name": "workspace_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "get": {"operationId": "downloadWorkspaceFile", "responses": _ANSWER},
    },
}


def _seed_document() -> dict[str, Any]:
    document = json.loads(json.dumps(SEED_DOCUMENT))
    document["paths"]["/browsers"].update(SEED_EXTENSIONS["/browsers"])
    document["paths"].update({k: v for k, v in SEED_EXTENSIONS.items() if k != "/browsers"})
    return document


def _root(server: ServerThread) -> str:
    return str(httpx.URL(server.base_url).copy_with(path=""))


class Run:
    """One dialect's run: the client, what it sent, and what the API refused."""

    def __init__(self, server: ServerThread, dialect: str, base_url: str) -> None:
        self.recorder = Recorder()
        self.client = BrowserUse(
            base_url=base_url,
            api_key=server.config.api_key,
            dialect=dialect,
            transport=self.recorder,
            timeout=60,
        )
        self.refused: list[str] = []
        self.unsaid: list[str] = []  # NotSupportedError raised before any request

    def __call__(self, name: str, call: Callable[[], Any], *, may_refuse: int = 0) -> Any:
        before = len(self.recorder.sent)
        try:
            return call()
        except errors.APIError as exc:
            if isinstance(exc, errors.NotSupportedError) and len(self.recorder.sent) == before:
                self.unsaid.append(name)  # the client said so itself, sending nothing
            elif exc.status_code != may_refuse:
                self.refused.append(f"{name}: {exc}")
        return None


def _record_sessions(server: ServerThread) -> tuple[str, str]:
    # What an agent runner would record; the local server has none, so the test does.
    store: SessionManager = server.app.state.persistence.sessions
    done = store.record(
        "summarise the news",
        status=SessionStatus.STOPPED,
        output="done",
        recording_url="https://recordings.example/1.mp4",
        messages=[{"role": "assistant", "content": "done"}],
    )
    running = store.record("watch prices")
    return done["id"], running["id"]


def _exercise(run: Run, server: ServerThread, downloads: Path) -> None:
    """Every method of the client, with every option it has, in the run's dialect."""
    c = run.client
    browser = run(
        "browsers.create",
        lambda: c.browsers.create(timeout=5, browser_screen_width=800, browser_screen_height=600),
    )
    if browser is not None:
        run("browsers.get", lambda: c.browsers.get(browser.id))
        run("browsers.list", lambda: c.browsers.list())
        run("browsers.list(status)", lambda: c.browsers.list(status="active"))
        run("browsers.downloads", lambda: c.browsers.downloads(browser.id, include_urls=True))
        run("browsers.stop", lambda: c.browsers.stop(browser.id))

    profile = run("profiles.create", lambda: c.profiles.create("drift"))
    run("profiles.list", lambda: c.profiles.list())
    run("profiles.list(query)", lambda: c.profiles.list(query="dri"))
    if profile is not None:
        run("profiles.get", lambda: c.profiles.get(profile.id))
        run("profiles.update", lambda: c.profiles.update(profile.id, name="drift-2"))
        run("profiles.delete", lambda: c.profiles.delete(profile.id))

    workspace = run("workspaces.create", lambda: c.workspaces.create("drift"))
    run("workspaces.list", lambda: c.workspaces.list())
    if workspace is not None:
        wid = workspace.id
        run("workspaces.get", lambda: c.workspaces.get(wid))
        run("workspaces.update", lambda: c.workspaces.update(wid, name="drift-2"))
        run("workspaces.upload", lambda: c.workspaces.upload(wid, b"hello", filename="a.txt"))
        run(
            "workspaces.upload(prefix)",
            lambda: c.workspaces.upload(wid, b"nested", filename="b.txt", prefix="in/"),
        )
        run("workspaces.files", lambda: c.workspaces.files(wid))
        run("workspaces.files(prefix)", lambda: c.workspaces.files(wid, prefix="in/"))
        run("workspaces.files(urls)", lambda: c.workspaces.files(wid, include_urls=True))
        run("workspaces.size", lambda: c.workspaces.size(wid))
        # Hosted: from the presigned URL the file's listing (checked here) gives.
        got = run("workspaces.download", lambda: c.workspaces.download(wid, "a.txt", downloads))
        assert got is not None and got.read_bytes() == b"hello"
        run("workspaces.delete_file", lambda: c.workspaces.delete_file(wid, "in/b.txt"))
        run("workspaces.delete", lambda: c.workspaces.delete(wid))

    run("billing.usage", lambda: c.billing.usage())
    run("billing.balance", lambda: c.billing.balance())
    run("billing.account", lambda: c.billing.account())

    done, running = _record_sessions(server)
    # The local server has no agent runner: a create is refused with 501, after the request
    # (which is what is checked here) was sent.
    run("sessions.create", lambda: c.sessions.create("find a price", keep_alive=True),
        may_refuse=501)  # fmt: skip
    run("sessions.list", lambda: c.sessions.list())
    run("sessions.list(limit)", lambda: c.sessions.list(limit=1, offset=1))
    run("sessions.iter", lambda: list(c.sessions.iter(page_size=1)))
    run("sessions.get", lambda: c.sessions.get(done))
    run("sessions.messages", lambda: c.sessions.messages(done))
    run("sessions.recording", lambda: c.sessions.recording(done))
    run("sessions.stop(strategy)", lambda: c.sessions.stop(running, strategy="task"))
    run("sessions.stop", lambda: c.sessions.stop(running))
    run("sessions.delete", lambda: c.sessions.delete(done))


def _routes(dialect: str) -> set[tuple[str, str]]:
    """(method, path) of every operation the dialect's table says, ids as ``{}``."""
    return {
        (said.method, said.path)
        for said in TABLES[dialect].values()  # type: ignore[index]
        if isinstance(said, Route)
    }


def _as_table_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


@pytest.fixture
def runs(make_server: Callable[..., ServerThread], tmp_path: Path) -> Iterator[Any]:
    server = make_server(data_dir=tmp_path / "data")
    made: list[Run] = []

    def start(dialect: str) -> tuple[Run, ServerThread, DocumentCheck]:
        if dialect == "seed":
            base, document = server.base_url, _seed_document()
        else:
            base, document = _root(server) + HOSTED_PREFIX, HOSTED_DOCUMENT
        run = Run(server, dialect, base)
        made.append(run)
        return run, server, DocumentCheck(document, base)

    yield start
    for run in made:
        run.client.close()


@pytest.mark.parametrize("dialect", ["seed", "hosted"])
def test_every_request_of_a_dialect_is_in_its_document(
    dialect: str, runs: Any, tmp_path: Path
) -> None:
    run, server, document = runs(dialect)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    _exercise(run, server, downloads)

    handed_out: set[str] = set()  # presigned addresses the API gave: not its operations
    exercised: set[tuple[str, str]] = set()
    api_root = document.base_path
    for request in run.recorder.sent:
        if not request.url.path.startswith(api_root + "/") or (
            request.method == "PUT" and dialect == "hosted"
        ):
            # A presigned upload or download: sent without the API key.
            assert "x-browser-use-api-key" not in request.headers, request.url.path
            handed_out.add(request.method)
            continue
        method, template = document.check(request)
        exercised.add((method, _as_table_path(template)))
    assert run.refused == [], "the server refused a request the client made"
    missing = _routes(dialect) - exercised
    assert missing == set(), f"operations of the {dialect} table never exercised: {missing}"
    unsaid = {"seed": {"browsers.downloads", "workspaces.delete_file", "billing.account",
                       "sessions.delete", "sessions.stop(strategy)", "workspaces.files(urls)"},
              "hosted": {"billing.usage"}}[dialect]  # fmt: skip
    assert set(run.unsaid) == unsaid
    if dialect == "hosted":
        assert handed_out == {"PUT", "GET"}, "upload and download went through presigned URLs"
