"""From observations to stored rows for the proxy: analysis, the one writer, retries and the rescue file.

The recorder runs either in the proxy's process (a writer thread) or, by default for `flowaudit proxy`, in a
writer process of its own: SQLAlchemy's per-row work then runs on another core and never holds the GIL
that mitmproxy's event loop needs, so recording does not slow the proxy down. Either way there is one
writer with batched commits; a batch that fails is kept, retried, reported, and if it still cannot be
stored at shutdown it is written to a HAR file that `flowaudit import` reads back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowaudit.core.model import Observation
from flowaudit.core.pipeline import Analysis, analyze

log = logging.getLogger("flowaudit.proxy")

RETRY_INTERVAL = 5.0
START_TIMEOUT = 120.0
SEND_BATCH = 200       # observations per message to the writer process
SEND_DELAY = 0.02      # seconds an observation may wait for its batch


class RecorderError(RuntimeError):
    """The recorder cannot start (database or signatures); the message is one line."""


@dataclass(slots=True)
class RecorderState:
    stored: int = 0
    unstored: int = 0            # failed so far and not yet stored by a retry
    last_error: str | None = None
    late_stored: int = 0         # stored by a retry after a failure
    rescue_file: str | None = None
    alive: bool = True


def one_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text.splitlines()[0][:300]}" if text else exc.__class__.__name__


class Recorder:
    """Analysis and storage of observations, run by one thread or one process."""

    def __init__(self, db_url: str, body_cap: int, *, migrate: bool = True) -> None:
        from flowaudit.db.engine import StorageError
        from flowaudit.db.store import Store
        from flowaudit.db.writer import Writer
        from flowaudit.signature_db import SignatureFileError, default_index

        try:
            self.index = default_index()
        except SignatureFileError as exc:
            raise RecorderError(f"signature database does not load: {exc}") from None
        try:
            self.store = Store(db_url, body_cap=body_cap, migrate_schema=migrate)
        except StorageError as exc:
            raise RecorderError(str(exc)) from None
        self.db_url = db_url
        self.writer = Writer(self.store)
        self._retried: set[int] = set()
        self._last_retry = 0.0

    def record(self, session: Any, obs: Observation) -> None:
        try:
            analysis = analyze(obs, self.index, session.profile if session.profile.values else None,
                               first_party=session.first_party, salt=session.salt)
        except Exception as exc:  # noqa: BLE001 - a hostile request must not lose its observation
            log.error("flowaudit: analysis failed for %s: %s", obs.host, one_line(exc))
            analysis = Analysis(obs, None, notes=[f"analysis failed: {one_line(exc)}"])
        self.writer.submit(session, analysis)

    def state(self) -> RecorderState:
        stats = self.writer.stats
        return RecorderState(stored=stats.stored, unstored=stats.failed, last_error=stats.last_error,
                             late_stored=len(self._retried))

    def maybe_retry(self) -> int:
        now = time.monotonic()
        if self.writer.stats.failed_items and now - self._last_retry >= RETRY_INTERVAL:
            self._last_retry = now
            return self.retry_failed()
        return 0

    def retry_failed(self) -> int:
        """Hand failed analyses back to the writer (each pop is atomic against the writer thread)."""
        stats = self.writer.stats
        items = []
        while stats.failed_items:
            try:
                items.append(stats.failed_items.pop(0))
            except IndexError:
                break
        if not items:
            return 0
        with self.writer._lock:  # the writer's own counter lock
            stats.failed -= len(items)
        for session, analysis in items:
            self._retried.add(id(analysis))
            self.writer.submit(session, analysis)
        log.warning("flowaudit: retrying %d observation(s) that could not be stored", len(items))
        return len(items)

    def finish(self) -> RecorderState:
        """Drain everything, one last retry for what failed, then the rescue file for what still failed."""
        from flowaudit.db.writer import WriterError

        writer = self.writer
        self.retry_failed()
        try:
            writer.flush()
        except WriterError as exc:
            log.error("flowaudit: %s", exc)
        if writer.stats.failed_items:
            time.sleep(0.5)
            self.retry_failed()
        rescue = None
        try:
            stats = writer.close()
        except WriterError as exc:
            stats = writer.stats
            log.error("flowaudit: STORAGE ERROR at shutdown: %s", exc)
            rescue = self.rescue(stats.failed_items)
        unstored_ids = {id(analysis) for _, analysis in stats.failed_items}
        self.store.close()
        return RecorderState(stored=stats.stored, unstored=stats.failed, last_error=stats.last_error,
                             late_stored=len(self._retried - unstored_ids), rescue_file=rescue, alive=False)

    def rescue(self, items: list[Any]) -> str | None:
        """Write what could not be stored to a HAR file (0600) that `flowaudit import` reads back."""
        if not items:
            return None
        from sqlalchemy.engine import make_url

        url = make_url(self.db_url)
        name = f"flowaudit-unstored-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.har"
        candidates = []
        if url.get_backend_name() == "sqlite" and url.database:
            candidates.append(Path(url.database).parent / name)
        candidates += [Path.cwd() / name, Path(tempfile.gettempdir()) / name]
        har = {"log": {"version": "1.2", "creator": {"name": "flowaudit", "version": "proxy"},
                       "entries": [har_entry(session.name, analysis.observation) for session, analysis in items]}}
        data = json.dumps(har).encode("utf-8")
        for path in candidates:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            except OSError:
                try:
                    path.unlink()
                except OSError:
                    pass
                continue
            log.error("flowaudit: %d observation(s) that could not be stored were written to %s; "
                      "store them later with: flowaudit import %s --session NAME", len(items), path, path)
            return str(path)
        log.error("flowaudit: %d observation(s) could not be stored nor written to a rescue file", len(items))
        return None


def har_entry(session: str, obs: Observation) -> dict[str, Any]:
    import base64

    entry: dict[str, Any] = {
        "startedDateTime": datetime.fromtimestamp(obs.ts, UTC).isoformat(),
        "time": 0,
        "request": {"method": obs.method or "GET", "url": obs.url if not obs.host_only else f"https://{obs.host}/",
                    "httpVersion": obs.http_version or "", "headers": [{"name": k, "value": v} for k, v in obs.headers],
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": obs.body_size or 0},
        "response": {"status": obs.status or 0, "statusText": "", "httpVersion": "",
                     "headers": [{"name": k, "value": v} for k, v in obs.response_headers], "cookies": [],
                     "content": {"size": obs.response_size or 0, "mimeType": ""}, "redirectURL": "",
                     "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
        "_flowaudit": {"session": session, "kind": str(obs.kind)},
    }
    if obs.body:
        entry["request"]["postData"] = {"mimeType": obs.header("content-type") or "application/octet-stream",
                                        "text": base64.b64encode(obs.body).decode("ascii"), "encoding": "base64"}
    if obs.error:
        entry["response"]["_error"] = obs.error
    if obs.server_ip:
        entry["serverIPAddress"] = obs.server_ip
    return entry


# ---------------------------------------------------------------------------------------------- recordings


class ThreadRecording:
    """The recorder in the proxy's own process: analysis inline, one writer thread."""

    def __init__(self, db_url: str, body_cap: int) -> None:
        self.recorder = Recorder(db_url, body_cap, migrate=False)

    def submit(self, session: Any, obs: Observation) -> None:
        self.recorder.record(session, obs)

    def poll(self) -> RecorderState:
        state = self.recorder.state()   # failures are reported before they are retried
        self.recorder.maybe_retry()
        return state

    def close(self) -> RecorderState:
        return self.recorder.finish()


