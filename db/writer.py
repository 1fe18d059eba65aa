"""The one writer: a thread that drains a queue of analyses into the database in batched commits.

Producers (the proxy addon, importers) never wait on the database. A batch that fails is retried once;
if it fails again it is kept, counted and reported, never silently dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from flowaudit.core.pipeline import Analysis
from flowaudit.db.store import SessionInfo, Store

log = logging.getLogger("flowaudit.writer")
_STOP = object()


@dataclass(slots=True)
class WriterStats:
    queued: int = 0
    stored: int = 0
    failed: int = 0
    batches: int = 0
    last_error: str | None = None
    failed_items: list[tuple[SessionInfo, Analysis]] = field(default_factory=list)


class WriterError(RuntimeError):
    pass


class Writer:
    def __init__(self, store: Store, *, batch_size: int = 500, max_delay: float = 0.05) -> None:
        self.store = store
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.stats = WriterStats()
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="flowaudit-writer", daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self._thread.start()

    def submit(self, session: SessionInfo, analysis: Analysis) -> None:
        if self._closed:
            raise WriterError("writer is closed")
        with self._lock:
            self.stats.queued += 1
        self._queue.put((session, analysis))

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def flush(self, timeout: float = 60.0) -> None:
        done = threading.Event()
        self._queue.put(done)
        if not done.wait(timeout):
            raise WriterError(f"writer did not flush within {timeout:.0f}s ({self.pending} pending)")

    def close(self, timeout: float = 120.0) -> WriterStats:
        """Drain everything queued, stop the thread, and raise if anything could not be stored."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)
        if self.stats.failed:
            raise WriterError(f"{self.stats.failed} observation(s) could not be stored: {self.stats.last_error}")
        return self.stats

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            batch: list[tuple[SessionInfo, Analysis]] = []
            waiters: list[threading.Event] = []
            deadline = time.monotonic() + self.max_delay
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)  # type: ignore[arg-type]
                if stop or len(batch) >= self.batch_size:
                    break
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            if stop:
                while True:
                    try:
                        rest = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(rest, threading.Event):
                        waiters.append(rest)
                    elif rest is not _STOP:
                        batch.append(rest)  # type: ignore[arg-type]
            if batch:
                self._write(batch)
            for waiter in waiters:
                waiter.set()

    def _write(self, batch: list[tuple[SessionInfo, Analysis]]) -> None:
        by_session: dict[int, tuple[SessionInfo, list[Analysis]]] = {}
        for session, analysis in batch:
            by_session.setdefault(session.id, (session, []))[1].append(analysis)
        for session, analyses in by_session.values():
            for attempt in (1, 2):
                try:
                    self.store.write_analyses(session, analyses)
                    self.stats.stored += len(analyses)
                    self.stats.batches += 1
                    break
                except Exception as exc:  # noqa: BLE001 - any failure must be counted and shown
                    message = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                    if attempt == 1:
                        time.sleep(0.2)
                        continue
                    self.stats.failed += len(analyses)
                    self.stats.last_error = message
                    self.stats.failed_items.extend((session, a) for a in analyses)
                    log.error("flowaudit: failed to store %d observation(s): %s", len(analyses), message)
                    self._record_failure(session, f"failed to store {len(analyses)} observation(s) of session "
                                                  f"{session.name}: {message}")

    def _record_failure(self, session: SessionInfo, message: str) -> None:
        for session_id in (session.id, None):
            try:
                self.store.record_event(session_id, "error", "writer", message)
                return
            except Exception:  # noqa: BLE001, S112 - the database itself may be what failed; try without the session
                continue
