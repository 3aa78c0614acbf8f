"""Finding, launching and killing Chromium: one process group per browser, nothing left behind."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import glob
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.cdp import close_browser
from bu_cdp.server.cdp_pipe import CdpError, CdpPipe

CHROMIUM_ENV = "BU_CDP_CHROMIUM"

# Quiet in a closed network: without these Chromium keeps dialling Google's hosts.
BASE_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-breakpad",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-service-autorun",
    "--password-store=basic",
    "--use-mock-keychain",
    "--metrics-recording-only",
    "--mute-audio",
    # CDP over fds 3 and 4 (see _PIPE_FDS), never a TCP port another process could reach.
    "--remote-debugging-pipe",
)

NOT_FOUND_HELP = (
    "Chromium not found: set BU_CDP_CHROMIUM to its path, or install it "
    "(Debian/Ubuntu: apt-get install -y chromium)"
)


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium to run: ``explicit``, ``BU_CDP_CHROMIUM``, Playwright's download, PATH."""
    wanted = explicit or os.environ.get(CHROMIUM_ENV)
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise ConfigurationError(f"{NOT_FOUND_HELP} ({CHROMIUM_ENV}={wanted!r} does not exist)")
        return found
    for candidate in _playwright_chromiums():
        if os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigurationError(NOT_FOUND_HELP)


def _playwright_chromiums() -> list[str]:
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache/ms-playwright")
    patterns = [
        "chromium-*/chrome-linux*/chrome",
        "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
    ]
    found: list[str] = []
    for pattern in patterns:
        found.extend(sorted(glob.glob(os.path.join(root, pattern)), reverse=True))
    return found


@dataclass
class LaunchPlan:
    """Everything one Chromium start needs; extensions (profiles, proxies) add to it."""

    executable: str
    user_data_dir: Path
    log_path: Path
    window: tuple[int, int] = (1280, 720)
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    start_url: str = "about:blank"

    def argv(self) -> list[str]:
        args = [self.executable, *BASE_FLAGS]
        if _is_root():
            args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        args += [
            f"--user-data-dir={self.user_data_dir}",
            f"--window-size={self.window[0]},{self.window[1]}",
            *self.extra_args,
            self.start_url,
        ]
        return args


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class LaunchError(Exception):
    """Chromium did not come up; the message says why, with the end of its log."""


@dataclass
class ChromiumProcess:
    process: asyncio.subprocess.Process
    pipe: CdpPipe  # its only DevTools connection, shared by the relay and the server

    @property
    def pid(self) -> int:
        return self.process.pid

    async def close_gracefully(self, timeout: float = 5.0) -> None:
        """Let Chromium quit by itself, so its profile is whole on disk; kill it if it lingers."""

        async def close_and_wait() -> None:
            await close_browser(self.pipe, timeout)
            await self.process.wait()

        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close_and_wait(), timeout)
        finally:  # cancelled or not, nothing of it is left running
            await self.kill()

    async def kill(self) -> None:
        """Kill the whole process group (renderers, GPU, zygotes) and reap the main process."""
        kill_group(self.pid)
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        self.pipe.close()


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to kill this Chromium when the server that forked it dies, even by SIGKILL."""
    assert _libc is not None
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


@functools.cache
def parent_death_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig KILL --`` (util-linux) where it exists, else nothing.

    setpriv asks Linux to kill the process it then becomes (Chromium: same pid, same process
    group) when the server dies. It spares us a ``preexec_fn``, which Python documents as
    unsafe in a threaded process (the embedded server runs in the user's) and which forces
    a full fork.

    Looked up once per process, by running setpriv: the server does it in a thread at start
    (``BrowserManager.start``), so no launch waits for it on the event loop.
    """
    found = shutil.which("setpriv") if _libc is not None else None
    return (found, "--pdeathsig", "KILL", "--") if found and _knows_pdeathsig(found) else ()


def _knows_pdeathsig(setpriv: str) -> bool:
    """util-linux before 2.33 has a setpriv without ``--pdeathsig``."""
    try:
        done = subprocess.run([setpriv, "--help"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return b"--pdeathsig" in done.stdout


# Chromium's pipe is its fds 3 (commands in) and 4 (messages out). The two ends are handed
# over as stdin and stdout, which every event loop's subprocess maps exactly, and moved to 3
# and 4 by the shell just before it becomes Chromium (same pid): no preexec_fn, no pass_fds.
_PIPE_FDS = ("/bin/sh", "-c", 'exec 3<&0 4>&1 0</dev/null 1>&2; exec "$0" "$@"')


async def launch(plan: LaunchPlan, timeout: float) -> ChromiumProcess:
    """Start Chromium and wait until it answers on its DevTools pipe."""
    plan.user_data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **plan.env}
    prefix = parent_death_prefix()
    commands_in, commands_out = os.pipe()  # Chromium reads commands_in as its fd 3
    messages_in, messages_out = os.pipe()  # and writes messages_out as its fd 4
    try:
        with plan.log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *prefix,
                *_PIPE_FDS,
                *plan.argv(),
                stdin=commands_in,
                stdout=messages_out,
                stderr=log,
                env=env,
                start_new_session=True,  # its own process group, killed as one
                preexec_fn=_die_with_parent if _libc is not None and not prefix else None,
            )
    except OSError as exc:
        for fd in (commands_out, messages_in):
            os.close(fd)
        raise LaunchError(f"could not start Chromium at {plan.executable}: {exc}") from exc
    finally:
        os.close(commands_in)  # Chromium's ends: this process keeps only its own
        os.close(messages_out)
    pipe: CdpPipe | None = None
    try:
        pipe = await CdpPipe.open(messages_in, commands_out)
        await _wait_for_pipe(process, pipe, timeout)
    except BaseException:
        kill_group(process.pid)
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        if pipe is not None:
            pipe.close()
        raise
    return ChromiumProcess(process, pipe)


async def _wait_for_pipe(
    process: asyncio.subprocess.Process, pipe: CdpPipe, timeout: float
) -> None:
    """Chromium answers once its DevTools handler runs; its pipe closes if it dies first."""
    try:
        await pipe.call("Browser.getVersion", timeout=timeout)
    except TimeoutError:
        raise LaunchError(
            f"Chromium did not answer on its DevTools pipe within {timeout:.0f}s"
        ) from None
    except CdpError:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 5)
        raise LaunchError(
            f"Chromium exited with code {process.returncode} while starting"
        ) from None


def log_tail(log_path: Path, lines: int = 5) -> str:
    """The last lines of a Chromium log, for an error message."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
