"""One TCP connection of a capture: two reassembled directions and the protocol spoken over them."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flowaudit.core.model import Observation, ObservationKind, Source
from flowaudit.readers.capture.http1 import (
    REQUEST_LINE,
    Http1Parser,
    HttpConversation,
    HttpExchange,
    header_value,
    starts_like_request,
)
from flowaudit.readers.capture.http2 import PREFACE, Http2Connection
from flowaudit.readers.capture.tcp import TcpStream
from flowaudit.readers.capture.websocket import WebSocketReader, deflate_parameters

if TYPE_CHECKING:
    from flowaudit.readers.capture.keylog import KeyLog
    from flowaudit.readers.capture.tls_session import TlsSession

UNDECIDED, HTTP, TLS, DNS_TCP, IGNORED, H2C, WEBSOCKET = range(7)
UNDECIDED_CAP = 64 << 10
UNSYNCED_CAP = 256 << 10


def ip_text(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def split_host_port(value: str) -> tuple[str, int | None]:
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isascii() and port.isdigit() and int(port) < 65536 else None


class CaptureContext:
    """What every connection of one capture shares: the clock, the output, counters, the key log."""

    __slots__ = ("ts", "out", "keylog", "gaps", "undecryptable_tls", "junk", "notes")

    def __init__(self, keylog: KeyLog | None) -> None:
        self.ts = 0.0
        self.out: list[Observation] = []
        self.keylog = keylog
        self.gaps = 0
        self.undecryptable_tls = 0
        self.junk = 0
        self.notes: list[str] = []

    def clock(self) -> float:
        return self.ts


class _Direction:
    """Sink of one reassembled direction: forwards to the connection with the direction flag."""

    __slots__ = ("conn", "from_client")

    def __init__(self, conn: TcpConnection, from_client: bool) -> None:
        self.conn = conn
        self.from_client = from_client

    def feed(self, data: bytes) -> None:
        self.conn.data(self.from_client, data)

    def gap(self, missing: int) -> None:
        self.conn.gap(self.from_client, missing)


class TcpConnection:
    __slots__ = ("ctx", "client_ip", "server_ip", "client_port", "server_port", "c2s", "s2c", "mode", "last_ts",
                 "fins", "http", "req", "resp", "tls", "held", "from_start", "unsynced", "closed", "dns_buf",
                 "h2", "tunnel_port", "ws")

    def __init__(self, ctx: CaptureContext, client_ip: bytes, client_port: int, server_ip: bytes,
                 server_port: int, from_start: bool) -> None:
        self.ctx = ctx
        self.client_ip = client_ip
        self.server_ip = server_ip
        self.client_port = client_port
        self.server_port = server_port
        self.c2s = TcpStream(_Direction(self, True))
        self.s2c = TcpStream(_Direction(self, False))
        self.mode = DNS_TCP if server_port == 53 else UNDECIDED
        self.last_ts = ctx.ts
        self.fins = 0
        self.http: HttpConversation | None = None
        self.req: Http1Parser | None = None
        self.resp: Http1Parser | None = None
        self.tls: TlsSession | None = None
        self.held: list[tuple[bool, bytes | int]] = []
        self.from_start = from_start
        self.unsynced = 0
        self.closed = False
        self.dns_buf = bytearray()
        self.h2: Http2Connection | None = None
        self.tunnel_port: int | None = None
        self.ws: WebSocketReader | None = None

    # input from the streams -----------------------------------------------------------------------------

    def data(self, from_client: bool, data: bytes) -> None:
        mode = self.mode
        if mode == HTTP:
            if from_client:
                self.req.feed(data)  # type: ignore[union-attr]
                if self.mode == HTTP and self.req.state == 0 and not self.from_start:  # type: ignore[union-attr]
                    self._count_unsynced(len(data))
            else:
                self.resp.feed(data)  # type: ignore[union-attr]
            return
        if mode == H2C:
            self.h2.feed(from_client, data)  # type: ignore[union-attr]
            return
        if mode == WEBSOCKET:
            if from_client:
                self.ws.feed(data)  # type: ignore[union-attr]
            return
        if mode == TLS:
            self.tls.data(from_client, data)  # type: ignore[union-attr]
            if self.tls.done:  # type: ignore[union-attr]
                self.mode = IGNORED
            return
        if mode == UNDECIDED:
            if not from_client:
                if sum(len(d) for f, d in self.held if isinstance(d, bytes)) < UNDECIDED_CAP:
                    self.held.append((False, data))
                return
            self._decide(data)
            return
        if mode == DNS_TCP and from_client:
            self._dns_tcp(data)

    def gap(self, from_client: bool, missing: int) -> None:
        self.ctx.gaps += 1
        self._gap(from_client, missing)

    def _gap(self, from_client: bool, missing: int) -> None:
        mode = self.mode
        if mode == HTTP:
            (self.req if from_client else self.resp).gap(missing)  # type: ignore[union-attr]
        elif mode == H2C:
            self.h2.gap(from_client)  # type: ignore[union-attr]
        elif mode == WEBSOCKET:
            if from_client:
                self.ws.gap()  # type: ignore[union-attr]
        elif mode == TLS:
            self.tls.gap(from_client, missing)  # type: ignore[union-attr]
        elif mode == UNDECIDED:
            if from_client:
                self.from_start = False
            else:
                self.held.append((False, missing))
        elif mode == DNS_TCP and from_client:
            self.dns_buf.clear()

    def _decide(self, first: bytes) -> None:
        from flowaudit.readers.capture.tls import looks_like_client_hello

        if looks_like_client_hello(first) or (not self.from_start and first[:3] in (b"\x16\x03\x01", b"\x17\x03\x03")
                                              and len(first) >= 5):
            if looks_like_client_hello(first):
                from flowaudit.readers.capture.tls_session import TlsSession

                self.mode = TLS
                self.tls = TlsSession(self)
                self.tls.data(True, first)
                self._replay()
                if self.tls.done:
                    self.mode = IGNORED
                return
            self.mode = IGNORED  # joined an encrypted connection after its handshake
            self.held = []
            self.ctx.undecryptable_tls += 1
            return
        if len(first) >= 3 and first.startswith(PREFACE[:len(first)]):  # h2c / gRPC with prior knowledge
            self.mode = H2C
            self.h2 = Http2Connection(self.emit_exchange, self.ctx.clock)
            self.data(True, first)
            self._replay()
            return
        if self.from_start and not starts_like_request(first) and REQUEST_LINE.search(first) is None:
            self.mode = IGNORED
            self.held = []
            return
        self.start_http()
        self.data(True, first)
        self._replay()

    def start_http(self) -> None:
        self.mode = HTTP
        self.http = HttpConversation(self.emit_exchange, self.ctx.clock)
        self.http.on_tunnel = self._tunnel
        self.req = Http1Parser(self.http, True)
        self.resp = Http1Parser(self.http, False)

    @property
    def port(self) -> int:
        """The server port requests go to: the CONNECT target's inside a proxy tunnel."""
        return self.tunnel_port or self.server_port

    def _tunnel(self, client_rest: bytes, server_rest: bytes, exchange: HttpExchange) -> None:
        """A proxy answered CONNECT with 2xx (what follows is the tunnelled protocol, usually TLS), or a server
        accepted a WebSocket upgrade."""
        self.ctx.junk += self.req.junk if self.req else 0
        self.http = self.req = self.resp = None
        if exchange.method != "CONNECT":
            self.mode = WEBSOCKET
            self.ws = websocket_reader(exchange, self.emit, ip_text(self.client_ip), ip_text(self.server_ip),
                                       self.port, tls=False, clock=self.ctx.clock)
            if client_rest:
                self.ws.feed(client_rest)
            return
        target = exchange.target
        self.mode = UNDECIDED
        self.from_start = True
        self.tunnel_port = split_host_port(target)[1] if target else None
        if server_rest:
            self.held.append((False, server_rest))
        if client_rest:
            self._decide(client_rest)

    def _replay(self) -> None:
        held, self.held = self.held, []
        for from_client, item in held:
            if isinstance(item, int):
                self._gap(from_client, item)
            else:
                self.data(from_client, item)

    def _count_unsynced(self, n: int) -> None:
        self.unsynced += n
        if self.unsynced > UNSYNCED_CAP:
            self.mode = IGNORED

    def _dns_tcp(self, data: bytes) -> None:
        from flowaudit.readers.capture.dns import parse_query

        buf = self.dns_buf
        buf += data
        while len(buf) >= 2:
            length = (buf[0] << 8) | buf[1]
            if len(buf) < 2 + length:
                if len(buf) > 70000:
                    buf.clear()
                return
            names = parse_query(bytes(buf[2:2 + length]))
            del buf[:2 + length]
            for name in names:
                self.emit(Observation(ts=self.ctx.ts, host=name, source=Source.PCAP, kind=ObservationKind.DNS,
                                      port=self.server_port, client_ip=ip_text(self.client_ip),
                                      server_ip=ip_text(self.server_ip)))

    # output -----------------------------------------------------------------------------------------------

    def emit(self, obs: Observation) -> None:
        self.ctx.out.append(obs)

    def emit_exchange(self, ex: HttpExchange, *, tls: bool = False) -> None:
        if not ex.method:
            return
        self.emit(exchange_observation(ex, ip_text(self.client_ip), ip_text(self.server_ip), self.port, tls,
                                       authority=ex.authority, scheme="http" if ex.authority else None))

    def host_only(self, kind: ObservationKind, host: str | None, error: str | None = None) -> None:
        self.emit(Observation(ts=self.ctx.ts, host=host or ip_text(self.server_ip), source=Source.PCAP, kind=kind,
                              port=self.port, tls=True, client_ip=ip_text(self.client_ip),
                              server_ip=ip_text(self.server_ip), error=error))

    def finish(self) -> None:
        """The connection is over (FIN/RST, idle, end of capture): flush holes and half-parsed messages."""
        if self.closed:
            return
        self.closed = True
        self.c2s.finish()
        self.s2c.finish()
        if self.mode == UNDECIDED and self.held:
            self.held = []
        if self.http is not None:
            self.req.finish()  # type: ignore[union-attr]
            self.resp.finish()  # type: ignore[union-attr]
            self.http.finish()
        if self.tls is not None:
            self.tls.finish()
        if self.h2 is not None:
            self.h2.finish()
        if self.ws is not None:
            self.ws.finish()
        if self.req is not None:
            self.ctx.junk += self.req.junk


