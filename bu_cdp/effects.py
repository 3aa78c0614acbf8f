"""Run one generator-written procedure with sync or with async objects.

A procedure yields effects and receives their results; an exception raised by an effect is
thrown back into it, so its own try/finally does the cleaning up:

- ``yield from call(obj.method, *args, **kwargs)``: call a bound method and get its result.
  Playwright's sync and async APIs share method names, and so do bu-cdp's sync and async
  client objects; the sync runner calls, the async runner calls and awaits. The same procedure
  therefore drives either. The method is looked up where the procedure names it, so mypy
  checks the name and the arguments, and a misspelt name is an ``AttributeError`` at once.
- ``Pause(seconds)``: wait, with ``time.sleep`` or ``asyncio.sleep``.
- ``Emit(value)``: hand a value to whoever iterates the procedure (paging, streams).

This is what keeps every sync/async pair in bu-cdp one implementation with two thin faces.
The client, the handles, the CLI and the pytest plugin all write their steps with it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeAlias, TypeVar, overload

T = TypeVar("T")
Params = ParamSpec("Params")


@dataclass
class Call:
    """Call ``method`` (bound: the object is in it); the async runner awaits what it returns."""

    method: Callable[..., Any]
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


@overload
def call(
    method: Callable[Params, Awaitable[T]], /, *args: Params.args, **kwargs: Params.kwargs
) -> Procedure[T]: ...
@overload
def call(
    # A method of the sync face or of the async one (an object typed as either of the two)
    method: Callable[Params, Awaitable[T]] | Callable[Params, T],
    /,
    *args: Params.args,
    **kwargs: Params.kwargs,
) -> Procedure[T]: ...
def call(method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Procedure[Any]:
    """``result = yield from call(obj.method, ...)``: the typed way to yield a ``Call``."""
    return (yield Call(method, args, kwargs))


class _Steps(Generic[T]):
    """One procedure, stepped: each step sends it the last effect's result (or throws in its
    error) and gets the next effect, or None once it has returned ``result``."""

    def __init__(self, procedure: Procedure[T]) -> None:
        self._procedure = procedure
        self.reply: Any = None
        self.error: BaseException | None = None  # what the last effect raised, handed back

    result: T  # set once the procedure has returned

    def next(self) -> Effect | None:
        reply, error = self.reply, self.error
        self.reply, self.error = None, None
        try:
            if error is not None:
                return self._procedure.throw(error)
            return self._procedure.send(reply)
        except StopIteration as done:
            self.result = done.value
            return None


def _steps_sync(procedure: Procedure[T]) -> Generator[Any, None, T]:
    steps = _Steps(procedure)
    while (effect := steps.next()) is not None:
        try:
            if isinstance(effect, Emit):
                yield effect.value
            elif isinstance(effect, Pause):
                time.sleep(effect.seconds)
            else:
                steps.reply = effect.method(*effect.args, **effect.kwargs)
        except BaseException as exc:  # a consumer's GeneratorExit too: the procedure decides
            steps.error = exc
    return steps.result


async def _steps_async(procedure: Procedure[T], result: list[T]) -> AsyncIterator[Any]:
    steps = _Steps(procedure)
    while (effect := steps.next()) is not None:
        try:
            if isinstance(effect, Emit):
                yield effect.value
            else:
                steps.reply = await _performed(effect)
        except BaseException as exc:  # handed to the procedure, which decides
            steps.error = exc
    result.append(steps.result)  # an async generator cannot return a value


async def _performed(effect: Call | Pause) -> Any:
    if isinstance(effect, Pause):
        return await asyncio.sleep(effect.seconds)
    reply = effect.method(*effect.args, **effect.kwargs)
    return await reply if inspect.isawaitable(reply) else reply


def run_sync(procedure: Procedure[T]) -> T:
    steps = _steps_sync(procedure)
    while True:
        try:
            next(steps)  # a procedure run for its result emits nothing; skip if it does
        except StopIteration as done:
            value: T = done.value
            return value


def iterate_sync(procedure: Procedure[Any]) -> Iterator[Any]:
    yield from _steps_sync(procedure)


async def run_async(procedure: Procedure[T]) -> T:
    result: list[T] = []
    async for _ in _steps_async(procedure, result):
        pass
    return result[0]


def iterate_async(procedure: Procedure[Any]) -> AsyncIterator[Any]:
    return _steps_async(procedure, [])
