"""Chromium's DevTools pipe, shared by every user of one browser.

Chromium started with ``--remote-debugging-pipe`` reads CDP messages from its fd 3 and writes
its own to fd 4, each a JSON text ended by a NUL byte, and opens no TCP port: nothing on the
machine but this server can reach it. The pipe is *one* DevTools connection, and what a
connection sets up (auto-attach, target discovery, the browser contexts it creates) belongs to
whoever uses it. So each user (a relayed websocket client, or the server's own
``CdpConnection``) gets a browser-target session of its own (``Target.attachToBrowserTarget``,
flat mode), which Chromium treats as a connection of its own:

- a user's messages without a ``sessionId`` go to its browser session; a message naming a
  session that is not the user's is refused, so one client never reaches another's targets;
- message ids are made unique across users on the way in and given back on the way out;
- sessions attached under a user's sessions (``Target.attachedToTarget`` on them, or the
  result of ``Target.attachToTarget``) are that user's, and their messages go to it alone;
- a user that leaves detaches its browser session: Chromium detaches every session under it
  and disposes of the browser contexts it created, as when a websocket client disconnects.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from typing import Any

import orjson

log = logging.getLogger("bu_cdp.server")

# A message as Chromium sent it: its bytes too, when passed on unchanged (no re-encoding).
Deliver = Callable[[dict[str, Any], bytes | None], None]
SESSION_NOT_FOUND = -32001  # Chromium's own code for a sessionId it does not know


class CdpError(Exception):
    """A CDP command failed, or the connection it was sent on ended."""


class CdpPipe(asyncio.Protocol):
    """The server's end of one Chromium's pipe: root commands, and the users' sessions."""

    def __init__(self) -> None:
        self._writer: asyncio.WriteTransport | None = None
        self._partial = bytearray()  # the start of a message not yet ended by its NUL
        self._ids = itertools.count(1)
        # A command in flight: the pipe's own (a future), or a user's (the user, its id).
        self._calls: dict[int, asyncio.Future[dict[str, Any]] | tuple[PipeSession, Any]] = {}
        self._owners: dict[str, PipeSession] = {}  # sessionId -> the user it belongs to
        self._users: set[PipeSession] = set()
        self._ended = asyncio.Event()

    @classmethod
    async def open(cls, read_fd: int, write_fd: int) -> CdpPipe:
        """Take over the server's two ends: ``read_fd`` (Chromium's fd 4), ``write_fd`` (3)."""
        loop = asyncio.get_running_loop()
        pipe = cls()
        try:
            await loop.connect_read_pipe(lambda: pipe, os.fdopen(read_fd, "rb", buffering=0))
        except BaseException:
            os.close(write_fd)
            raise
        writer, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(write_fd, "wb", buffering=0)
        )
        pipe._writer = writer
        return pipe

    # -- the pipe's own commands ---------------------------------------------------------

    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """A command on the root session (the pipe's own, no user's)."""
        call_id = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = answer
        try:
            self._write({"id": call_id, "method": method, "params": params or {}})
            return await asyncio.wait_for(answer, timeout)
        finally:
            self._calls.pop(call_id, None)

    def session(self, deliver: Deliver, ended: Callable[[], None]) -> PipeSession:
        """A new user: ``deliver`` gets its messages, ``ended`` is called once at its end."""
        return PipeSession(self, deliver, ended)

    @property
    def closed(self) -> bool:
        return self._ended.is_set()

    async def wait_closed(self) -> None:
        await self._ended.wait()

    def close(self) -> None:
        """Close the server's ends (Chromium quits when its pipe closes)."""
        if self._writer is not None:
            self._writer.close()
        self._end()

    def _write(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing() or self.closed:
            raise CdpError("CDP pipe closed: the browser has ended")
        self._writer.write(orjson.dumps(message) + b"\0")

    # -- asyncio.Protocol: Chromium's messages -------------------------------------------

    def data_received(self, data: bytes) -> None:
        end = data.find(b"\0")
        if end < 0:
            self._partial += data
            return
        if self._partial:  # a message that came in several reads (screenshots do)
            self._partial += data[:end]
            first, self._partial = bytes(self._partial), bytearray()
            self._route(first)
        else:
            self._route(data[:end])
        start = end + 1
        while (end := data.find(b"\0", start)) >= 0:
            self._route(data[start:end])
            start = end + 1
        self._partial += data[start:]

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def _route(self, raw: bytes) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("Chromium sent a message that is not JSON: %r", raw[:80])
            return
        call_id = message.get("id")
        if call_id is not None:
            caller = self._calls.pop(call_id, None)
            if isinstance(caller, asyncio.Future):
                if not caller.done():
                    if "error" in message:
                        caller.set_exception(CdpError(message["error"].get("message", "error")))
                    else:
                        caller.set_result(message.get("result", {}))
            elif caller is not None:
                caller[0]._answer(message, caller[1])
            return
        owner = self._owners.get(message.get("sessionId", ""))
        if owner is None:
            return  # the root session's events (its own attaches): no user's business
        method = message.get("method")
        if method == "Target.attachedToTarget":
            owner._adopt(message["params"]["sessionId"])
        elif method == "Target.detachedFromTarget":
            owner._drop(message["params"].get("sessionId", ""))
        owner._event(message, raw)

    def _end(self) -> None:
        if self._ended.is_set():
            return
        self._ended.set()
        for caller in self._calls.values():
            if isinstance(caller, asyncio.Future) and not caller.done():
                caller.set_exception(CdpError("CDP pipe closed: the browser has ended"))
        self._calls.clear()
        for user in list(self._users):
            user._finish()


class PipeSession:
    """One user of a pipe, as if it had a DevTools connection of its own."""

    def __init__(self, pipe: CdpPipe, deliver: Deliver, ended: Callable[[], None]) -> None:
        self._pipe = pipe
        self._deliver = deliver
        self._ended_callback = ended
        self._browser_session = ""
        self._sessions: set[str] = set()  # every session of this user, its browser one too
        self._ended = asyncio.Event()

    async def attach(self, timeout: float = 10.0) -> None:
        """Open this user's browser session; until then it can send nothing."""
        result = await self._pipe.call("Target.attachToBrowserTarget", timeout=timeout)
        self._browser_session = result["sessionId"]
        self._pipe._users.add(self)
        self._adopt(self._browser_session)

    @property
    def closed(self) -> bool:
        return self._ended.is_set()

    async def wait_closed(self) -> None:
        await self._ended.wait()

    def send(self, message: dict[str, Any]) -> None:
        """A message of this user's, its ``id`` its own (changed here, given back in the answer)."""
        if self.closed or self._pipe.closed:
            raise CdpError("CDP pipe closed: the browser has ended")
        own_id = message.get("id")
        session = message.get("sessionId")
        if session is None:
            message["sessionId"] = self._browser_session
        elif session not in self._sessions:
            self.reply(self._error(own_id, "Session with given id not found."))
            return
        call_id = next(self._pipe._ids)
        self._pipe._calls[call_id] = (self, own_id)
        message["id"] = call_id
        self._pipe._write(message)

    def reply(self, message: dict[str, Any]) -> None:
        """A message to this user from the server itself, not from Chromium."""
        if not self.closed:
            self._deliver(message, None)

    @staticmethod
    def _error(own_id: Any, text: str) -> dict[str, Any]:
        return {"id": own_id, "error": {"code": SESSION_NOT_FOUND, "message": text}}

    async def detach(self) -> None:
        """Leave: Chromium detaches this user's sessions and disposes of what it created."""
        if self.closed:
            return
        browser_session = self._browser_session
        self._finish()
        if browser_session and not self._pipe.closed:
            try:
                await self._pipe.call(
                    "Target.detachFromTarget", {"sessionId": browser_session}, timeout=5
                )
            except (CdpError, TimeoutError) as exc:  # it ended meanwhile: nothing is left
                log.debug("detaching a CDP session: %s", exc)

    # -- called by the pipe ----------------------------------------------------------------

    def _adopt(self, session: str) -> None:
        self._sessions.add(session)
        self._pipe._owners[session] = self

    def _drop(self, session: str) -> None:
        self._sessions.discard(session)
        if self._pipe._owners.get(session) is self:
            del self._pipe._owners[session]

    def _answer(self, message: dict[str, Any], own_id: Any) -> None:
        if self.closed:
            return
        message["id"] = own_id
        if message.get("sessionId") == self._browser_session:
            del message["sessionId"]
        result = message.get("result")
        if result and isinstance(result.get("sessionId"), str):  # Target.attachToTarget
            self._adopt(result["sessionId"])
        self._deliver(message, None)

    def _event(self, message: dict[str, Any], raw: bytes) -> None:
        if message.get("sessionId") == self._browser_session:
            del message["sessionId"]  # the user's own "connection": no session, as Chromium's
            self._deliver(message, None)
        else:
            self._deliver(message, raw)

    def _finish(self) -> None:
        if self._ended.is_set():
            return
        self._ended.set()
        self._pipe._users.discard(self)
        for session in list(self._sessions):
            self._drop(session)
        for call_id, caller in list(self._pipe._calls.items()):
            if isinstance(caller, tuple) and caller[0] is self:
                del self._pipe._calls[call_id]
        self._ended_callback()
