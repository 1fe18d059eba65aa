from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from flowaudit.readers.capture.link import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW
from flowaudit.readers.capture_synth import (
    DnsQuery,
    HttpExchange,
    QuicHello,
    TlsHello,
    _checksum,
    _chunk,
    build_packets,
    merge,
    write_capture,
    write_packets,
)

T0 = 1_700_000_000.0
ITEMS = [
    HttpExchange(T0, "10.0.0.2", "203.0.113.7", "log.example.com", "POST", "/c?x=1", [("X-A", "1")], b"k=v" * 700,
                 response_body=b"ok", connection="a"),
    HttpExchange(T0 + 1, "10.0.0.2", "203.0.113.7", "log.example.com", "GET", "/d", connection="a",
                 response_chunked=True, response_body=b"z" * 3000),
    DnsQuery(T0 + 2, "10.0.0.2", "log.example.com"),
    TlsHello(T0 + 3, "2001:db8::2", "[2001:db8::7]:443", "secure.example.com"),
    QuicHello(T0 + 4, "10.0.0.2", "198.51.100.1", sni="quic.example.com"),
]


def test_checksum_and_chunking() -> None:
    # RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2, complement 220d
    assert _checksum(bytes.fromhex("0001f203f4f5f6f7")) == bytes.fromhex("220d")
    assert _chunk(b"abcdef", 4) == b"4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"


def test_tcp_conversation_shape() -> None:
    packets = build_packets(ITEMS[:2], mss=1000)
    flags = [p.frame[47] for p in packets]
    assert flags[:3] == [0x02, 0x12, 0x10]
    assert flags[-3:] == [0x11, 0x11, 0x10]
    client_data = b"".join(p.frame[54:] for p in packets if p.from_client and p.payload)
    assert client_data.count(b"HTTP/1.1\r\n") == 2 and len({p.flow for p in packets}) == 1
    assert [p.ts for p in packets] == sorted(p.ts for p in packets)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_tshark_dissects_synthetic_captures(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"synth.{fmt}"
    write_capture(path, ITEMS, fmt=fmt)
    fields = subprocess.run(
        ["tshark", "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "http.request.uri", "-e", "dns.qry.name",
         "-e", "tls.handshake.extensions_server_name", "-e", "_ws.expert.message", "-e", "http.response.code"],
        capture_output=True, text=True, check=True, timeout=60).stdout
    assert "/c?x=1" in fields and "/d" in fields
    assert "log.example.com" in fields and "secure.example.com" in fields
    assert "Bad checksum" not in fields and "bad" not in fields.lower()
    quic = subprocess.run(["tshark", "-r", str(path), "-Y", "quic", "-T", "fields", "-e",
                           "tls.handshake.extensions_server_name"], capture_output=True, text=True, timeout=60).stdout
    assert "quic.example.com" in quic


def test_scapy_dissects_frames_of_every_link_type(tmp_path: Path) -> None:
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.l2 import Dot1Q
    from scapy.utils import rdpcap

    packets = merge(build_packets(ITEMS[:1], linktype=LINKTYPE_ETHERNET, iface="eth0", vlan=5),
                    build_packets(ITEMS[2:3], linktype=LINKTYPE_RAW, iface="tun0"),
                    build_packets(ITEMS[3:4], linktype=LINKTYPE_LINUX_SLL2, iface="any"))
    path = tmp_path / "multi.pcapng"
    write_packets(path, packets, fmt="pcapng")
    parsed = rdpcap(str(path))
    assert len(parsed) == len(packets)
    assert all(p.haslayer(TCP) or p.haslayer(UDP) for p in parsed)
    assert any(p.haslayer(Dot1Q) for p in parsed)


def test_websocket_session_frames() -> None:
    from flowaudit.readers.capture_synth import WebSocketSession, websocket_wire

    request, response, frames = websocket_wire("h.example", "/ws", ["a", b"b"], deflate=True)
    assert request.startswith(b"GET /ws HTTP/1.1\r\n") and b"permessage-deflate" in response
    assert [f[0] & 0x40 for f in frames] == [0x40, 0x40] and all(f[1] & 0x80 for f in frames)  # compressed, masked
    packets = build_packets([WebSocketSession(T0, "10.0.0.2", "198.51.100.3", "h.example", "/ws", ["x"])])
    plain_request, _, [frame_x] = websocket_wire("h.example", "/ws", ["x"])
    assert sum(p.payload for p in packets if p.from_client) == len(plain_request) + len(frame_x)


HTTPS = [
    HttpExchange(T0, "10.0.0.2", "198.51.100.7", "ulogs.umeng.com", "POST", "/unify_logs", [("X-Umeng-Sdk", "9.6")],
                 b'{"imei":"490154203237518"}', tls=True, connection="u"),
    HttpExchange(T0 + 1, "10.0.0.2", "198.51.100.7", "ulogs.umeng.com", "GET", "/cfg", tls=True, connection="u"),
    HttpExchange(T0 + 2, "10.0.0.2", "198.51.100.8", "api.jpush.cn", "POST", "/v3/report", [], b"k=v" * 30000,
                 tls=True, http2=True, response_status=201),
]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_decrypts_synthetic_https_with_the_written_keylog(tmp_path: Path) -> None:
    path, keys = tmp_path / "https.pcapng", tmp_path / "keys.log"
    write_capture(path, HTTPS, fmt="pcapng", keylog=keys)
    assert "CLIENT_TRAFFIC_SECRET_0" in keys.read_text()
    fields = subprocess.run(["tshark", "-r", str(path), "-o", f"tls.keylog_file:{keys}", "-Y",
                             "http.request or http2.type == 1", "-T", "fields", "-e", "http.request.uri",
                             "-e", "http2.header.value"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "/unify_logs" in fields and "/cfg" in fields and "/v3/report" in fields
