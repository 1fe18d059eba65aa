"""Writes realistic pcap/pcapng captures from a list of HTTP exchanges, DNS queries, TLS and QUIC hellos.

Packets are complete and valid on the wire (Ethernet/VLAN, Linux cooked SLL/SLL2, raw IP, loopback;
IPv4/IPv6 with correct checksums; a real TCP handshake, segmentation at the MSS, acknowledgements and
teardown), so tshark and Wireshark dissect them like live traffic. Frames are built as bytes (fast enough
for benchmark-sized captures); the files are written with scapy's pcap and pcapng writers.

    write_capture(path, [HttpExchange(ts=..., client="10.0.0.2", server="203.0.113.7", host="api.example.com",
                                      method="POST", path="/v1/log", body=b"...")], fmt="pcapng")

HTTPS exchanges (``tls=True``, optionally ``http2=True``) are real TLS 1.3 records made by Python's ssl
module in memory; ``write_capture(..., keylog=path)`` writes their secrets as an NSS key log:

    write_capture("demo.pcapng", [HttpExchange(..., tls=True)], fmt="pcapng", keylog="demo.keys")

``build_packets`` returns the packets instead of writing them, so tests can drop, duplicate, reorder or cut
segments before ``write_packets``.
"""

from __future__ import annotations

import heapq
import ipaddress
import os
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowaudit.readers.capture.link import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    LINKTYPE_RAW_12,
    LINKTYPE_RAW_14,
)

__all__ = ["HttpExchange", "DnsQuery", "TlsHello", "QuicHello", "WebSocketSession", "SynthPacket", "build_packets",
           "write_packets", "write_capture", "client_hello_record", "CaptureWriter"]

REASONS = {100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content",
           301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 500: "Internal Server Error"}
_STEP = 0.0002


@dataclass
class HttpExchange:
    """One HTTP/1.1 request and its response. Exchanges sharing ``connection`` use one keep-alive TCP
    connection (in list order); ``pipelined`` sends all of a connection's requests before the responses."""

    ts: float
    client: str
    server: str
    host: str
    method: str = "GET"
    path: str = "/"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    response_status: int = 200
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    connection: str | None = None
    pipelined: bool = False
    chunked: bool = False
    response_chunked: bool = False
    expect_continue: bool = False
    chunk_size: int = 100
    tls: bool = False             # HTTPS: real TLS 1.3 records (secrets go to the key log of write_capture)
    http2: bool = False           # with tls: HTTP/2 instead of HTTP/1.1


@dataclass
class DnsQuery:
    ts: float
    client: str
    name: str
    server: str = "192.0.2.53"
    qtype: int = 1
    answer: str | None = "198.51.100.10"


@dataclass
class TlsHello:
    ts: float
    client: str
    server: str
    sni: str | None
    alpn: tuple[str, ...] = ("h2", "http/1.1")


@dataclass
class QuicHello:
    """A QUIC v1 client Initial. ``datagrams`` replaces the built packet with given UDP payloads (for example
    the datagrams of a real QUIC stack)."""

    ts: float
    client: str
    server: str
    sni: str = ""
    dcid: bytes | None = None
    datagrams: Sequence[bytes] | None = None


@dataclass
class WebSocketSession:
    """A WebSocket upgrade (built with wsproto, permessage-deflate optional) and the client's messages."""

    ts: float
    client: str
    server: str
    host: str
    path: str = "/"
    messages: Sequence[str | bytes] = ()
    deflate: bool = False


