"""A property-based run of the hosted document (``browser-use-cloud-v3.hosted.openapi.json``)
against the server's hosted face (``/hosted/api/v3``), as ``test_conformance`` does for the seed.

Every browsers, profiles, workspaces, sessions and billing operation (not ``/boxes``, which the
face does not serve) gets valid and invalid requests; the answers must hold: no 5xx (but the
501 of ``POST /sessions``, which needs an agent runner, as on the seed face), every body
matching the document's schema, every status documented or one of the errors the server
documents itself. Bounded to stay quick: a fixed seed, few examples, and ``POST /browsers``
(the only operation that launches Chromium) with a handful; each browser made is stopped.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis import Case

from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support.conformance import answer_checks, call_and_check, run_config
from tests.test_hosted_browsers import hosted_url

HOSTED_DOCUMENT = Path(str(resources.files("bu_cdp").joinpath("openapi.hosted.json")))
CREATE_BROWSER = "create_browser_session_browsers_post"
CREATE_SESSION = "create_session_sessions_post"

CONFIG = run_config(seed=20261205, max_examples=4, slow_create=CREATE_BROWSER, slow_examples=3)

schema = schemathesis.openapi.from_path(HOSTED_DOCUMENT, config=CONFIG).exclude(
    path_regex="^/boxes"
)

# Errors the local server answers beyond what the document lists (docs/dialects.md).
SERVER_ERRORS = {400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 429}


CHECKS = answer_checks(SERVER_ERRORS, agent_create=CREATE_SESSION)


@pytest.fixture(scope="module")
def hosted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    config = ServerConfig(
        api_key=secrets.token_urlsafe(16),
        port=0,
        data_dir=tmp_path_factory.mktemp("hosted-conformance-data"),
        max_upload_bytes=1 << 20,
    )
    with ServerThread(config) as running:
        yield running


@schema.parametrize()
def test_the_hosted_face_conforms_to_the_hosted_document(
    case: Case, hosted_server: ServerThread
) -> None:
    headers = {"X-Browser-Use-API-Key": hosted_server.config.api_key}
    base = hosted_url(hosted_server)

    def stop(created: httpx.Response) -> None:
        stop = f"{base}/browsers/{created.json()['id']}"
        httpx.patch(stop, json={"action": "stop"}, headers=headers, timeout=30)

    call_and_check(case, base, headers, CHECKS, creates=CREATE_BROWSER, undo=stop)
