"""Everything the server keeps in its data folder, opened together and wired into the app.

``Persistence.open(config)`` opens the store and the features on it (profiles, workspaces,
billing, sessions, browser records); ``hooks`` go into the browser manager, ``start()`` closes
what a crashed earlier run left open, ``stop()`` closes the store after the browsers ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.recording.videos import RecordingStore, recordings_folder
from bu_cdp.server.sessions.manager import SessionManager
from bu_cdp.server.storage.billing import BillingAccount, CreditCheck
from bu_cdp.server.storage.browser_records import BrowserRecords
from bu_cdp.server.storage.profiles import ProfileHooks, ProfileStore
from bu_cdp.server.storage.runs import ServerRun
from bu_cdp.server.storage.store import Store, default_data_dir
from bu_cdp.server.storage.workspaces import WorkspaceStore

log = logging.getLogger("bu_cdp.server")


class Persistence:
    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.store = store
        self.run = ServerRun(store)
        self.billing = BillingAccount(store, config)
        self.recordings = RecordingStore(recordings_folder(config.recordings_dir, store.data_dir))
        self.records = BrowserRecords(store, self.run, self.billing.pricing, self.recordings)
        self.profiles = ProfileStore(store)
        self.workspaces = WorkspaceStore(store, self.run.id, config.max_upload_bytes)
        self.sessions = SessionManager(store)
        # Credit before profile: refuse without credit before copying a profile. The ledger
        # (``records``) is not here: the app puts it after every other hook (see app.py).
        self.hooks: list[BrowserHooks] = [CreditCheck(self.billing), ProfileHooks(self.profiles)]
        self._heartbeat: asyncio.Task[None] | None = None
        self._scratch: Path | None = None  # a stand-in data folder, removed at stop

    @classmethod
    def open(cls, config: ServerConfig) -> Persistence:
        if config.data_dir is not None:
            return cls(config, Store(config.data_dir))
        try:
            return cls(config, Store(default_data_dir()))
        except ConfigurationError as exc:
            # Raw browsers need no data folder: serve them, and say what will not last.
            scratch = Path(tempfile.mkdtemp(prefix="bu-cdp-data-"))
            log.warning(
                "%s; using %s until the server stops: profiles, workspaces and "
                "billing will not persist (set BU_CDP_HOME or --data-dir)",
                exc,
                scratch,
            )
            persistence = cls(config, Store(scratch))
            persistence._scratch = scratch
            return persistence

    async def start(self) -> None:
        await asyncio.to_thread(self._recover)
        self._heartbeat = asyncio.create_task(self.run.heartbeat())

    def _recover(self) -> None:
        self.records.recover()
        self.profiles.tidy_all()
        self.workspaces.tidy_all()

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        self.run.close()
        self.store.close()
        if self._scratch is not None:
            await asyncio.to_thread(shutil.rmtree, self._scratch, True)
