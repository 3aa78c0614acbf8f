"""A property-based run of the spec (``bu_cdp/openapi.yaml``) against the real local server.

Schemathesis generates requests for every operation of the spec, valid and invalid, and the
answers must hold: no 5xx (but the documented 501 of ``POST /sessions``, which needs an agent
runner), every body matching the spec's schema, and every status either documented by the spec
or one of the errors the server documents itself (400, 401, 402, 404, 405, 409, 413, 415,
422, 429).

Bounded to stay quick: a fixed seed, few examples per operation, and ``POST /browsers`` (the only
operation that launches Chromium) with its coverage phase off and a handful of examples; every
browser it creates is stopped at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis import Case

from bu_cdp.server.thread import ServerThread
from tests.support.conformance import answer_checks, call_and_check, run_config

SPEC = Path(str(resources.files("bu_cdp").joinpath("openapi.yaml")))

CONFIG = run_config(seed=20240501, max_examples=5, slow_create="createBrowser", slow_examples=3)

schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)

# Errors the local server answers with beyond what the spec documents (see docs/storage.md).
SERVER_ERRORS = {400, 401, 402, 404, 405, 409, 413, 415, 422, 429}


CHECKS = answer_checks(SERVER_ERRORS, agent_create="createSession")


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    import secrets

    from bu_cdp.server.config import ServerConfig

    config = ServerConfig(
        api_key=secrets.token_urlsafe(16),
        port=0,
        data_dir=tmp_path_factory.mktemp("conformance-data"),
        max_upload_bytes=1 << 20,
    )
    with ServerThread(config) as running:
        yield running


@schema.parametrize()
def test_the_server_conforms_to_the_spec(case: Case, conformance_server: ServerThread) -> None:
    headers = {"X-Browser-Use-API-Key": conformance_server.config.api_key}

    def stop(created: httpx.Response) -> None:
        stop = f"{conformance_server.base_url}/browsers/{created.json()['id']}/stop"
        httpx.post(stop, headers=headers, timeout=30).raise_for_status()

    base = conformance_server.base_url
    call_and_check(case, base, headers, CHECKS, creates="createBrowser", undo=stop)
