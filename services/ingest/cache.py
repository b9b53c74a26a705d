"""The device-token cache: token hash -> device, so a heartbeat is authenticated without a query.

Entries are loaded lazily (misses arriving together are looked up in one query) and dropped when the
registry announces a change on the DEVICE_CHANGED channel. Nothing is cached unless the LISTEN
connection is up; when it drops, the whole cache is flushed, because a rotation could be missed.
A generation counter, bumped by every invalidation, keeps a look-up that raced with a NOTIFY from
caching what it read before the change.
"""

import asyncio
import contextlib
import enum
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, Final, Literal

import asyncpg  # type: ignore[import-untyped]

from services.ingest import metrics
from services.ingest.errors import Unavailable
from services.ingest.service import Connect, Device, GatewayCamera, devices_by_token_hash, gateway_cameras
from services.ingest.settings import IngestSettings
from shared.notify import DEVICE_CHANGED

log = logging.getLogger(__name__)


class _Missing(enum.Enum):
    MISSING = "missing"


# What the cache answers for a hash it knows nothing about: look it up.
MISSING: Final = _Missing.MISSING
# A cached answer: the device, None for a known-bad hash, or MISSING.
Cached = Device | None | Literal[_Missing.MISSING]
_MAX_LOOKUP = 1000


class DeviceCache:
    """In-process token cache invalidated over LISTEN/NOTIFY."""

    def __init__(self, settings: IngestSettings, connect: Connect, connect_lookup: Connect) -> None:
        self.settings = settings
        self._connect = connect
        self._connect_lookup = connect_lookup
        self._by_hash: dict[str, Device] = {}
        self._hashes_by_id: dict[uuid.UUID, set[str]] = {}
        self._unknown: set[str] = set()
        self._gateway_cameras: dict[uuid.UUID, dict[str, GatewayCamera]] = {}
        self._generation = 0
        self.listening = False
        self._pending: dict[str, asyncio.Future[Device | None]] = {}
        self._loader: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._pool: asyncpg.Pool | None = None
        self._closing = False
        self.hits = 0
        self.misses = 0

    async def start(self) -> None:
        """Start listening (in the background: the database may be down at start)."""
        self._pool = asyncpg.create_pool(
            min_size=0, max_size=2, connect=self._connect_for_pool, max_inactive_connection_lifetime=60
        )
        await self._pool
        self._listener = asyncio.create_task(self._listen_forever(), name="ingest-device-listener")

    async def _connect_for_pool(self, *args: Any, **kwargs: Any) -> asyncpg.Connection:
        return await asyncio.wait_for(self._connect_lookup(), self.settings.connect_timeout_s)

    async def close(self) -> None:
        """Stop listening and close the look-up connections."""
        self._closing = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pool.close(), 2)

    # ---- reads ---------------------------------------------------------------------------------

    def get(self, token_hash: str) -> Cached:
        """The cached device (None for a known-bad hash), or MISSING when it must be looked up."""
        device = self._by_hash.get(token_hash)
        if device is not None:
            self.hits += 1
            metrics.bump(metrics.CACHE_HIT)
            return device
        if token_hash in self._unknown:
            self.hits += 1
            metrics.bump(metrics.CACHE_HIT)
            return None
        return MISSING

    async def device(self, token_hash: str) -> Device | None:
        """The live device behind a token hash, from the cache or the database."""
        device = self.get(token_hash)
        if device is not MISSING:
            return device
        return await self.lookup(token_hash)

    async def lookup(self, token_hash: str) -> Device | None:
        """Look a hash up in the database, together with the other misses of this moment."""
        self.misses += 1
        metrics.bump(metrics.CACHE_MISS)
        future = self._pending.get(token_hash)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[token_hash] = future
            if self._loader is None or self._loader.done():
                self._loader = asyncio.create_task(self._load())
        return await asyncio.shield(future)

    async def _load(self) -> None:
        while self._pending:
            batch: dict[str, asyncio.Future[Device | None]] = {}
            for key in list(self._pending)[:_MAX_LOOKUP]:
                batch[key] = self._pending.pop(key)
            generation = self._generation
            try:
                assert self._pool is not None
                async with self._pool.acquire(timeout=self.settings.connect_timeout_s) as conn:
                    found = await devices_by_token_hash(conn, list(batch), timeout=self.settings.flush_timeout_s)
            except Exception as exc:
                log.warning("device look-up failed: %s", type(exc).__name__)
                for future in batch.values():
                    if not future.done():
                        future.set_exception(Unavailable("the database is unavailable"))
                continue
            cacheable = self.listening and generation == self._generation
            for key, future in batch.items():
                device = found.get(key)
                if cacheable:
                    self._remember(key, device)
                if not future.done():
                    future.set_result(device)

    def _remember(self, token_hash: str, device: Device | None) -> None:
        if device is None:
            if len(self._unknown) >= self.settings.negative_cache_size:
                self._unknown.clear()
            if self.settings.negative_cache_size:
                self._unknown.add(token_hash)
            return
        self._by_hash[token_hash] = device
        self._hashes_by_id.setdefault(device.id, set()).add(token_hash)

    async def cameras_of(self, gateway_id: uuid.UUID) -> dict[str, GatewayCamera]:
        """The cameras behind a gateway by id and code (cached like tokens)."""
        cameras = self._gateway_cameras.get(gateway_id)
        if cameras is not None:
            return cameras
        generation = self._generation
        try:
            assert self._pool is not None
            async with self._pool.acquire(timeout=self.settings.connect_timeout_s) as conn:
                cameras = await gateway_cameras(conn, gateway_id, timeout=self.settings.flush_timeout_s)
        except Exception as exc:
            log.warning("gateway camera look-up failed: %s", type(exc).__name__)
            raise Unavailable("the database is unavailable") from None
        if self.listening and generation == self._generation:
            self._gateway_cameras[gateway_id] = cameras
        return cameras

    @property
    def hit_ratio(self) -> float:
        """Hits over look-ups since start (1.0 before any)."""
        total = self.hits + self.misses
        return self.hits / total if total else 1.0

    def __len__(self) -> int:
        return len(self._by_hash)

    # ---- invalidation --------------------------------------------------------------------------

    def invalidate(self, kind: str, device_id: uuid.UUID) -> None:
        """Forget a device's tokens (and every gateway's camera list: a camera may have moved)."""
        self._generation += 1
        for token_hash in self._hashes_by_id.pop(device_id, ()):
            self._by_hash.pop(token_hash, None)
        if kind == "camera":
            self._gateway_cameras.clear()
        else:
            self._gateway_cameras.pop(device_id, None)
        metrics.TOKEN_CACHE_INVALIDATIONS.labels("notify").inc()

    def flush(self, cause: str) -> None:
        """Forget everything."""
        self._generation += 1
        self._by_hash.clear()
        self._hashes_by_id.clear()
        self._unknown.clear()
        self._gateway_cameras.clear()
        metrics.TOKEN_CACHE_INVALIDATIONS.labels(cause).inc()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            kind = data["kind"]
            device_id = uuid.UUID(str(data["id"]))
            if kind not in ("camera", "gateway"):
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable %s payload; flushing the device cache", DEVICE_CHANGED)
            self.flush("notify")
            return
        self.invalidate(kind, device_id)

    async def _listen_forever(self) -> None:
        while not self._closing:
            conn: asyncpg.Connection | None = None
            try:
                conn = listener = await asyncio.wait_for(self._connect(), self.settings.connect_timeout_s)
                lost = asyncio.Event()
                listener.add_termination_listener(_setter(lost))
                await listener.add_listener(DEVICE_CHANGED, self._on_notify)
                # Changes made while nobody listened are unknown: start from an empty cache.
                self.flush("listener_lost")
                self.listening = True
                log.info("listening on %s", DEVICE_CHANGED)
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), self.settings.listener_check_interval_s)
                    except TimeoutError:
                        # A silently dead connection is found by using it.
                        await listener.execute("SELECT 1", timeout=self.settings.connect_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.listening:
                    log.warning("lost the %s listener: %s", DEVICE_CHANGED, type(exc).__name__)
            finally:
                was_listening = self.listening
                self.listening = False
                if was_listening:
                    self.flush("listener_lost")
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            if not self._closing:
                await asyncio.sleep(self.settings.reconnect_interval_s)


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    def on_terminated(_conn: Any) -> None:
        event.set()

    return on_terminated
