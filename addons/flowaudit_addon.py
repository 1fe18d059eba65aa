"""flowaudit's mitmproxy addon: records every request that leaves the device, attributes it to an SDK and
finds personal data in it, and stores the result.

Use it with ``flowaudit proxy`` or directly::

    mitmdump -s addons/flowaudit_addon.py --set flowaudit_db=audit.db --set flowaudit_session=app-run-1

Classification runs inline (it is fast); storage goes through one writer thread with batched commits, so
the event loop never waits on the database. A request is snapshotted when it has fully arrived and
recorded when its response or its error arrives; whatever is still in flight at shutdown is recorded too.
"""

# No `from __future__ import annotations`: mitmproxy loads this file as a script without registering it in
# sys.modules, and dataclasses cannot resolve string annotations of such a module.
import asyncio
import gc
import html
import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from mitmproxy import exceptions, http, tcp, tls
from mitmproxy.addonmanager import Loader

from flowaudit.core.markers import MARKER_HOST, marker_from_observation
from flowaudit.core.model import Observation, ObservationKind, Source
from flowaudit.core.profile import DeviceProfile
from flowaudit.readers.mitmflow import (
    PINNING_ERROR,
    complete_observation,
    observation_from_flow,
    observation_from_tls_failure,
    request_observation,
    websocket_message_observation,
)

log = logging.getLogger("flowaudit.proxy")

DEFAULT_SESSION = "default"
DEFAULT_BODY_CAP = 1_000_000
MAX_SESSION_NAME = 200
# settings row through which another process (CLI, dashboard) switches the running proxy's session
ACTIVE_SESSION_KEY = "proxy.session"
# never recorded: it is meant for the proxy, not for whoever the device talks to
_DROPPED_HEADERS = frozenset({"proxy-authorization"})
_META_RECORDED = "flowaudit_recorded"
_META_LOCAL = "flowaudit_local"
_META_ORIGIN = "flowaudit_origin"


