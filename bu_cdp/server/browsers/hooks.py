"""How a feature (profiles, proxies, recording, billing, ...) takes part in a browser's life.

Features plug in as ``BrowserHooks`` instead of growing the manager: each may refuse a request,
add to the launch plan, learn that the browser started, and is told exactly once that it
finished, however it finished.
"""

from __future__ import annotations

from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.launch import LaunchPlan
from bu_cdp.server.shared.schemas import BrowserCreateRequest


class BrowserHooks:
    """A feature's say in a browser's life. Every method is optional.

    A browser's Chromium may come from the warm pool, already running: then ``prepare`` sees
    a plan that has been launched, and a hook that changes it (args, env, start URL, profile
    folder) costs a fresh launch. A hook that must act *before* Chromium starts (files in the
    profile, launch flags) says so up front with ``needs_cold_launch``.
    """

    async def check(self, request: BrowserCreateRequest) -> None:
        """Refuse a request that cannot succeed (raise ApiProblem), before it costs anything.

        Called first, before the create takes a slot under ``max_browsers`` or a warm
        Chromium: a refusal here is answered at once, never after a wait in the queue.
        Keep it cheap and about the request alone (no browser exists yet): an unknown
        profile, a proxy this server does not have, no credit left.
        """

    def needs_cold_launch(self, request: BrowserCreateRequest) -> bool:
        """True if this request needs a Chromium started for it, not one from the pool."""
        return False

    async def prepare(self, browser: ManagedBrowser, plan: LaunchPlan) -> None:
        """Before launch: take what the browser needs (may raise ApiProblem), add to the plan.

        The browser has a slot and maybe a warm Chromium by now: refusals that depend on the
        request alone belong in ``check``.
        """

    async def started(self, browser: ManagedBrowser) -> None:
        """After Chromium is up and sized, before the create is answered."""

    async def finished(self, browser: ManagedBrowser) -> None:
        """Once, after Chromium is gone, whatever ended it (stop, timeout, crash, failure)."""
