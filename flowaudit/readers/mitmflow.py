"""mitmproxy flows to Observations: shared by the live proxy addon and the flow-dump importer.

The addon snapshots the request when it arrives (``request_observation``) and completes it when the
response or the error arrives (``complete_observation``), so that what is recorded is what left the device,
even if another addon later rewrites the destination or the upstream never answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mitmproxy import dns, flow, http, tcp, tls, version, websocket
from mitmproxy.io import compat, tnetstring

from flowaudit.core.model import Observation, ObservationKind, Source

BODY_CAP = 8 * 1024 * 1024
RESPONSE_HEAD = 512
PINNING_ERROR = "client refused certificate (pinning?)"
MAX_FLOW_FILE_BYTES = 4 * 1024**3

# alerts and messages that mean "the client did not accept the certificate we showed it"
_CERT_REFUSAL_HINTS = ("unknown ca", "bad certificate", "certificate unknown", "does not trust", "may not trust",
                       "disconnected during the handshake", "certificate_unknown", "unsupported certificate",
                       "access denied", "decrypt error")


class FlowFileError(ValueError):
    """A flow dump that cannot be read (further); the message is one line."""


def _headers(headers: http.Headers) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in headers.items(multi=True)]


def _peer_ip(conn: Any) -> str | None:
    peer = getattr(conn, "peername", None)
    if peer:
        return str(peer[0])[:64]
    return None


def _client_ip(f: flow.Flow) -> str | None:
    return _peer_ip(f.client_conn)


def _request_host(req: http.Request) -> str:
    """The Host header's name when it is usable, else the connection's host."""
    try:
        return req.pretty_host or req.host
    except ValueError:
        return req.host


def request_observation(f: http.HTTPFlow, source: Source = Source.PROXY, *,
                        body_cap: int = BODY_CAP) -> Observation:
    """The request half of a flow, as the client sent it."""
    req = f.request
    raw = req.raw_content if req.raw_content is not None else b""
    scheme = (req.scheme or "http").lower()
    host = _request_host(req)
    return Observation(
        ts=req.timestamp_start or f.timestamp_created,
        host=host,
        source=source,
        kind=ObservationKind.REQUEST,
        method=(req.method or "GET").upper()[:16],
        scheme=scheme,
        port=req.port,
        path=req.path.split("?", 1)[0] if req.path else "/",
        query=req.path.split("?", 1)[1] if "?" in (req.path or "") else "",
        http_version=(req.http_version or "")[:16] or None,
        headers=_headers(req.headers),
        body=raw[:body_cap],
        body_size=len(raw),
        tls=scheme == "https" or bool(getattr(f.client_conn, "tls_established", False)),
        client_ip=_client_ip(f),
    )


def complete_observation(obs: Observation, f: http.HTTPFlow) -> Observation:
    """Add the response (or the error) of a flow to its request observation."""
    resp = f.response
    if resp is not None:
        raw = resp.raw_content if resp.raw_content is not None else b""
        obs.status = resp.status_code
        obs.response_headers = _headers(resp.headers)
        obs.response_head = raw[:RESPONSE_HEAD]
        obs.response_size = len(raw)
    obs.server_ip = _peer_ip(f.server_conn) or obs.server_ip
    if f.error is not None:
        obs.error = (f.error.msg or "error")[:500]
    elif resp is None and obs.error is None:
        obs.error = "no response recorded"
    return obs


def observation_from_flow(f: http.HTTPFlow, source: Source = Source.PROXY, *,
                          body_cap: int = BODY_CAP) -> Observation:
    """One observation for an HTTP flow, whether it got a response, errored, timed out or was killed."""
    return complete_observation(request_observation(f, source, body_cap=body_cap), f)


def websocket_message_observation(f: http.HTTPFlow, message: websocket.WebSocketMessage,
                                  source: Source = Source.PROXY, *, body_cap: int = BODY_CAP) -> Observation:
    req = f.request
    tls_used = (req.scheme or "").lower() == "https"
    host = _request_host(req)
    return Observation(
        ts=message.timestamp or f.timestamp_created,
        host=host,
        source=source,
        kind=ObservationKind.WEBSOCKET,
        scheme="wss" if tls_used else "ws",
        port=req.port,
        path=req.path.split("?", 1)[0] if req.path else "/",
        query=req.path.split("?", 1)[1] if "?" in (req.path or "") else "",
        http_version=(req.http_version or "")[:16] or None,
        body=message.content[:body_cap],
        body_size=len(message.content),
        tls=tls_used,
        client_ip=_client_ip(f),
        server_ip=_peer_ip(f.server_conn),
        error="message dropped by the proxy" if message.dropped else None,
    )


def observations_from_websocket(f: http.HTTPFlow, source: Source = Source.PROXY, *,
                                body_cap: int = BODY_CAP) -> list[Observation]:
    """Every client-to-server message of a WebSocket flow (what the device sent)."""
    if f.websocket is None:
        return []
    return [websocket_message_observation(f, m, source, body_cap=body_cap)
            for m in f.websocket.messages if m.from_client]


def tls_failure_reason(data: tls.TlsData) -> str | None:
    return getattr(data.conn, "error", None) or None


def is_certificate_refusal(reason: str | None) -> bool:
    text = (reason or "").lower()
    return not text or any(hint in text for hint in _CERT_REFUSAL_HINTS)


def observation_from_tls_failure(data: tls.TlsData, source: Source = Source.PROXY,
                                 ts: float | None = None) -> Observation | None:
    """A host-only observation for a client that would not complete TLS with the proxy (pinning)."""
    client = data.context.client
    host = client.sni
    server_ip = None
    if data.context.server.address:
        server_host = str(data.context.server.address[0])
        server_ip = server_host if _looks_like_ip(server_host) else None
        host = host or server_host
    if not host:
        return None
    reason = tls_failure_reason(data)
    error = PINNING_ERROR if is_certificate_refusal(reason) else f"client TLS handshake failed: {reason}"[:500]
    return Observation(
        ts=ts if ts is not None else (client.timestamp_start or 0.0),
        host=host,
        source=source,
        kind=ObservationKind.TLS_SNI,
        port=data.context.server.address[1] if data.context.server.address else None,
        tls=True,
        client_ip=_peer_ip(client),
        server_ip=server_ip,
        error=error,
    )


def _looks_like_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def observations_from_any_flow(f: flow.Flow, source: Source = Source.MITM, *,
                               body_cap: int = BODY_CAP) -> list[Observation]:
    """Observations for one stored flow of any kind mitmproxy records."""
    if isinstance(f, http.HTTPFlow):
        return [observation_from_flow(f, source, body_cap=body_cap),
                *observations_from_websocket(f, source, body_cap=body_cap)]
    if isinstance(f, dns.DNSFlow):
        return [Observation(ts=f.request.timestamp or f.timestamp_created, host=q.name, source=source,
                            kind=ObservationKind.DNS, client_ip=_client_ip(f))
                for q in f.request.questions if q.name]
    if isinstance(f, tcp.TCPFlow) and f.client_conn.sni:
        return [Observation(ts=f.timestamp_created, host=f.client_conn.sni, source=source,
                            kind=ObservationKind.TLS_SNI, tls=True, client_ip=_client_ip(f),
                            port=f.server_conn.address[1] if f.server_conn.address else None,
                            server_ip=_peer_ip(f.server_conn),
                            error=f.error.msg[:500] if f.error else None)]
    return []


def _flow_from_state(state: dict[Any, Any]) -> flow.Flow:
    raw_version = state.get(b"version", state.get("version"))
    if isinstance(raw_version, int) and raw_version > version.FLOW_FORMAT_VERSION:
        # A newer writer (mitmproxy 12+) that did not change the fields read here: try as the newest
        # format this mitmproxy knows; fail with a clear message if the layout really differs.
        state = dict(state)
        state.pop(b"version", None)
        state["version"] = version.FLOW_FORMAT_VERSION
        try:
            return flow.Flow.from_state(compat.migrate_flow(state))
        except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as exc:
            raise FlowFileError(f"flow format version {raw_version} is newer than this mitmproxy "
                                f"({version.VERSION}) understands: {exc}") from None
    return flow.Flow.from_state(compat.migrate_flow(state))


def read_flows(path: Path) -> Iterator[flow.Flow]:
    """The flows of a mitmproxy dump (``mitmdump -w``, mitmweb's "save"), in file order.

    Raises FlowFileError after yielding every complete flow when the file is truncated or corrupt."""
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise FlowFileError(f"{path.name}: cannot read: {exc.strerror}") from None
    if size > MAX_FLOW_FILE_BYTES:
        handle.close()
        raise FlowFileError(f"{path.name}: flow dump larger than {MAX_FLOW_FILE_BYTES // 1024**3} GB")
    count = 0
    with handle:
        head = handle.read(1)
        if not head:
            return
        if not head.isdigit():
            raise FlowFileError(f"{path.name}: not a mitmproxy flow dump")
        handle.seek(0)
        while True:
            offset = handle.tell()
            try:
                state = tnetstring.load(handle)
            except ValueError as exc:
                if str(exc) == "not a tnetstring: empty file":
                    return
                raise FlowFileError(f"{path.name}: truncated or corrupt flow dump at byte {offset} "
                                    f"after {count} complete flow(s)") from None
            except (RecursionError, MemoryError, TypeError, IndexError):
                raise FlowFileError(f"{path.name}: truncated or corrupt flow dump at byte {offset} "
                                    f"after {count} complete flow(s)") from None
            if not isinstance(state, dict):
                raise FlowFileError(f"{path.name}: unexpected record at byte {offset} "
                                    f"after {count} complete flow(s)")
            try:
                f = _flow_from_state(state)
            except FlowFileError as exc:
                raise FlowFileError(f"{path.name}: {exc}") from None
            except (KeyError, TypeError, ValueError, AttributeError, RecursionError, AssertionError) as exc:
                # mitmproxy's own state loader asserts that no unknown keys are left
                raise FlowFileError(f"{path.name}: unreadable flow at byte {offset} after {count} complete "
                                    f"flow(s): {str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__}"
                                    ) from None
            count += 1
            yield f


def read_flow_file(path: Path, *, body_cap: int = BODY_CAP) -> Iterator[Observation]:
    """Observations of a mitmproxy flow dump (mitmproxy 11 and 12 write the same tnetstring format)."""
    for f in read_flows(Path(path)):
        yield from observations_from_any_flow(f, Source.MITM, body_cap=body_cap)