@dataclass(slots=True, frozen=True)
class ClientRule:
    """Maps a client (IP, network or proxy listen port, e.g. one WireGuard server per phone) to a session."""

    session: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    def matches(self, client_ip: str | None, listen_port: int | None) -> bool:
        if self.port is not None:
            return listen_port == self.port
        if self.network is None or not client_ip:
            return False
        try:
            address = ipaddress.ip_address(client_ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return address.version == self.network.version and address in self.network


def parse_client_rule(spec: str) -> ClientRule:
    """``IP=session``, ``CIDR=session`` or ``port:N=session``."""
    key, sep, session = spec.partition("=")
    key, session = key.strip(), session.strip()
    if not sep or not key or not session:
        raise ValueError(f"{spec!r}: expected CLIENT=SESSION (client: an IP, a network like 10.0.0.0/24, or port:N)")
    check_session_name(session)
    if key.startswith("port:"):
        try:
            port = int(key[5:])
        except ValueError:
            raise ValueError(f"{spec!r}: port:N needs a number") from None
        if not 0 < port < 65536:
            raise ValueError(f"{spec!r}: port out of range")
        return ClientRule(session, port=port)
    try:
        return ClientRule(session, network=ipaddress.ip_network(key, strict=False))
    except ValueError:
        raise ValueError(f"{spec!r}: {key!r} is not an IP address, a network or port:N") from None


def check_session_name(name: str) -> str:
    if not name or not name.strip():
        raise ValueError("session name is empty")
    if len(name) > MAX_SESSION_NAME:
        raise ValueError(f"session name longer than {MAX_SESSION_NAME} characters")
    if any(ord(c) < 32 for c in name):
        raise ValueError("session name contains control characters")
    return name.strip()


def parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def parse_upstream_override(spec: str) -> dict[int | None, tuple[str, int]]:
    """``HOST:PORT`` (every request) and/or ``ORIGINAL_PORT=HOST:PORT`` entries, comma-separated."""
    table: dict[int | None, tuple[str, int]] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        original, sep, target = entry.rpartition("=")
        if sep and not original.isdigit():
            raise ValueError(f"{entry!r}: expected ORIGINAL_PORT=HOST:PORT")
        table[int(original) if sep else None] = parse_host_port(target)
    return table


@dataclass(slots=True)
class ProxyStatus:
    """What the proxy has done so far; `flowaudit proxy` prints it and the error state it carries."""

    recorded: int = 0
    stored: int = 0
    markers: int = 0
    pinned_hosts: dict[str, set[str]] = field(default_factory=dict)
    storage_errors: int = 0
    last_error: str | None = None
    late_stored: int = 0
    rescue_file: str | None = None
    control_errors: int = 0      # markers, events or session switches that could not be written

    @property
    def ok(self) -> bool:
        return self.storage_errors == 0 and self.control_errors == 0


class FlowauditAddon:
    def __init__(self) -> None:
        self.store: Any = None
        self.recording: Any = None
        self.writer_process = True
        self._recording_mode: bool | None = None
        self._writer_lost = False
        self.status = ProxyStatus()
        self.default_session: str = DEFAULT_SESSION
        self.rules: list[ClientRule] = []
        self.sessions: dict[str, Any] = {}           # name -> SessionInfo
        self.profile: DeviceProfile | None = None
        self.keep_raw: bool = False
        self.first_party: list[str] = []
        self.body_cap: int = DEFAULT_BODY_CAP
        self.upstream_override: dict[int | None, tuple[str, int]] = {}
        self._db_url: str | None = None
        self._in_flight: dict[str, tuple[Any, Observation]] = {}
        self._control: ThreadPoolExecutor | None = None
        self._control_jobs: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._watch_task: asyncio.Task[None] | None = None
        self._reported_failures = 0
        self._connect_targets: dict[str, tuple[str, int]] = {}

    # options ------------------------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
        loader.add_option("flowaudit_db", str, "",
                          "flowaudit database: a file path or SQLAlchemy URL (default: $FLOWAUDIT_DB, else ./flowaudit.db).")
        loader.add_option("flowaudit_session", str, DEFAULT_SESSION,
                          "Session (one app run on one device) that observations are recorded into.")
        loader.add_option("flowaudit_device_profile", str, "",
                          "YAML device profile: values known to be on the device (IMEI, OAID, phone number...).")
        loader.add_option("flowaudit_keep_raw", bool, False,
                          "Keep raw bodies and personal-data values (evidence); redacted by default.")
        loader.add_option("flowaudit_body_cap", int, DEFAULT_BODY_CAP,
                          "Largest request body (bytes) that is analysed and stored; larger bodies are truncated.")
        loader.add_option("flowaudit_client_sessions", Sequence[str], [],
                          "Map clients to sessions so several devices can be audited at once: "
                          "IP=session, CIDR=session or port:N=session (N: the proxy's listen port, e.g. one "
                          "WireGuard server per phone).")
        loader.add_option("flowaudit_first_party", Sequence[str], [],
                          "The audited app's own domains (requests to them are first-party, not an SDK).")
        loader.add_option("flowaudit_writer_process", bool, True,
                          "Store from a writer process of its own (keeps database work off the proxy's core); "
                          "off: a writer thread in the proxy process.")
        loader.add_option("flowaudit_upstream_override", str, "",
                          "Testing only: after recording its real destination, send a request to HOST:PORT instead "
                          "(HOST:PORT for all, ORIGINAL_PORT=HOST:PORT per port; comma-separated).")

    def configure(self, updated: set[str]) -> None:
        from mitmproxy import ctx

        opts = ctx.options
        if "flowaudit_body_cap" in updated:
            if opts.flowaudit_body_cap <= 0:
                raise exceptions.OptionsError("flowaudit_body_cap must be a positive number of bytes")
            self.body_cap = opts.flowaudit_body_cap
        if "flowaudit_session" in updated:
            try:
                self.default_session = check_session_name(opts.flowaudit_session)
            except ValueError as exc:
                raise exceptions.OptionsError(f"flowaudit_session: {exc}") from None
        if "flowaudit_client_sessions" in updated:
            try:
                specs = [part for spec in opts.flowaudit_client_sessions for part in spec.split(",") if part.strip()]
                self.rules = [parse_client_rule(spec) for spec in specs]
            except ValueError as exc:
                raise exceptions.OptionsError(f"flowaudit_client_sessions: {exc}") from None
        if "flowaudit_device_profile" in updated:
            self.profile = self._load_profile(opts.flowaudit_device_profile)
        if "flowaudit_upstream_override" in updated:
            try:
                self.upstream_override = parse_upstream_override(opts.flowaudit_upstream_override)
            except ValueError as exc:
                raise exceptions.OptionsError(f"flowaudit_upstream_override: {exc}") from None
        if "flowaudit_first_party" in updated:
            self.first_party = [d.strip().lower().rstrip(".") for d in opts.flowaudit_first_party if d.strip()]
        if "flowaudit_keep_raw" in updated:
            self.keep_raw = bool(opts.flowaudit_keep_raw)
        if "flowaudit_writer_process" in updated:
            self.writer_process = bool(opts.flowaudit_writer_process)
        session_options = {"flowaudit_db", "flowaudit_session", "flowaudit_device_profile", "flowaudit_keep_raw",
                           "flowaudit_first_party", "flowaudit_client_sessions", "flowaudit_body_cap",
                           "flowaudit_writer_process"}
        if updated & session_options:
            self._open_storage(opts.flowaudit_db or None)

    @staticmethod
    def _load_profile(path: str) -> DeviceProfile | None:
        if not path:
            return None
        import yaml

        from flowaudit.core.profile import ProfileError

        try:
            data = yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8"))
            return DeviceProfile.from_mapping(data)
        except FileNotFoundError:
            raise exceptions.OptionsError(f"flowaudit_device_profile: file not found: {path}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ProfileError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise exceptions.OptionsError(f"flowaudit_device_profile: invalid profile {path}: {first}") from None

    def _open_storage(self, db: str | None) -> None:
        from flowaudit.db.engine import StorageError, database_url
        from flowaudit.db.store import Store
        from flowaudit.signature_db import SignatureFileError, default_index

        if not self.writer_process:
            # with a writer process, analysis (and the signature index) lives there, not in the proxy's heap
            try:
                default_index()
            except SignatureFileError as exc:
                raise exceptions.OptionsError(f"flowaudit: signature database does not load: {exc}") from None
        url = database_url(db)
        if (self.store is None or url != self._db_url or self.store.body_cap != self.body_cap
                or self._recording_mode != self.writer_process):
            self._close_storage()
            try:
                self.store = Store(url, body_cap=self.body_cap)   # migrates; sessions, markers and events
            except StorageError as exc:
                raise exceptions.OptionsError(f"flowaudit_db: {exc}") from None
            self._db_url = url
            self._control = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowaudit-control")
        self.sessions = {}
        names = [self.default_session, *dict.fromkeys(rule.session for rule in self.rules)]
        for name in names:
            try:
                self.sessions[name] = self._open_session(name)
            except StorageError as exc:
                raise exceptions.OptionsError(f"flowaudit_db: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - any database failure must reach the user as one line
                raise exceptions.OptionsError(f"flowaudit_db: cannot open session {name!r}: {_one_line(exc)}") from None
        if self.recording is None:
            from flowaudit.addons.recorder import ProcessRecording, RecorderError, ThreadRecording

            try:
                self.recording = (ProcessRecording if self.writer_process else ThreadRecording)(url, self.body_cap)
            except RecorderError as exc:
                raise exceptions.OptionsError(f"flowaudit_db: {exc}") from None
            self._recording_mode = self.writer_process

    def _open_session(self, name: str) -> Any:
        return self.store.open_session(name, device_profile=self.profile, keep_raw=True if self.keep_raw else None,
                                       first_party=self.first_party or None)

    def _close_storage(self) -> None:
        if self.recording is not None:
            self._finish_recording()
        if self._control is not None:
            self._control.shutdown(wait=True)
            self._control = None
        if self.store is not None:
            self.store.close()
        self.store = self.recording = None

    @property
    def writer(self) -> Any:
        """Whether recording is set up (kept for the hooks' early returns)."""
        return self.recording

    # lifecycle ----------------------------------------------------------------------------------

    def running(self) -> None:
        if self.store is None:
            from mitmproxy import ctx

            self._open_storage(ctx.options.flowaudit_db or None)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # Everything loaded so far (mitmproxy, SQLAlchemy, flowaudit) lives as long as the proxy: keep it out of
        # the collector's full passes, which otherwise stall the event loop for tens of milliseconds.
        gc.freeze()
        self._watch_task = loop.create_task(self._watch())
        self._run_control(self.store.record_event, self.sessions[self.default_session].id, "info", "proxy",
                          f"proxy started; recording into session {self.default_session!r}")
        self._run_control(write_active_session, self.store, self.default_session)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.check_storage()
            if not self._control_jobs:
                self._run_control(self.follow_active_session)

    def check_storage(self) -> None:
        """Report storage failures loudly (mitmproxy's log at error level) and keep them in the status."""
        if self.recording is None:
            return
        state = self.recording.poll()
        self.status.stored = state.stored
        if state.unstored and state.unstored != self._reported_failures:
            self.status.last_error = state.last_error
            log.error("flowaudit: STORAGE ERROR: %d observation(s) not stored yet (kept in memory, retrying): %s",
                      state.unstored, state.last_error)
        elif self._reported_failures and not state.unstored:
            log.warning("flowaudit: storage recovered; every observation is stored")
        self._reported_failures = state.unstored
        if not state.alive and not self._writer_lost:
            self._writer_lost = True
            self.status.control_errors += 1
            self.status.last_error = state.last_error
            log.error("flowaudit: STORAGE ERROR: %s", state.last_error)

    def done(self) -> None:
        """Shutdown: record requests still in flight, then flush everything queued."""
        if self.recording is None:
            return
        if self._watch_task is not None:
            self._watch_task.cancel()
        with self._lock:
            pending = list(self._in_flight.values())
            self._in_flight.clear()
        for session, obs in pending:
            if obs.error is None and obs.status is None:
                obs.error = "in flight when the proxy stopped (no response recorded)"
            self._submit(session, obs)
        self._wait_control()
        stored = self._finish_recording()
        try:
            self.store.record_event(self.sessions[self.default_session].id, "info" if self.status.ok else "error",
                                    "proxy", f"proxy stopped; {stored} observation(s) stored, "
                                    f"{self.status.storage_errors} not stored")
        except Exception as exc:  # noqa: BLE001 - reported, the database may be what failed
            log.error("flowaudit: cannot record the shutdown event: %s", _one_line(exc))
        if self._control is not None:
            self._control.shutdown(wait=True)
            self._control = None
        self.store.close()
        self.store = self.recording = None

    def _finish_recording(self) -> int:
        state = self.recording.close()
        self.status.stored = state.stored
        self.status.storage_errors = state.unstored
        self.status.late_stored = state.late_stored
        self.status.rescue_file = state.rescue_file
        if state.unstored:
            self.status.last_error = state.last_error
            log.error("flowaudit: STORAGE ERROR: %d observation(s) could not be stored: %s",
                      state.unstored, state.last_error)
        return state.stored

    # sessions -----------------------------------------------------------------------------------

    def session_name_for(self, client_ip: str | None, listen_port: int | None) -> str:
        for rule in self.rules:
            if rule.matches(client_ip, listen_port):
                return rule.session
        return self.default_session

    def _session_for_flow(self, flow: Any) -> Any:
        client = flow.client_conn
        listen_port = client.sockname[1] if client.sockname else None
        name = self.session_name_for(client.peername[0] if client.peername else None, listen_port)
        return self.sessions.get(name) or self.sessions[self.default_session]

    def follow_active_session(self) -> None:
        """Apply a switch made from another process (`flowaudit switch-session`, the dashboard)."""
        name = read_active_session(self.store)
        if name and name != self.default_session:
            self.switch_session(name)

    def switch_session(self, name: str, client_ip: str | None = None) -> str:
        """Record from now on into session `name` (for one client if it is mapped, otherwise for all)."""
        name = check_session_name(name)
        info = self._open_session(name)
        with self._lock:
            self.sessions[name] = info
            for position, rule in enumerate(self.rules):
                if rule.network is not None and rule.matches(client_ip, None):
                    self.rules[position] = ClientRule(name, network=rule.network)
                    break
            else:
                self.default_session = name
                client_ip = None
        if client_ip is None:
            write_active_session(self.store, name)
        log.info("flowaudit: recording into session %r%s", name, f" for client {client_ip}" if client_ip else "")
        self.store.record_event(info.id, "info", "proxy",
                                f"session switched to {name!r}" + (f" for client {client_ip}" if client_ip else ""))
        return name

    # hooks --------------------------------------------------------------------------------------

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if flow.request.host == MARKER_HOST:
            # answered locally; never connect anywhere
            flow.response = http.Response.make(200)
            flow.metadata[_META_LOCAL] = True
            return
        target = self._override_for(flow.request.port)
        if target:
            flow.metadata[_META_ORIGIN] = (flow.request.host, flow.request.port)
            self._connect_targets[flow.client_conn.id] = (flow.request.host, flow.request.port)
            flow.request.host, flow.request.port = target

    def _override_for(self, port: int) -> tuple[str, int] | None:
        if not self.upstream_override:
            return None
        return self.upstream_override.get(port) or self.upstream_override.get(None)

    def client_disconnected(self, client: Any) -> None:
        self._connect_targets.pop(client.id, None)

    def http_connect_error(self, flow: http.HTTPFlow) -> None:
        if self.writer is None or flow.metadata.get(_META_LOCAL):
            return
        obs = request_observation(flow, body_cap=self.body_cap)
        obs.headers = [(k, v) for k, v in obs.headers if k.lower() not in _DROPPED_HEADERS]
        obs.path, obs.query, obs.scheme = "", "", None
        obs.host, obs.port = flow.metadata.get(_META_ORIGIN, (obs.host, obs.port))
        obs.host = obs.host.lower()
        obs.status = flow.response.status_code if flow.response else None
        obs.error = ("CONNECT failed: " + (flow.response.get_text(strict=False) or "")[:300]) if flow.response else (
            flow.error.msg if flow.error else "CONNECT failed")
        self._submit(self._session_for_flow(flow), obs)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # a snapshot now, so that a client that disconnects before the body completes is still recorded
        if self.writer is None or flow.request.host == MARKER_HOST or flow.metadata.get(_META_LOCAL):
            return
        self._snapshot(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        if self.writer is None:
            return
        if flow.request.pretty_host == MARKER_HOST or flow.request.host == MARKER_HOST:
            self._answer_marker(flow)
            return
        entry = self._in_flight.get(flow.id)
        if entry is None:
            self._snapshot(flow)
        else:
            # the head was taken at requestheaders; the body has arrived since
            raw = flow.request.raw_content or b""
            entry[1].body, entry[1].body_size = raw[: self.body_cap], len(raw)
        origin = flow.metadata.get(_META_ORIGIN)
        target = self._override_for(origin[1] if origin else flow.request.port)
        if target:
            host_header = flow.request.host_header   # the upstream still sees the name the client used
            flow.request.host, flow.request.port = target
            flow.request.host_header = host_header

    def _snapshot(self, flow: http.HTTPFlow) -> None:
        obs = request_observation(flow, body_cap=self.body_cap)
        obs.headers = [(k, v) for k, v in obs.headers if k.lower() not in _DROPPED_HEADERS]
        if _META_ORIGIN in flow.metadata:
            obs.host, obs.port = flow.metadata[_META_ORIGIN]
        elif self.upstream_override and flow.client_conn.id in self._connect_targets:
            # inside a tunnel whose CONNECT was redirected: the destination the client asked for
            obs.host, obs.port = self._connect_targets[flow.client_conn.id]
        flow.metadata[_META_ORIGIN] = (obs.host, obs.port)
        session = self._session_for_flow(flow)
        obs.session = session.name
        with self._lock:
            self._in_flight[flow.id] = (session, obs)

    def response(self, flow: http.HTTPFlow) -> None:
        self._complete(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._complete(flow)

    def _complete(self, flow: http.HTTPFlow) -> None:
        if self.writer is None or flow.metadata.get(_META_LOCAL) or flow.metadata.get(_META_RECORDED):
            return
        flow.metadata[_META_RECORDED] = True
        with self._lock:
            entry = self._in_flight.pop(flow.id, None)
        if entry is None:
            session = self._session_for_flow(flow)
            obs = observation_from_flow(flow, body_cap=self.body_cap)
            obs.session = session.name
            obs.headers = [(k, v) for k, v in obs.headers if k.lower() not in _DROPPED_HEADERS]
        else:
            session, obs = entry
            complete_observation(obs, flow)
        self._submit(session, obs)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        if self.writer is None or flow.websocket is None or not flow.websocket.messages:
            return
        message = flow.websocket.messages[-1]
        if not message.from_client:
            return
        session = self._session_for_flow(flow)
        obs = websocket_message_observation(flow, message, body_cap=self.body_cap)
        obs.session = session.name
        if _META_ORIGIN in flow.metadata:
            obs.host, obs.port = flow.metadata[_META_ORIGIN]
        self._submit(session, obs)

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        """A TLS connection that carries something other than HTTP: its server name is still a sighting."""
        if self.writer is None or not flow.client_conn.sni:
            return
        session = self._session_for_flow(flow)
        address = flow.server_conn.address
        obs = Observation(ts=flow.timestamp_created, host=flow.client_conn.sni, source=Source.PROXY,
                          kind=ObservationKind.TLS_SNI, session=session.name, tls=True,
                          port=address[1] if address else None,
                          client_ip=flow.client_conn.peername[0] if flow.client_conn.peername else None)
        self._submit(session, obs)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        if self.writer is None:
            return
        obs = observation_from_tls_failure(data, ts=time.time())
        if obs is None or obs.host == MARKER_HOST:
            return
        listen_port = data.context.client.sockname[1] if data.context.client.sockname else None
        name = self.session_name_for(obs.client_ip, listen_port)
        session = self.sessions.get(name) or self.sessions[self.default_session]
        obs.session = session.name
        self._submit(session, obs)
        if obs.error == PINNING_ERROR:
            pinned = self.status.pinned_hosts.setdefault(session.name, set())
            if obs.host not in pinned:
                pinned.add(obs.host)
                log.warning("flowaudit: %s refused the proxy certificate (pinning?); only its name is recorded",
                            obs.host)
                self._run_control(self.store.record_event, session.id, "warning", "pinning",
                                  f"pinned host {obs.host}: the client refused the proxy certificate; "
                                  f"{len(pinned)} pinned host(s) in this session")

    # recording ----------------------------------------------------------------------------------

    def _submit(self, session: Any, obs: Observation) -> None:
        self.recording.submit(session, obs)
        self.status.recorded += 1

    def _answer_marker(self, flow: http.HTTPFlow) -> None:
        flow.metadata[_META_LOCAL] = True
        obs = request_observation(flow)
        client_ip = obs.client_ip
        segments = [unquote(s) for s in obs.path.split("/") if s]
        if segments and segments[0] == "session" and len(segments) >= 2:
            name = "/".join(segments[1:])
            try:
                check_session_name(name)
            except ValueError as exc:
                flow.response = _page(400, "Session not switched", str(exc))
                return
            self._run_control(self.switch_session, name, client_ip if self.rules else None)
            flow.response = _page(200, "Session switched", f"Recording into session {name} from now on.")
            return
        session = self._session_for_flow(flow)
        obs.session = session.name
        marker = marker_from_observation(obs)
        if marker is None:
            flow.response = _page(400, "No marker", "This address records markers: /consent, /refusal, ...")
            return
        self._run_control(self.store.add_marker, session.name, marker.kind, marker.label, marker.ts)
        self.status.markers += 1
        detail = f"{marker.kind}" + (f": {marker.label}" if marker.label else "")
        flow.response = _page(200, "Marker recorded", f"Session {session.name}: {detail}")

    def _run_control(self, func: Any, *args: Any) -> None:
        """Rare writes (markers, events, session switches) run off the event loop, one at a time."""
        if self._control is None:
            return

        def job() -> None:
            try:
                func(*args)
            except Exception as exc:  # noqa: BLE001 - loud, never silent
                self.status.control_errors += 1
                self.status.last_error = _one_line(exc)
                log.error("flowaudit: STORAGE ERROR (%s): %s", getattr(func, "__name__", "write"), _one_line(exc))

        future = self._control.submit(job)
        self._control_jobs.add(future)
        future.add_done_callback(self._control_jobs.discard)

    def _wait_control(self, timeout: float = 30.0) -> None:
        for future in list(self._control_jobs):
            try:
                future.result(timeout)
            except Exception:  # noqa: BLE001, S112 - errors are logged by the job itself
                continue


def read_active_session(store: Any) -> str | None:
    from flowaudit.db.models import SettingRow

    with store.sessionmaker() as db:
        row = db.get(SettingRow, ACTIVE_SESSION_KEY)
        return row.value if row is not None else None


def write_active_session(store: Any, name: str) -> None:
    from flowaudit.db.models import SettingRow

    with store.sessionmaker() as db:
        db.merge(SettingRow(key=ACTIVE_SESSION_KEY, value=name))
        db.commit()


def _page(status: int, title: str, text: str) -> http.Response:
    body = ("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>flowaudit</title><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>")
    return http.Response.make(status, body.encode("utf-8"), {
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text.splitlines()[0][:300]}" if text else exc.__class__.__name__


addons = [FlowauditAddon()]