def websocket_wire(host: str, path: str, messages: Sequence[str | bytes], deflate: bool = False,
                   ) -> tuple[bytes, bytes, list[bytes]]:
    """(upgrade request, 101 response, one client frame sequence per message) from a real wsproto pair."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Message, Request
    from wsproto.extensions import PerMessageDeflate

    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    request = client.send(Request(host=host, target=path, extensions=[PerMessageDeflate()] if deflate else []))
    server.receive_data(request)
    list(server.events())
    response = server.send(AcceptConnection(extensions=[PerMessageDeflate()] if deflate else []))
    client.receive_data(response)
    list(client.events())
    return request, response, [client.send(Message(data=m)) for m in messages]  # type: ignore[type-var]


@dataclass(slots=True)
class SynthPacket:
    ts: float
    frame: bytes
    linktype: int
    iface: str = "eth0"
    flow: int = -1                # index of the connection or datagram exchange
    from_client: bool = True
    seq: int = 0
    payload: int = 0              # transport payload length (TCP data bytes)
    wirelen: int | None = None    # set when the frame was cut (snaplen)


# -- addresses --------------------------------------------------------------------------------------------

def _endpoint(value: str, default_port: int, ports: Iterator[int]) -> tuple[bytes, int, int]:
    """(packed address, port, ip version) from '1.2.3.4', '1.2.3.4:80', '[::1]:80' or '::1'."""
    host, port = value, None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else None
    elif value.count(":") == 1:
        host, _, p = value.partition(":")
        port = int(p)
    addr = ipaddress.ip_address(host)
    return addr.packed, port if port is not None else (default_port if default_port else next(ports)), addr.version


# -- checksums and headers ----------------------------------------------------------------------------------

def _checksum(data: bytes) -> bytes:
    if len(data) % 2:
        data += b"\0"
    total = sum(array("H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return (~total & 0xFFFF).to_bytes(2, sys.byteorder)


def _ip(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int = 0) -> bytes:
    if len(src) == 4:
        header = struct.pack("!BBHHHBB2s4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto,
                             b"\0\0", src, dst)
        return header[:10] + _checksum(header) + header[12:] + payload
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, 64, src, dst) + payload


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def _tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 64240, 0, 0)
    csum = _checksum(_pseudo(src, dst, 6, 20 + len(payload)) + header + payload)
    return header[:16] + csum + header[18:] + payload


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    csum = _checksum(_pseudo(src, dst, 17, 8 + len(payload)) + header + payload)
    if csum == b"\0\0":
        csum = b"\xff\xff"
    return header[:6] + csum + payload


_MAC_CLIENT = bytes.fromhex("02005e100001")
_MAC_SERVER = bytes.fromhex("02005e100002")


def frame(linktype: int, ip_packet: bytes, version: int, from_client: bool = True, vlan: int | None = None) -> bytes:
    """Wrap an IP packet in the link-layer header of ``linktype``."""
    etype = b"\x08\x00" if version == 4 else b"\x86\xdd"
    if linktype == LINKTYPE_ETHERNET:
        macs = (_MAC_SERVER + _MAC_CLIENT) if from_client else (_MAC_CLIENT + _MAC_SERVER)
        tag = b"\x81\x00" + struct.pack("!H", vlan & 0x0FFF) if vlan is not None else b""
        return macs + tag + etype + ip_packet
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_12, LINKTYPE_RAW_14):
        return ip_packet
    if linktype == LINKTYPE_LINUX_SLL:
        pkttype = 4 if from_client else 0
        return struct.pack("!HHH", pkttype, 1, 6) + (_MAC_CLIENT if from_client else _MAC_SERVER) + b"\0\0" + etype + ip_packet
    if linktype == LINKTYPE_LINUX_SLL2:
        pkttype = 4 if from_client else 0
        return etype + b"\0\0" + struct.pack("!IHBB", 2, 1, pkttype, 6) + (_MAC_CLIENT if from_client else _MAC_SERVER) + b"\0\0" + ip_packet
    if linktype == LINKTYPE_NULL:
        return struct.pack("<I", 2 if version == 4 else 24) + ip_packet
    if linktype == LINKTYPE_LOOP:
        return struct.pack(">I", 2 if version == 4 else 24) + ip_packet
    raise ValueError(f"cannot build frames for link type {linktype}")


# -- application payloads -----------------------------------------------------------------------------------

def _request_bytes(ex: HttpExchange) -> tuple[bytes, bytes]:
    """(head, body as sent on the wire)."""
    lines = [f"{ex.method} {ex.path} HTTP/1.1", f"Host: {ex.host}"]
    lines += [f"{k}: {v}" for k, v in ex.headers]
    wire_body = ex.body
    if ex.chunked:
        lines.append("Transfer-Encoding: chunked")
        wire_body = _chunk(ex.body, ex.chunk_size)
    elif ex.body or ex.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(ex.body)}")
    if ex.expect_continue:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"), wire_body


def _response_bytes(ex: HttpExchange) -> bytes:
    lines = [f"HTTP/1.1 {ex.response_status} {REASONS.get(ex.response_status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in ex.response_headers]
    body = ex.response_body
    if ex.response_chunked:
        lines.append("Transfer-Encoding: chunked")
        body = _chunk(body, 1000)
    elif ex.response_status not in (204, 304) and ex.method != "HEAD":
        lines.append(f"Content-Length: {len(ex.response_body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _chunk(body: bytes, size: int) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def client_hello_record(sni: str | None, alpn: Sequence[str] = ("h2", "http/1.1"), random: bytes | None = None,
                        tls13: bool = True) -> bytes:
    """A TLS record holding a ClientHello like a modern client sends it."""
    body = bytearray(b"\x03\x03")
    body += random or os.urandom(32)
    body += b"\x20" + os.urandom(32)
    suites = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8]
    body += struct.pack("!H", len(suites) * 2) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00"
    exts = bytearray()
    if sni:
        name = sni.encode("ascii")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        exts += struct.pack("!HH", 0, len(entry) + 2) + struct.pack("!H", len(entry)) + entry
    if alpn:
        protos = b"".join(bytes([len(p)]) + p.encode() for p in alpn)
        exts += struct.pack("!HHH", 16, len(protos) + 2, len(protos)) + protos
    exts += struct.pack("!HHHHHH", 10, 6, 4, 0x001D, 0x0017, 0)[:-2]  # supported_groups
    exts += struct.pack("!HH", 13, 8) + struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401)
    if tls13:
        exts += struct.pack("!HHB", 43, 5, 4) + struct.pack("!HH", 0x0304, 0x0303)
        share = os.urandom(32)
        exts += struct.pack("!HHHHH", 51, 38, 36, 0x001D, 32) + share
    body += struct.pack("!H", len(exts)) + exts
    handshake = b"\x01" + len(body).to_bytes(3, "big") + bytes(body)
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _server_hello_flight() -> bytes:
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + b"\x13\x01\x00"
    exts = struct.pack("!HHH", 43, 2, 0x0304) + struct.pack("!HHHH", 51, 36, 0x001D, 32) + os.urandom(32)
    body += struct.pack("!H", len(exts)) + exts
    handshake = b"\x02" + len(body).to_bytes(3, "big") + body
    record = b"\x16\x03\x03" + struct.pack("!H", len(handshake)) + handshake
    ccs = b"\x14\x03\x03\x00\x01\x01"
    encrypted = os.urandom(900)
    return record + ccs + b"\x17\x03\x03" + struct.pack("!H", len(encrypted)) + encrypted


def dns_query_bytes(name: str, qtype: int = 1, ident: int = 0x1234) -> bytes:
    question = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", qtype, 1)


def _dns_response(query: bytes, answer: str | None) -> bytes:
    flags = 0x8180
    if answer is None:
        return query[:2] + struct.pack("!HHHHH", flags | 3, 1, 0, 0, 0) + query[12:]
    addr = ipaddress.ip_address(answer).packed
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1 if len(addr) == 4 else 28, 1, 300, len(addr)) + addr
    return query[:2] + struct.pack("!HHHHH", flags, 1, 1, 0, 0) + query[12:] + rr


# -- conversations --------------------------------------------------------------------------------------------

_CERTS: dict[str, tuple[str, str]] = {}


def _certificate(host: str) -> tuple[str, str]:
    """Paths of a throwaway self-signed certificate and key for ``host`` (made once per process)."""
    if host not in _CERTS:
        import datetime
        import tempfile

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64] or "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
        import atexit
        import shutil

        directory = Path(tempfile.mkdtemp(prefix="flowaudit-synth-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        cert_path, key_path = directory / "cert.pem", directory / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        _CERTS[host] = (str(cert_path), str(key_path))
    return _CERTS[host]


def tls_writes(exchanges: Sequence[HttpExchange], secrets: list[str] | None = None,
               ) -> list[tuple[bool, bytes, float]]:
    """The TLS 1.3 byte streams of HTTPS exchanges on one connection, made by Python's ssl module in
    memory (HTTP/1.1, or HTTP/2 through the h2 package). Key log lines are appended to ``secrets``."""
    import ssl
    import tempfile

    first = exchanges[0]
    cert, key = _certificate(first.host)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    for ctx in (server_ctx, client_ctx):
        ctx.set_alpn_protocols(["h2"] if first.http2 else ["http/1.1"])
    writes: list[tuple[bool, bytes, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        keylog = Path(tmp) / "keys.log"
        client_ctx.keylog_filename = str(keylog)
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_ctx.wrap_bio(c_in, c_out, server_hostname=first.host)
        server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        clock = [first.ts]

        def pump() -> None:
            while c_out.pending or s_out.pending:
                if c_out.pending:
                    data = c_out.read()
                    writes.append((True, data, clock[0]))
                    s_in.write(data)
                if s_out.pending:
                    data = s_out.read()
                    writes.append((False, data, clock[0]))
                    c_in.write(data)

        def drain(obj: ssl.SSLObject) -> None:
            while True:
                try:
                    if not obj.read(1 << 20):
                        return
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    return

        for _ in range(10):
            done = True
            for obj in (client, server):
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    done = False
                pump()
            if done:
                break
        h2_pair = _H2Pair() if first.http2 else None
        steps: list[tuple[bool, bytes]] = h2_pair.start() if h2_pair else []
        for ex in exchanges:
            clock[0] = max(clock[0], ex.ts)
            if h2_pair is not None:
                steps += h2_pair.exchange(ex)
            else:
                steps += [(True, b"".join(_request_bytes(ex))), (False, _response_bytes(ex))]
            for from_client, data in steps:
                (client if from_client else server).write(data)
                pump()
                drain(server if from_client else client)
            steps = []
        if secrets is not None and keylog.exists():
            secrets += [line for line in keylog.read_text().splitlines() if line and not line.startswith("#")]
    return writes


class _H2Pair:
    """An h2 client and server; each step returns the (from_client, bytes) writes it puts on the wire."""

    def __init__(self) -> None:
        import h2.config
        import h2.connection
        import h2.settings

        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.big = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1}

    def _flush(self) -> list[tuple[bool, bytes]]:
        writes = []
        for _ in range(4):
            c, srv = self.client.data_to_send(), self.server.data_to_send()
            if not c and not srv:
                break
            if c:
                writes.append((True, c))
                self.server.receive_data(c)
            if srv:
                writes.append((False, srv))
                self.client.receive_data(srv)
        return writes

    def start(self) -> list[tuple[bool, bytes]]:
        self.client.initiate_connection()
        self.client.update_settings(self.big)
        writes = [(True, self.client.data_to_send())]
        self.server.receive_data(writes[0][1])
        self.server.initiate_connection()
        self.server.update_settings(self.big)
        self.server.increment_flow_control_window(2**30)
        self.client.increment_flow_control_window(2**30)
        return writes + self._flush()

    def exchange(self, ex: HttpExchange) -> list[tuple[bool, bytes]]:
        sid = self.client.get_next_available_stream_id()
        headers = [(":method", ex.method), (":scheme", "https"), (":authority", ex.host), (":path", ex.path)]
        headers += [(k.lower(), v) for k, v in ex.headers]
        self.client.send_headers(sid, headers, end_stream=not ex.body)
        self._send_data(self.client, sid, ex.body)
        writes = self._flush()
        response_headers = [(":status", str(ex.response_status))] + [(k.lower(), v) for k, v in ex.response_headers]
        self.server.send_headers(sid, response_headers, end_stream=not ex.response_body)
        self._send_data(self.server, sid, ex.response_body)
        return writes + self._flush()

    @staticmethod
    def _send_data(conn: Any, sid: int, body: bytes) -> None:
        size = 16384  # the default SETTINGS_MAX_FRAME_SIZE
        for i in range(0, len(body), size):
            conn.send_data(sid, body[i:i + size], end_stream=i + size >= len(body))


class _Builder:
    def __init__(self, linktype: int, mss: int, vlan: int | None, iface: str) -> None:
        self.linktype = linktype
        self.mss = mss
        self.vlan = vlan
        self.iface = iface
        self.ports = iter(range(40000, 65000))
        self.flow = 0

    def tcp_conversation(self, client: str, server: str, ts: float, writes: Sequence[tuple[bool, bytes, float]],
                         default_port: int) -> list[SynthPacket]:
        """Handshake, the writes (from_client, data, not-before ts) segmented at the MSS, and teardown."""
        caddr, cport, version = _endpoint(client, 0, self.ports)
        saddr, sport, _ = _endpoint(server, default_port, self.ports)
        self.flow += 1
        flow = self.flow
        packets: list[SynthPacket] = []
        seqs = {True: 1000 + (flow * 7919) % 100000, False: 500000 + (flow * 104729) % 100000}
        clock = [ts]

        def emit(from_client: bool, flags: int, payload: bytes = b"", seq: int | None = None) -> None:
            src, dst = (caddr, saddr) if from_client else (saddr, caddr)
            sp, dp = (cport, sport) if from_client else (sport, cport)
            s = seqs[from_client] if seq is None else seq
            ack = seqs[not from_client] if flags & 0x10 else 0
            segment = _tcp(src, dst, sp, dp, s, ack, flags, payload)
            packet = _ip(src, dst, 6, segment, ident=len(packets))
            packets.append(SynthPacket(clock[0], frame(self.linktype, packet, version, from_client, self.vlan),
                                       self.linktype, self.iface, flow, from_client, s & 0xFFFFFFFF, len(payload)))
            clock[0] += _STEP

        emit(True, 0x02)
        seqs[True] += 1
        emit(False, 0x12)
        seqs[False] += 1
        emit(True, 0x10)
        for from_client, data, not_before in writes:
            clock[0] = max(clock[0], not_before)
            for i in range(0, len(data), self.mss):
                chunk = data[i:i + self.mss]
                last = i + self.mss >= len(data)
                emit(from_client, 0x18 if last else 0x10, chunk)
                seqs[from_client] += len(chunk)
            emit(not from_client, 0x10)
        emit(True, 0x11)
        seqs[True] += 1
        emit(False, 0x11)
        seqs[False] += 1
        emit(True, 0x10)
        return packets

    def udp_exchange(self, client: str, server: str, ts: float, payloads: Sequence[tuple[bool, bytes]],
                     default_port: int) -> list[SynthPacket]:
        caddr, cport, version = _endpoint(client, 0, self.ports)
        saddr, sport, _ = _endpoint(server, default_port, self.ports)
        self.flow += 1
        out = []
        for i, (from_client, payload) in enumerate(payloads):
            src, dst = (caddr, saddr) if from_client else (saddr, caddr)
            sp, dp = (cport, sport) if from_client else (sport, cport)
            packet = _ip(src, dst, 17, _udp(src, dst, sp, dp, payload), ident=i)
            out.append(SynthPacket(ts + i * 0.01, frame(self.linktype, packet, version, from_client, self.vlan),
                                   self.linktype, self.iface, self.flow, from_client, 0, len(payload)))
        return out


def _http_writes(exchanges: Sequence[HttpExchange]) -> list[tuple[bool, bytes, float]]:
    writes: list[tuple[bool, bytes, float]] = []
    pipelined = any(ex.pipelined for ex in exchanges)
    responses = []
    for ex in exchanges:
        head, body = _request_bytes(ex)
        if ex.expect_continue:
            writes.append((True, head, ex.ts))
            writes.append((False, b"HTTP/1.1 100 Continue\r\n\r\n", ex.ts))
            writes.append((True, body, ex.ts))
        else:
            writes.append((True, head + body, ex.ts))
        if pipelined:
            responses.append((False, _response_bytes(ex), ex.ts))
        else:
            writes.append((False, _response_bytes(ex), ex.ts))
    return writes + responses


def build_packets(items: Iterable[HttpExchange | DnsQuery | TlsHello | QuicHello | WebSocketSession], *,
                  linktype: int = LINKTYPE_ETHERNET, mss: int = 1460, vlan: int | None = None,
                  iface: str = "eth0", secrets: list[str] | None = None) -> list[SynthPacket]:
    """The packets of all items, sorted by time. TLS secrets of HTTPS exchanges are appended to ``secrets``
    as NSS key log lines."""
    builder = _Builder(linktype, mss, vlan, iface)
    conversations: dict[object, list[HttpExchange]] = {}
    packets: list[SynthPacket] = []
    for n, item in enumerate(items):
        if isinstance(item, HttpExchange):
            conversations.setdefault(item.connection if item.connection is not None else ("single", n), []).append(item)
        elif isinstance(item, DnsQuery):
            query = dns_query_bytes(item.name, item.qtype, ident=(0x1000 + n) & 0xFFFF)
            packets += builder.udp_exchange(item.client, item.server, item.ts,
                                            [(True, query), (False, _dns_response(query, item.answer))], 53)
        elif isinstance(item, TlsHello):
            writes = [(True, client_hello_record(item.sni, item.alpn), item.ts),
                      (False, _server_hello_flight(), item.ts),
                      (True, b"\x17\x03\x03\x00\x40" + os.urandom(64), item.ts)]
            packets += builder.tcp_conversation(item.client, item.server, item.ts, writes, 443)
        elif isinstance(item, WebSocketSession):
            request, response, frames = websocket_wire(item.host, item.path, item.messages, item.deflate)
            ws_writes = [(True, request, item.ts), (False, response, item.ts)]
            ws_writes += [(True, f, item.ts + 0.01 * (i + 1)) for i, f in enumerate(frames)]
            packets += builder.tcp_conversation(item.client, item.server, item.ts, ws_writes, 80)
        elif isinstance(item, QuicHello):
            from flowaudit.readers.capture.quic import build_client_initial

            datagrams = list(item.datagrams) if item.datagrams else [
                build_client_initial(item.sni, item.dcid or os.urandom(8))]
            packets += builder.udp_exchange(item.client, item.server, item.ts, [(True, d) for d in datagrams], 443)
        else:
            raise TypeError(f"cannot synthesise {type(item).__name__}")
    for exchanges in conversations.values():
        first = exchanges[0]
        if first.tls:
            packets += builder.tcp_conversation(first.client, first.server, first.ts,
                                                tls_writes(exchanges, secrets), 443)
        else:
            packets += builder.tcp_conversation(first.client, first.server, first.ts, _http_writes(exchanges), 80)
    packets.sort(key=lambda p: p.ts)
    return packets


class CaptureWriter:
    """Streams packets to a pcap or pcapng file through scapy's raw writers. In pcapng each distinct
    ``SynthPacket.iface`` becomes an interface with its own link type."""

    def __init__(self, path: Path | str, fmt: str = "pcap", linktype: int = LINKTYPE_ETHERNET,
                 snaplen: int = 262144, nano: bool = False, endianness: str = "") -> None:
        from scapy.utils import RawPcapNgWriter, RawPcapWriter

        self.fmt = fmt
        self.snaplen = snaplen
        self.linktype = linktype
        self.writer: Any
        self.first_iface: str | None = None
        if fmt == "pcap":
            self.writer = RawPcapWriter(str(path), linktype=linktype, snaplen=snaplen, nano=nano, sync=False,
                                        bufsz=1 << 20, endianness=endianness)
            self.writer.linktype = linktype  # scapy ignores a falsy link type (0 = BSD loopback)
        elif fmt == "pcapng":
            self.writer = RawPcapNgWriter(str(path))
        else:
            raise ValueError(f"unknown capture format {fmt!r} (pcap or pcapng)")
        self.count = 0

    def write(self, packet: SynthPacket) -> None:
        data = packet.frame
        wirelen = packet.wirelen or len(data)
        if len(data) > self.snaplen:
            data = data[:self.snaplen]
        writer = self.writer
        if not writer.header_present:
            if self.fmt == "pcapng":
                writer.linktype = packet.linktype
                self.first_iface = packet.iface
            writer._write_header(None)
        if self.fmt == "pcap":
            sec = int(packet.ts)
            usec = round((packet.ts - sec) * (1e9 if writer.nano else 1e6))
            writer._write_packet(data, self.linktype, sec=sec, usec=usec, caplen=len(data), wirelen=wirelen)
        else:
            ifname = None if packet.iface == self.first_iface else packet.iface.encode()
            writer._write_packet(data, packet.linktype, sec=packet.ts, caplen=len(data), wirelen=wirelen,
                                 ifname=ifname)
        self.count += 1

    def close(self) -> None:
        if not self.writer.header_present:
            self.writer._write_header(None)
        self.writer.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_packets(path: Path | str, packets: Iterable[SynthPacket], fmt: str = "pcap", *,
                  linktype: int | None = None, snaplen: int = 262144, nano: bool = False,
                  endianness: str = "") -> int:
    packets = list(packets)
    lt = linktype if linktype is not None else (packets[0].linktype if packets else LINKTYPE_ETHERNET)
    with CaptureWriter(path, fmt, lt, snaplen, nano, endianness) as writer:
        for packet in packets:
            writer.write(packet)
    return writer.count


def write_capture(path: Path | str,
                  items: Iterable[HttpExchange | DnsQuery | TlsHello | QuicHello | WebSocketSession], *,
                  fmt: str = "pcap", linktype: int = LINKTYPE_ETHERNET, mss: int = 1460, vlan: int | None = None,
                  snaplen: int = 262144, nano: bool = False, keylog: Path | str | None = None) -> int:
    """Write a capture of ``items``; returns the number of packets written. With ``keylog`` the TLS secrets
    of HTTPS exchanges are written there (NSS key log format), so the capture can be decrypted."""
    secrets: list[str] = []
    count = write_packets(path, build_packets(items, linktype=linktype, mss=mss, vlan=vlan, secrets=secrets), fmt,
                          linktype=linktype, snaplen=snaplen, nano=nano)
    if keylog is not None:
        Path(keylog).write_text("".join(line + "\n" for line in secrets), encoding="ascii")
    return count


def merge(*packet_lists: Iterable[SynthPacket]) -> list[SynthPacket]:
    """Interleave several packet lists by time (e.g. interfaces of different link types in one pcapng)."""
    return list(heapq.merge(*packet_lists, key=lambda p: p.ts))
