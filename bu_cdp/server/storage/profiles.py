"""Browser profiles: Chromium user data (cookies, localStorage, IndexedDB) kept between browsers.

On disk, ``profiles/<id>/`` holds ``lock`` (held while a browser uses the profile) and one
``v-<hex>/`` folder of saved user data, the one the database row names. A save copies into a
``.saving-<hex>`` folder beside it, flushes it to disk, renames it ``v-<hex>`` and only then
points the row at it: a crash at any moment leaves the row naming a whole copy. Folders the
row does not name are leftovers of such a crash and are removed under the profile's lock.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.launch import LaunchPlan
from bu_cdp.server.shared.disk import fsync_dir, fsync_tree, try_lock
from bu_cdp.server.shared.problems import ApiProblem, not_found
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from bu_cdp.server.storage.store import Store, is_id, new_id, now, timestamp

# Rebuilt by Chromium on demand: never worth the time and space of a save.
CACHE_FOLDERS = frozenset(
    {
        "Cache",
        "Code Cache",
        "GPUCache",
        "GrShaderCache",
        "GraphiteDawnCache",
        "ShaderCache",
        "DawnCache",
        "DawnGraphiteCache",
        "DawnWebGPUCache",
        "component_crx_cache",
        "extensions_crx_cache",
        "Crashpad",
        "Crash Reports",
        "BrowserMetrics",
        "optimization_guide_model_store",
        "Safe Browsing",
        "GPUPersistentCache",
    }
)
# Belong to one running Chromium; a copy of them would confuse the next one.
RUNTIME_FILES = frozenset(
    {
        "SingletonLock",
        "SingletonSocket",
        "SingletonCookie",
        "DevToolsActivePort",
        "RunningChromeVersion",
        "BrowserMetrics-spare.pma",
    }
)
LOCK_FILE = "lock"
SAVING_PREFIX = ".saving-"
VERSION_PREFIX = "v-"


def _skipped(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in CACHE_FOLDERS or name in RUNTIME_FILES}


def _copy_regular_file(source: str, target: str) -> None:
    """Copy files; skip sockets and pipes, which only mean something to a live Chromium."""
    if stat.S_ISREG(os.lstat(source).st_mode):
        shutil.copy2(source, target)


def copy_user_data(source: Path, target: Path) -> None:
    shutil.copytree(
        source,
        target,
        symlinks=True,
        ignore=_skipped,
        copy_function=_copy_regular_file,
        dirs_exist_ok=True,
    )


def present(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "created_at": row["created_at"]}


class ProfileStore:
    """The profiles of one data folder: rows, saved user data, and who is using which."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.folder("profiles")
        self.root.mkdir(exist_ok=True)
        self._users: dict[str, str] = {}  # profile id -> browser id, for this server's browsers

    # -- rows ----------------------------------------------------------------------------

    def create(self, name: str) -> dict[str, Any]:
        profile_id = new_id()
        created = timestamp(now())
        self.store.execute(
            "INSERT INTO profiles (id, name, created_at) VALUES (?, ?, ?)",
            (profile_id, name, created),
        )
        return {"id": profile_id, "name": name, "created_at": created}

    def list(self, query: str | None = None) -> builtins.list[dict[str, Any]]:
        rows = self.store.rows("SELECT * FROM profiles ORDER BY created_at, id")
        wanted = (query or "").casefold()
        return [present(row) for row in rows if wanted in row["name"].casefold()]

    def _row(self, profile_id: str) -> Any:
        if not is_id(profile_id):
            return None
        return self.store.row("SELECT * FROM profiles WHERE id = ?", (profile_id,))

    def get(self, profile_id: str) -> dict[str, Any]:
        row = self._row(profile_id)
        if row is None:
            raise not_found("Profile", profile_id)
        return present(row)

    def rename(self, profile_id: str, name: str | None) -> dict[str, Any]:
        if name is not None and is_id(profile_id):
            self.store.execute("UPDATE profiles SET name = ? WHERE id = ?", (name, profile_id))
        return self.get(profile_id)

    def delete(self, profile_id: str) -> None:
        self.get(profile_id)
        fd = self._lock(profile_id)
        if fd is None:
            raise self._in_use(profile_id, "cannot be deleted")
        try:
            self.store.execute("DELETE FROM profiles WHERE id = ?", (profile_id,))
            shutil.rmtree(self.root / profile_id, ignore_errors=True)
        finally:
            os.close(fd)

    # -- use by a browser ----------------------------------------------------------------

    def _lock(self, profile_id: str) -> int | None:
        folder = self.root / profile_id
        folder.mkdir(exist_ok=True)
        return try_lock(folder / LOCK_FILE)

    def _in_use(self, profile_id: str, what: str) -> ApiProblem:
        user = self._users.get(profile_id)
        by = f"browser {user}" if user else "a browser of another bu-cdp server on this data folder"
        return ApiProblem(
            409,
            f"Profile {profile_id!r} is in use by {by} and {what}: a profile serves one browser "
            "at a time; stop that browser first.",
        )

    def check(self, profile_id: str) -> None:
        """404, naming the request's field, for a profile that does not exist."""
        if self._row(profile_id) is None:
            raise ApiProblem(
                404, f"Profile {profile_id!r} not found (profile_id)", field="profile_id"
            )

    def take(self, profile_id: str, browser_id: str) -> int:
        """Lock the profile for one browser; the descriptor to ``give_back``."""
        self.check(profile_id)
        fd = self._lock(profile_id)
        if fd is None:
            raise self._in_use(profile_id, "cannot start another browser")
        if self._row(profile_id) is None:  # deleted while we waited for the lock
            os.close(fd)
            raise not_found("Profile", profile_id)
        self._users[profile_id] = browser_id
        return fd

    def give_back(self, profile_id: str, fd: int) -> None:
        self._users.pop(profile_id, None)
        os.close(fd)

    def load(self, profile_id: str, target: Path) -> None:
        """Copy the saved user data into a browser's user data folder (under the lock)."""
        folder = self.root / profile_id
        row = self._row(profile_id)
        version = row["data_version"] if row is not None else None
        self._tidy(folder, keep=version)
        target.mkdir(parents=True, exist_ok=True)
        if version is not None:
            copy_user_data(folder / version, target)

    def save(self, profile_id: str, source: Path) -> None:
        """Store a stopped browser's user data as the profile's, atomically (under the lock)."""
        folder = self.root / profile_id
        version = VERSION_PREFIX + new_id().replace("-", "")
        partial = folder / (SAVING_PREFIX + version)
        try:
            copy_user_data(source, partial)
            fsync_tree(partial)
            partial.rename(folder / version)
            fsync_dir(folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        self.store.execute(
            "UPDATE profiles SET data_version = ? WHERE id = ?", (version, profile_id)
        )
        self._tidy(folder, keep=version)

    def _tidy(self, folder: Path, keep: str | None) -> None:
        """Remove every saved copy but ``keep``: older versions, and saves a crash cut short."""
        with contextlib.suppress(FileNotFoundError):
            for entry in folder.iterdir():
                if entry.name in (LOCK_FILE, keep):
                    continue
                if entry.name.startswith((VERSION_PREFIX, SAVING_PREFIX)):
                    shutil.rmtree(entry, ignore_errors=True)

    def tidy_all(self) -> None:
        """At start: drop folders of deleted profiles and saves cut short, where unlocked."""
        rows = {row["id"]: row["data_version"] for row in self.store.rows("SELECT * FROM profiles")}
        for folder in self.root.iterdir():
            fd = try_lock(folder / LOCK_FILE) if folder.is_dir() else None
            if fd is None:
                continue  # in use by a live server, or not ours
            try:
                if folder.name in rows:
                    self._tidy(folder, keep=rows[folder.name])
                elif self._row(folder.name) is None:
                    shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)


