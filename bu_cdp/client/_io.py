"""The only sync/async pair of the client: sending one request over httpx.

Everything else (request shapes, retries, error mapping, polling, paging) lives in flows
that both faces share (see ``bu_cdp.effects``). A transport error is returned, not raised,
so the retry policy can weigh it like an answer.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx

from bu_cdp.client._flow import ApiRequest, RetryPolicy, SendResult


@contextlib.contextmanager
def _atomic_file(dest: Path) -> Iterator[BinaryIO]:
    """Write beside ``dest`` and rename on success, so ``dest`` is never half-written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.part"
    # Created with the mode a plain open() gives (0o666 less the umask): a download is not
    # private, as mkstemp's file would be, and the umask is never changed to learn it.
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(part, dest)
    except BaseException:
        os.unlink(part)
        raise


def _write(out: BinaryIO, chunk: bytes, request: ApiRequest) -> None:
    out.write(chunk)
    if request.on_progress is not None:
        request.on_progress(out.tell())


class SyncIO:
    def __init__(self, http: httpx.Client, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    def send(self, request: ApiRequest) -> SendResult:
        try:
            response = self.http.send(request.build(self.http), stream=True)
        except httpx.TransportError as exc:
            return exc
        try:
            if request.download_to is not None and response.is_success:
                with _atomic_file(request.download_to) as out:
                    for chunk in response.iter_bytes():
                        _write(out, chunk, request)
            else:
                response.read()
        except httpx.TransportError as exc:
            return exc
        finally:
            response.close()
        return response


class AsyncIO:
    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    async def send(self, request: ApiRequest) -> SendResult:
        try:
            response = await self.http.send(request.build(self.http), stream=True)
        except httpx.TransportError as exc:
            return exc
        try:
            if request.download_to is not None and response.is_success:
                with _atomic_file(request.download_to) as out:
                    async for chunk in response.aiter_bytes():
                        _write(out, chunk, request)
            else:
                await response.aread()
        except httpx.TransportError as exc:
            return exc
        finally:
            await response.aclose()
        return response
