"""Run one generator-written procedure with sync or with async objects.

A procedure yields effects and receives their results; an exception raised by an effect is
thrown back into it, so its own try/finally does the cleaning up:

- ``Call(obj, "method", ...)``: call a method. Playwright's sync and async APIs share method
  names, and so do bu-cdp's sync and async client objects; the sync runner calls, the async
  runner calls and awaits. The same procedure therefore drives either.
- ``Pause(seconds)``: wait, with ``time.sleep`` or ``asyncio.sleep``.
- ``Emit(value)``: hand a value to whoever iterates the procedure (paging, streams).

This is what keeps every sync/async pair in bu-cdp one implementation with two thin faces.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

T = TypeVar("T")


@dataclass
class Call:
    target: Any
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pause:
    seconds: float


@dataclass
class Emit:
    value: Any


Effect: TypeAlias = Call | Pause | Emit
Procedure: TypeAlias = Generator[Effect, Any, T]


def _steps_sync(procedure: Procedure[T]) -> Generator[Any, None, T]:
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = procedure.throw(error) if error is not None else procedure.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        reply, error = None, None
        try:
            if isinstance(effect, Emit):
                yield effect.value
            elif isinstance(effect, Pause):
                time.sleep(effect.seconds)
            else:
                reply = getattr(effect.target, effect.method)(*effect.args, **effect.kwargs)
        except BaseException as exc:  # handed to the procedure, which decides
            error = exc


async def _steps_async(procedure: Procedure[Any], result: list[Any]) -> AsyncIterator[Any]:
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = procedure.throw(error) if error is not None else procedure.send(reply)
        except StopIteration as done:
            result.append(done.value)  # an async generator cannot return a value
            return
        reply, error = None, None
        try:
            if isinstance(effect, Emit):
                yield effect.value
            elif isinstance(effect, Pause):
                await asyncio.sleep(effect.seconds)
            else:
                reply = getattr(effect.target, effect.method)(*effect.args, **effect.kwargs)
                if inspect.isawaitable(reply):
                    reply = await reply
        except BaseException as exc:  # handed to the procedure, which decides
            error = exc


def run_sync(procedure: Procedure[T]) -> T:
    steps = _steps_sync(procedure)
    while True:
        try:
            next(steps)  # a procedure run for its result emits nothing; skip if it does
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def iterate_sync(procedure: Procedure[Any]) -> Iterator[Any]:
    yield from _steps_sync(procedure)


async def run_async(procedure: Procedure[T]) -> T:
    result: list[T] = []
    async for _ in _steps_async(procedure, result):
        pass
    return result[0]


def iterate_async(procedure: Procedure[Any]) -> AsyncIterator[Any]:
    return _steps_async(procedure, [])