def websocket_reader(upgrade: HttpExchange, emit: Callable[[Observation], None], client_ip: str, server_ip: str,
                     port: int, tls: bool, clock: Callable[[], float],
                     authority: str | None = None) -> WebSocketReader:
    """A reader for the client messages of an accepted WebSocket upgrade; each becomes a WEBSOCKET
    observation carrying the upgrade request's host, path and query."""
    deflate, no_takeover = deflate_parameters(header_value(upgrade.response_headers, "sec-websocket-extensions"))
    base = exchange_observation(upgrade, client_ip, server_ip, port, tls, authority=authority)

    def message(payload: bytes, error: str | None) -> None:
        emit(Observation(ts=clock(), host=base.host, source=Source.PCAP, kind=ObservationKind.WEBSOCKET,
                         scheme="wss" if tls else "ws", port=port, path=base.path, query=base.query,
                         http_version=base.http_version, body=payload, tls=tls, client_ip=client_ip,
                         server_ip=server_ip, error=error))

    return WebSocketReader(message, deflate, no_takeover)


def exchange_observation(ex: HttpExchange, client_ip: str, server_ip: str, server_port: int, tls: bool,
                         authority: str | None = None, scheme: str | None = None) -> Observation:
    target = ex.target
    host_value = authority or header_value(ex.headers, "host")
    path, query = target, ""
    if target.startswith(("http://", "https://")):
        try:
            parts = urlsplit(target)
        except ValueError as exc:   # e.g. an unbalanced "[" in the authority: keep the request, say why
            ex.notes.append(f"unparseable request target ({exc})")
            path, _, query = target.partition("?")
        else:
            if parts.netloc:
                host_value = parts.netloc
            path, query = parts.path or "/", parts.query
    elif ex.method == "CONNECT":
        host_value = target
        path = ""
    else:
        path, _, query = target.partition("?")
    host, target_port = split_host_port(host_value) if host_value else (server_ip, None)
    if ex.method == "CONNECT" and target_port:
        server_port = target_port  # the tunnel's destination, not the proxy's port
    return Observation(
        ts=ex.ts, host=host or server_ip, source=Source.PCAP, kind=ObservationKind.REQUEST, method=ex.method,
        scheme=scheme or ("https" if tls else "http"), port=server_port, path=path, query=query,
        http_version=ex.version or None, headers=ex.headers, body=bytes(ex.body), body_size=ex.body_size, tls=tls,
        status=ex.status, response_headers=ex.response_headers, response_head=bytes(ex.response_head),
        response_size=ex.response_size, client_ip=client_ip, server_ip=server_ip,
        error="; ".join(dict.fromkeys(ex.notes)) or None)
