"""Finding, launching and killing Chromium: one process group per browser, nothing left behind."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import glob
import logging
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.chromium import isolation, priority
from bu_cdp.server.chromium.cdp import close_browser
from bu_cdp.server.chromium.pipe import CdpError, CdpPipe

log = logging.getLogger("bu_cdp.server")

CHROMIUM_ENV = "BU_CDP_CHROMIUM"

NOWHERE = "http://127.0.0.1:1"
# In a browser's work folder: Chromium's HOME (and XDG folders) and its TMPDIR.
HOME_FOLDER = "home"
TMP_FOLDER = "tmp"

# Quiet in a closed network and private: without these Chromium dials Google's hosts
# (updates, sign-in, safe browsing, field trials, metrics) on its own. Compared with
# Playwright's chromiumSwitches; a test counts every host Chromium asks a proxy for.
BASE_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-component-extensions-with-background-pages",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-field-trial-config",
    "--disable-sync",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",  # Debian's wrapper enables remote ones: their update checks
    "--disable-breakpad",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider,"
    "CertificateTransparencyComponentUpdater,AutofillServerCommunication,"
    "OptimizationGuideModelDownloading,InterestFeedContentSuggestions,PushMessaging,"
    "NetworkTimeServiceQuerying",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-service-autorun",
    "--no-pings",
    # No switch stops the sign-in cookie check (accounts.google.com/ListAccounts) nor the
    # component updater's first call (update.googleapis.com): point both at port 1, one of
    # Chromium's unsafe ports, so they fail inside Chromium before any connection is made.
    f"--gaia-url={NOWHERE}",
    f"--google-apis-url={NOWHERE}",
    f"--component-updater=url-source={NOWHERE}/",
    "--password-store=basic",
    "--use-mock-keychain",
    "--metrics-recording-only",
    "--mute-audio",
    # CDP over fds 3 and 4 (see _PIPE_FDS), never a TCP port another process could reach.
    "--remote-debugging-pipe",
)

# What of the server's environment a Chromium gets: locale and time zone, nothing else (no
# API key, no proxy password, no token). HOME, TMPDIR and XDG_* point into its work folder.
ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "TZ", "FONTCONFIG_PATH", "FONTCONFIG_FILE")
ENV_ALLOWED_PREFIXES = ("LC_",)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

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


DEFAULT_WINDOW = (1280, 720)


@dataclass
class LaunchPlan:
    """Everything one Chromium start needs; extensions (profiles, proxies) add to it."""

    executable: str
    user_data_dir: Path
    log_path: Path
    window: tuple[int, int] = DEFAULT_WINDOW
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    start_url: str = "about:blank"
    run_as: int | None = None  # a uid of its own (see isolation); None: the server's user
    niceness: int = 0  # a pool's launch yields the CPU to browsers in use (see priority)

    @property
    def workdir(self) -> Path:
        return self.user_data_dir.parent

    @property
    def tmp_dir(self) -> Path:
        return tmp_dir_of(self.workdir)

    def argv(self) -> list[str]:
        args = [self.executable, *BASE_FLAGS]
        if not self._sandboxed():
            args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        args += [
            f"--user-data-dir={self.user_data_dir}",
            f"--window-size={self.window[0]},{self.window[1]}",
            *self.extra_args,
            self.start_url,
        ]
        return args

    def _sandboxed(self) -> bool:
        if self.run_as is not None:
            return isolation.status().sandbox
        return not _is_root()

    def prefix(self) -> tuple[str, ...]:
        """setpriv in front of Chromium: tied to the server's life, and its own uid."""
        prefix = parent_death_prefix()
        if self.run_as is None or not prefix:
            return prefix
        keep = isolation.PRIORITY_SWITCHES if priority.can_raise_priority() else ()
        return (prefix[0], *isolation.switch_prefix(self.run_as), *keep, *prefix[1:])

    def environment(self) -> dict[str, str]:
        """The allow-listed part of the server's environment, its folders, the plan's own."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name in ENV_ALLOWED or name.startswith(ENV_ALLOWED_PREFIXES)
        }
        env.setdefault("PATH", DEFAULT_PATH)
        home = str(self.workdir / HOME_FOLDER)
        tmp = str(self.tmp_dir)
        env.update(HOME=home, TMPDIR=tmp, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
        return {**env, **self.env}


def plan_in(
    workdir: Path, executable: str, window: tuple[int, int], run_as: int | None
) -> LaunchPlan:
    """The plan of a Chromium whose everything lives in ``workdir``."""
    return LaunchPlan(
        executable=executable,
        user_data_dir=workdir / "user-data",
        log_path=workdir / "chromium.log",
        window=window,
        run_as=run_as,
    )


# Chromium's SingletonSocket is a unix socket in its TMPDIR, whose path must fit in 108 bytes.
_SOCKET_IN_TMP = len("/org.chromium.Chromium.XXXXXX/SingletonSocket")
_MAX_SOCKET_PATH = 107
SHORT_TMP_ROOT = Path("/tmp")


def tmp_dir_of(workdir: Path) -> Path:
    """Chromium's TMPDIR: ``tmp/`` in its work folder, or, where that path is too long for
    its socket (a deep private TMPDIR), a short folder named after it, removed with it."""
    inside = workdir / TMP_FOLDER
    if len(str(inside)) + _SOCKET_IN_TMP <= _MAX_SOCKET_PATH:
        return inside
    return SHORT_TMP_ROOT / f"bu-cdp-tmp-{workdir.name.removeprefix('bu-cdp-browser-')}"


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
    process = await start(plan)
    await wait_ready(process, timeout)
    return process


async def start(plan: LaunchPlan) -> ChromiumProcess:
    """Start Chromium without waiting for it: ``wait_ready`` it before use. It boots by
    itself meanwhile, even while this process's event loop is not running."""
    plan.user_data_dir.mkdir(parents=True, exist_ok=True)
    for folder in (plan.workdir / HOME_FOLDER, plan.tmp_dir):
        folder.mkdir(mode=0o700, exist_ok=True)
    if plan.run_as is not None and not isolation.others_can_run(plan.executable):
        _warn_not_isolated(plan.executable)
        plan.run_as = None
    if plan.run_as is not None:  # a profile copied in by the server is the server's
        await asyncio.to_thread(isolation.give, plan.workdir, plan.run_as)
        if plan.workdir not in plan.tmp_dir.parents:
            await asyncio.to_thread(isolation.give, plan.tmp_dir, plan.run_as)
    prefix = plan.prefix()
    if plan.run_as is not None and not prefix:
        raise LaunchError("setpriv is needed to start Chromium as its own user")
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
                env=plan.environment(),
                close_fds=True,  # nothing of the server's: not its listening socket
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
    if plan.niceness:
        priority.lower(process.pid, plan.niceness)
    try:
        pipe = await CdpPipe.open(messages_in, commands_out)
    except BaseException:
        kill_group(process.pid)
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        raise
    return ChromiumProcess(process, pipe)


async def wait_ready(started: ChromiumProcess, timeout: float) -> None:
    """Wait until a started Chromium answers on its pipe; kill it if it does not."""
    try:
        await _wait_for_pipe(started.process, started.pipe, timeout)
    except BaseException:
        await started.kill()
        raise


@functools.cache
def _warn_not_isolated(executable: str) -> None:
    """Once per Chromium: it runs as the server's user, and the log says so."""
    log.warning(
        "Chromium at %s cannot be run by other users, so browsers run as the server's user, "
        "NOT isolated: install it where every user can run it (apt-get install chromium)",
        executable,
    )


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
