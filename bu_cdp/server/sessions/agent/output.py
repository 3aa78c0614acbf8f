"""A session's ``output_schema``: the model the agent's final answer is asked for and checked by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bu_cdp.server.sessions.agent import library
from bu_cdp.server.shared.problems import ApiProblem


def output_model(schema: dict[str, Any], config_dir: Path) -> type[BaseModel]:
    """The pydantic model of a JSON schema, as browser-use builds it for its ``done`` action.

    A schema it cannot turn into a model is the client's mistake: 422, naming the field.
    ``config_dir`` is browser-use's settings folder, should this be its first import.
    """
    library.load(config_dir)
    from browser_use.tools.extraction.schema_utils import schema_dict_to_pydantic_model

    try:
        return schema_dict_to_pydantic_model(schema)
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiProblem(
            422,
            f"output_schema cannot be used: {exc}. It must be a JSON schema of an object, "
            '{"type": "object", "properties": {...}}, without $ref, anyOf or allOf',
        ) from None


class OutputMismatch(ValueError):
    """The agent's final answer does not fit the session's output_schema."""


def checked_output(model: type[BaseModel], answer: str | None) -> str:
    """The answer as JSON text that fits ``model``; OutputMismatch says why it does not."""
    if answer is None:
        raise OutputMismatch("the agent finished without a final answer")
    try:
        data = model.model_validate_json(answer)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
            for error in exc.errors()
        )
        raise OutputMismatch(
            f"the agent's final answer does not fit output_schema ({problems}); "
            f"its answer: {answer[:300]!r}"
        ) from None
    return json.dumps(data.model_dump(mode="json"))
