"""What every schemathesis run here checks of an answer, for any document and any face.

An answer must not be a server error, must have a status its operation documents or one the
server is known to answer beyond the document (``server_errors``), and must match the
document's schema and content type. ``agent_create`` names the operation that answers 501 when
the server has no language model for agent sessions (None where a model is configured).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance


def run_config(
    seed: int, max_examples: int, slow_create: str, slow_examples: int
) -> SchemathesisConfig:
    """Every run's settings: all generation modes, deterministic, no stateful phase; the
    create that launches Chromium or runs an agent (``slow_create``) has fewer examples and
    no coverage phase."""
    return SchemathesisConfig.from_str(
        f"""
seed = {seed}
suppress-health-check = ["too_slow", "filter_too_much", "data_too_large"]

[generation]
mode = "all"
max-examples = {max_examples}
deterministic = true
no-shrink = true
database = "none"

[phases.stateful]
enabled = false

[[operations]]
include-operation-id = "{slow_create}"
phases.coverage.enabled = false
generation.max-examples = {slow_examples}
"""
    )


def _operation_id(case: Case) -> str:
    return str(case.operation.definition.raw.get("operationId"))


def answer_checks(server_errors: set[int], agent_create: str | None) -> list[Callable[..., None]]:
    def no_server_error(ctx: Any, response: Any, case: Case) -> None:
        if agent_create is not None and _operation_id(case) == agent_create:
            assert response.status_code != 500, response.text
            return  # 501: agent sessions need a language model, which this server has not
        assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"

    def known_status(ctx: Any, response: Any, case: Case) -> None:
        raw = case.operation.definition.raw["responses"]
        allowed = {int(code) for code in raw if code.isdigit()} | server_errors
        if agent_create is not None and _operation_id(case) == agent_create:
            allowed.add(501)
        assert response.status_code in allowed, (
            f"undocumented {response.status_code}: {response.text}"
        )

    return [no_server_error, known_status, response_schema_conformance, content_type_conformance]


def call_and_check(
    case: Case,
    base_url: str,
    headers: dict[str, str],
    checks: list[Callable[..., None]],
    *,
    creates: str,
    undo: Callable[[httpx.Response], None],
) -> None:
    """Send ``case``, check its answer, and ``undo`` what the ``creates`` operation made
    (stop the browser or session), whether the checks passed or not."""
    response = case.call(base_url=base_url, headers=headers)
    try:
        case.validate_response(response, checks=checks)
    finally:
        if _operation_id(case) == creates and response.status_code in (200, 201):
            undo(response)
