"""Check the requests a client put on the wire against an OpenAPI document, with openapi-core.

``Recorder`` is an httpx transport that forwards to the real server and keeps every request.
``DocumentCheck`` validates each with openapi-core (path, method, query, header, body schema),
after closing the document's request-body objects (``additionalProperties: false``), so a field
the document does not define fails too; a query name the operation does not declare fails here.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.util import data_form_loads
from werkzeug.datastructures import Headers, ImmutableMultiDict


class Recorder(httpx.BaseTransport):
    """Forwards to the real server over real HTTP; keeps each request, its body read."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # httpx keeps the bytes and sends them on
        self.sent.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _AsOpenAPI:
    """An httpx request in the shape openapi-core reads (its ``Request`` protocol)."""

    def __init__(self, request: httpx.Request) -> None:
        url = request.url
        query = parse_qsl(url.query.decode(), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )
        self.host_url = f"{url.scheme}://{url.netloc.decode()}"
        self.path = url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")


def _form_as_text(value: bytes, **parameters: str) -> Any:
    """A multipart body's fields, each part's bytes as text: the seed document is OpenAPI 3.1
    but says a file the 3.0 way (``type: string, format: binary``), which a 3.1 validator
    reads as text. The field names are what is checked."""
    form = data_form_loads(value, **parameters)
    return ImmutableMultiDict(
        [(k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in form.items(multi=True)]
    )


def _closed(node: Any) -> Any:
    """Every object schema that lists properties allows no others."""
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


class DocumentCheck:
    """One document, served at ``base_url``."""

    def __init__(self, document: dict[str, Any], base_url: str) -> None:
        spec = copy.deepcopy(document)
        spec["servers"] = [{"url": base_url}]
        spec["components"]["schemas"] = _closed(spec["components"]["schemas"])
        for item in spec["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and "requestBody" in op:
                    op["requestBody"] = _closed(op["requestBody"])
        self.spec = spec
        self.base_path = httpx.URL(base_url).path.rstrip("/")
        config = Config(extra_media_type_deserializers={"multipart/form-data": _form_as_text})
        self.openapi = OpenAPI.from_dict(spec, config=config)

    def operation(self, request: httpx.Request) -> tuple[str, str]:
        """(method, path template) of the document's operation that ``request`` is."""
        path = request.url.path.removeprefix(self.base_path)
        method = request.method.lower()
        for template, item in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method in item:
                return request.method, template
        raise AssertionError(f"{request.method} {request.url.path}: not in the document")

    def check(self, request: httpx.Request) -> tuple[str, str]:
        method, template = self.operation(request)
        item = self.spec["paths"][template]
        declared = {
            p["name"]
            for p in [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
            if p["in"] == "query"
        }
        sent = {name for name, _ in parse_qsl(request.url.query.decode())}
        assert sent <= declared, f"{method} {template}: undeclared query {sent - declared}"
        self.openapi.validate_request(_AsOpenAPI(request))  # raises, naming the problem
        return method, template