class ProfileHooks(BrowserHooks):
    """A browser created with ``profile_id`` starts from the profile and saves back into it.

    An unknown profile is refused (404) before the create takes a slot; one in use (409) when
    its lock is taken, just before launch.
    """

    def __init__(self, profiles: ProfileStore) -> None:
        self.profiles = profiles
        self._held: dict[str, tuple[str, int]] = {}  # browser id -> (profile id, lock)

    async def check(self, request: BrowserCreateRequest) -> None:
        if request.profile_id is not None:
            await asyncio.to_thread(self.profiles.check, request.profile_id)

    def needs_cold_launch(self, request: BrowserCreateRequest) -> bool:
        return bool(request.profile_id)  # its files must be in place before Chromium starts

    async def prepare(self, browser: ManagedBrowser, plan: LaunchPlan) -> None:
        profile_id = browser.request.profile_id
        if profile_id is None:
            return
        taking = asyncio.ensure_future(
            asyncio.to_thread(self.profiles.take, profile_id, browser.id)
        )
        try:
            fd = await asyncio.shield(taking)
        except asyncio.CancelledError:  # the thread goes on: give back what it takes
            taking.add_done_callback(lambda done: self._give_back_taken(profile_id, done))
            raise
        try:
            await asyncio.to_thread(self.profiles.load, profile_id, plan.user_data_dir)
        except BaseException:
            self.profiles.give_back(profile_id, fd)
            raise
        self._held[browser.id] = (profile_id, fd)
        browser.graceful_close = True  # cookies reach the disk only when Chromium quits

    def _give_back_taken(self, profile_id: str, taking: asyncio.Future[int]) -> None:
        if not taking.cancelled() and taking.exception() is None:
            self.profiles.give_back(profile_id, taking.result())

    async def finished(self, browser: ManagedBrowser) -> None:
        held = self._held.pop(browser.id, None)
        if held is None:
            return
        profile_id, fd = held
        try:
            if browser.process is not None and browser.user_data_dir.is_dir():
                await asyncio.to_thread(self.profiles.save, profile_id, browser.user_data_dir)
        finally:
            self.profiles.give_back(profile_id, fd)
