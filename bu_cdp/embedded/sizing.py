"""How many warm browsers the embedded server keeps ready, read from the environment.

A warm browser pays where browsers are made one after another (a test suite: a fresh browser
per test); a script that opens one browser would only pay for it. So:

- ``BU_CDP_WARM=N`` says it outright (0 turns the pool off);
- under pytest (``PYTEST_VERSION``, set by pytest for its run, or an xdist worker), one: every
  xdist worker has a server of its own (BENCHMARKS.md says why) and runs one test at a time,
  so one browser ready while a test runs is all the next test can take; refilled only where
  a core is free for it (``warm_launches``), else only the first is started ahead;
- a program that said it reuses one browser for its run (``expect_one_browser``: the plugin,
  for ``--bu-scope session`` and ``--bu-remote``), one, launched once (``warm_launches``):
  its browser early, and no other beside its tests;
- otherwise none.

Bounded by the machine: no warm browser where the server's own limit (``max_browsers``,
about 4 per core and 2 per GiB) cannot fit one in use and one ready for every worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bu_cdp.errors import ConfigurationError

WARM_ENV = "BU_CDP_WARM"
ONE_BROWSER_ENV = "BU_CDP_EMBEDDED_ONE_BROWSER"  # set by the parent for its child


def warm_browsers(environ: Mapping[str, str], max_browsers: int) -> int:
    explicit = environ.get(WARM_ENV, "").strip()
    if explicit:
        try:
            wanted = int(explicit)
        except ValueError:
            wanted = -1
        if wanted < 0:
            raise ConfigurationError(f"{WARM_ENV} must be a whole number, 0 or more: {explicit!r}")
        return min(wanted, max_browsers)
    if environ.get(ONE_BROWSER_ENV) == "1":
        return 1 if max_browsers >= 1 else 0
    if "PYTEST_VERSION" not in environ and "PYTEST_XDIST_WORKER" not in environ:
        return 0
    return 1 if max_browsers >= 2 * _workers(environ) else 0


def warm_launches(environ: Mapping[str, str], cpus: int) -> int | None:
    """How many Chromiums the pool launches in all (None: no end). ``BU_CDP_WARM`` refills
    for as long as the server runs. Otherwise only the first is started ahead, as the server
    boots, for a program that reuses one browser, and under pytest where the machine has no
    core to spare for a refill: one launches while a test runs, and with fewer than two
    cores per worker and one more it slows that test as much as it saves the next one
    (BENCHMARKS.md: 2 cores, a fresh browser per test, 18.4 s with refills, 16.9 s without)."""
    if environ.get(WARM_ENV, "").strip():
        return None
    if environ.get(ONE_BROWSER_ENV) == "1":
        return 1
    return None if cpus >= 2 * (_workers(environ) + 1) else 1


def available_cpus() -> int:
    """The cores this process may run on (its affinity, where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _workers(environ: Mapping[str, str]) -> int:
    """The run's xdist workers, each with a server of its own (1 without xdist)."""
    return _whole(environ.get("PYTEST_XDIST_WORKER_COUNT")) or 1


def _whole(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0