class ProcessRecording:
    """The recorder in a writer process of its own; observations reach it through a queue."""

    def __init__(self, db_url: str, body_cap: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")   # never fork a process running an event loop
        self.inbox: Any = context.Queue()
        self.outbox: Any = context.Queue()
        self.process = context.Process(target=writer_process_main, name="flowaudit-writer",
                                       args=(db_url, body_cap, self.inbox, self.outbox, os.getpid()))
        self.process.start()
        self.latest = RecorderState()
        self._pending: list[tuple[Any, Observation]] = []
        self._send_scheduled = False
        self._closed = False
        try:
            first = self.outbox.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.process.kill()
            raise RecorderError("the writer process did not start") from None
        if "error" in first:
            self.process.join(10)
            raise RecorderError(first["error"])

    def submit(self, session: Any, obs: Observation) -> None:
        # batched: one pickle and one pipe write per batch instead of a feeder-thread wake-up per request
        self._pending.append((session, obs))
        if len(self._pending) >= SEND_BATCH:
            self._send()
        elif not self._send_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._send()
                return
            self._send_scheduled = True
            loop.call_later(SEND_DELAY, self._send)

    def _send(self) -> None:
        self._send_scheduled = False
        if self._pending and not self._closed:
            batch, self._pending = self._pending, []
            self.inbox.put(batch)

    def poll(self) -> RecorderState:
        while True:
            try:
                message = self.outbox.get_nowait()
            except queue.Empty:
                break
            self.latest = RecorderState(**{k: v for k, v in message.items() if k in RecorderState.__slots__})
        if not self.process.is_alive() and self.latest.alive:
            self.latest.alive = False
            self.latest.last_error = f"the writer process stopped unexpectedly (exit code {self.process.exitcode})"
        return self.latest

    def close(self, timeout: float = 300.0) -> RecorderState:
        self._send()
        self._closed = True
        self.inbox.put(None)
        deadline = time.monotonic() + timeout
        final: RecorderState | None = None
        while time.monotonic() < deadline and final is None:
            try:
                message = self.outbox.get(timeout=0.5)
            except queue.Empty:
                if not self.process.is_alive():
                    break
                continue
            state = RecorderState(**{k: v for k, v in message.items() if k in RecorderState.__slots__})
            if message.get("final"):
                final = state
            self.latest = state
        self.process.join(10)
        if final is None:
            if self.process.is_alive():
                self.process.kill()
            final = self.latest
            final.last_error = final.last_error or "the writer process did not report its final state"
            final.unstored = max(final.unstored, 1)
        self.inbox.close()
        self.outbox.close()
        return final


def writer_process_main(db_url: str, body_cap: int, inbox: Any, outbox: Any, parent_pid: int) -> None:
    # Ctrl+C reaches the whole process group: the proxy decides when this process stops (it sends None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.ERROR, format="[%(asctime)s] %(message)s")
    logging.getLogger("flowaudit.writer").setLevel(logging.CRITICAL)   # the proxy reports failures itself
    try:
        recorder = Recorder(db_url, body_cap, migrate=False)
    except Exception as exc:  # noqa: BLE001 - reported to the proxy as one line
        outbox.put({"error": one_line(exc)})
        return
    outbox.put({"ready": True, **asdict(recorder.state())})
    last_report = 0.0
    last_state: dict[str, Any] = {}
    orphaned = False
    while True:
        try:
            item = inbox.get(timeout=0.2)
        except queue.Empty:
            item = ()
        if item is None:
            break
        for session, obs in item:
            recorder.record(session, obs)
        now = time.monotonic()
        if now - last_report >= 0.5:
            last_report = now
            state = asdict(recorder.state())
            if state != last_state:   # only changes: a proxy that is busy elsewhere must not fill the pipe
                outbox.put(state)     # failures are reported before they are retried
                last_state = state
            recorder.maybe_retry()
            if os.getppid() != parent_pid:
                # the proxy died (SIGKILL): keep what reached this process, then stop
                orphaned = True
                while True:
                    try:
                        rest = inbox.get(timeout=0.5)
                    except (queue.Empty, OSError, EOFError):
                        break
                    if rest is None:
                        break
                    for session, obs in rest:
                        recorder.record(session, obs)
                break
    if orphaned:
        # nobody reads the reports any more: exit without waiting for them to be delivered
        outbox.cancel_join_thread()
    outbox.put({**asdict(recorder.finish()), "final": True})
