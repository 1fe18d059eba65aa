"""Golden observations for captures written by the synth module, one test per capture case."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest

from flowaudit.core.model import ObservationKind
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
from flowaudit.readers.capture_synth import (
    DnsQuery,
    HttpExchange,
    SynthPacket,
    TlsHello,
    build_packets,
    merge,
    write_capture,
    write_packets,
)
from flowaudit.readers.pcap import CaptureError, CaptureStats, is_capture, read_capture

T0 = 1_700_000_000.0
CLIENT = "10.0.0.2"
SERVER = "203.0.113.7"


def post(ts: float = T0, **kw) -> HttpExchange:
    base = dict(ts=ts, client=CLIENT, server=SERVER, host="log.example.com", method="POST",
                path="/v1/collect?app=demo", headers=[("Content-Type", "application/json")],
                body=b'{"imei":"490154203237518","event":"start"}', response_status=200,
                response_headers=[("Content-Type", "text/plain")], response_body=b"accepted")
    base.update(kw)
    return HttpExchange(**base)


def get(path: str, ts: float = T0, **kw) -> HttpExchange:
    base = dict(ts=ts, client=CLIENT, server=SERVER, host="cdn.example.com", method="GET", path=path,
                response_body=b"<html>" + path.encode() + b"</html>")
    base.update(kw)
    return HttpExchange(**base)


def summary(path: Path, **kw) -> tuple[list[tuple], CaptureStats]:
    stats = CaptureStats()
    rows = []
    for obs in read_capture(path, stats=stats, **kw):
        rows.append((obs.kind.value, obs.method, obs.url, obs.body, obs.status, obs.response_head, obs.error))
    return rows, stats


POST_ROW = ("request", "POST", "http://log.example.com/v1/collect?app=demo",
            b'{"imei":"490154203237518","event":"start"}', 200, b"accepted", None)


def test_is_capture_magics() -> None:
    assert is_capture(b"\xd4\xc3\xb2\xa1....")
    assert is_capture(b"\xa1\xb2\xc3\xd4")
    assert is_capture(b"\x4d\x3c\xb2\xa1")
    assert is_capture(b"\x0a\x0d\x0d\x0a\x1c\x00")
    assert not is_capture(b"PK\x03\x04")
    assert not is_capture(b"")


@pytest.mark.parametrize("linktype", [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW,
                                      LINKTYPE_RAW_12, LINKTYPE_RAW_14, LINKTYPE_NULL, LINKTYPE_LOOP])
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_link_types(tmp_path: Path, linktype: int, fmt: str) -> None:
    path = tmp_path / f"link{linktype}.{fmt}"
    write_capture(path, [post()], fmt=fmt, linktype=linktype)
    rows, stats = summary(path)
    assert rows == [POST_ROW]
    assert stats.flows == 1 and stats.observations == 1 and stats.warnings == []
    assert stats.packets == 10


def test_vlan_tagged_ethernet(tmp_path: Path) -> None:
    path = tmp_path / "vlan.pcap"
    write_capture(path, [post()], vlan=42)
    assert summary(path)[0] == [POST_ROW]


def test_ipv6(tmp_path: Path) -> None:
    path = tmp_path / "v6.pcapng"
    write_capture(path, [post(client="2001:db8::2", server="[2001:db8::7]:8080")], fmt="pcapng")
    rows, _ = summary(path)
    assert rows == [("request", "POST", "http://log.example.com:8080/v1/collect?app=demo", POST_ROW[3], 200,
                     b"accepted", None)]
    obs = next(read_capture(path))
    assert obs.client_ip == "2001:db8::2" and obs.server_ip == "2001:db8::7" and obs.port == 8080


def test_pcap_nanosecond_and_big_endian(tmp_path: Path) -> None:
    for nano, endian in ((True, "<"), (False, ">"), (True, ">")):
        path = tmp_path / f"n{nano}{endian == '>'}.pcap"
        write_packets(path, build_packets([post(ts=T0 + 0.123456)]), nano=nano, endianness=endian)
        obs = list(read_capture(path))
        assert len(obs) == 1
        assert obs[0].ts == pytest.approx(T0 + 0.123456 + 3 * 0.0002, abs=1e-6)


def test_pcapng_multiple_interfaces_of_different_link_types(tmp_path: Path) -> None:
    eth = build_packets([post(ts=T0)], linktype=LINKTYPE_ETHERNET, iface="wlan0")
    raw = build_packets([get("/img.png", ts=T0 + 0.001, client="10.8.0.2")], linktype=LINKTYPE_RAW, iface="tun0")
    sll = build_packets([DnsQuery(ts=T0 + 0.002, client="10.0.0.2", name="Tracker.Example.NET")],
                        linktype=LINKTYPE_LINUX_SLL2, iface="any")
    path = tmp_path / "multi.pcapng"
    write_packets(path, merge(eth, raw, sll), fmt="pcapng")
    rows, stats = summary(path)
    assert sorted(r[:3] for r in rows) == [
        ("dns", None, "tracker.example.net"),
        ("request", "GET", "http://cdn.example.com/img.png"),
        ("request", "POST", "http://log.example.com/v1/collect?app=demo"),
    ]
    assert stats.flows == 2 and stats.warnings == []


def _data_packets(packets: list[SynthPacket], from_client: bool = True) -> list[int]:
    return [i for i, p in enumerate(packets) if p.payload and p.from_client == from_client]


def test_out_of_order_segments(tmp_path: Path) -> None:
    body = bytes(range(256)) * 40
    packets = build_packets([post(body=body)], mss=500)
    idx = _data_packets(packets)
    assert len(idx) >= 5
    order = list(range(len(packets)))
    order[idx[1]], order[idx[3]] = order[idx[3]], order[idx[1]]
    path = tmp_path / "ooo.pcap"
    write_packets(path, [packets[i] for i in order])
    rows, stats = summary(path)
    assert [(r[1], r[3], r[4]) for r in rows] == [("POST", body, 200)]
    assert stats.gaps == 0


def test_retransmitted_segments(tmp_path: Path) -> None:
    body = b"A" * 3000
    packets = build_packets([post(body=body)], mss=700)
    idx = _data_packets(packets)
    packets = packets[:idx[2] + 1] + [packets[idx[1]], packets[idx[2]]] + packets[idx[2] + 1:]
    path = tmp_path / "retrans.pcap"
    write_packets(path, packets)
    rows, stats = summary(path)
    assert [(r[1], r[3], r[6]) for r in rows] == [("POST", body, None)]
    assert stats.gaps == 0


def test_overlapping_segments(tmp_path: Path) -> None:
    """A retransmission that re-segments: a segment covering the end of one and the start of the next."""
    from flowaudit.readers.capture_synth import _ip, _tcp, frame

    body = bytes(i % 251 for i in range(2000))
    packets = build_packets([post(body=body)], mss=600)
    idx = _data_packets(packets)
    first, second = packets[idx[0]], packets[idx[1]]
    stream = b"".join(bytes(p.frame[14 + 40:]) for p in (packets[i] for i in idx))
    overlap_start = first.seq + 300
    data = stream[300:300 + 600]
    seg = _tcp(bytes([10, 0, 0, 2]), bytes([203, 0, 113, 7]), int.from_bytes(first.frame[34:36], "big"), 80,
               overlap_start, 0, 0x18, data)
    ip = _ip(bytes([10, 0, 0, 2]), bytes([203, 0, 113, 7]), 6, seg)
    overlapping = SynthPacket(second.ts, frame(LINKTYPE_ETHERNET, ip, 4), LINKTYPE_ETHERNET, "eth0", 1, True,
                              overlap_start, len(data))
    # the original second segment is lost; the overlapping retransmission covers part of it, then the rest
    packets = packets[:idx[1]] + [overlapping] + packets[idx[1]:]
    path = tmp_path / "overlap.pcap"
    write_packets(path, packets)
    rows, stats = summary(path)
    assert [(r[1], r[3]) for r in rows] == [("POST", body)]
    assert stats.gaps == 0


def test_missing_segment_is_a_gap_not_a_crash(tmp_path: Path) -> None:
    body = b"B" * 4000
    packets = build_packets([post(body=body, connection="c"),
                             get("/after-gap", ts=T0 + 1, connection="c", host="log.example.com")], mss=1000)
    idx = _data_packets(packets)
    lost = packets.pop(idx[2])
    path = tmp_path / "gap.pcap"
    write_packets(path, packets)
    rows, stats = summary(path)
    assert stats.gaps == 1
    assert any("gap" in w for w in stats.warnings)
    assert len(rows) == 2
    first, second = rows
    assert first[1] == "POST" and first[4] == 200
    assert first[6] == "capture gap: 1000 bytes of the request body missing"
    assert first[3] == b"B" * (len(body) - lost.payload)
    assert second[:3] == ("request", "GET", "http://log.example.com/after-gap") and second[6] is None


def test_capture_starting_mid_stream(tmp_path: Path) -> None:
    exchanges = [post(connection="k"), get("/second", ts=T0 + 1, connection="k", host="log.example.com"),
                 get("/third", ts=T0 + 2, connection="k", host="log.example.com")]
    packets = build_packets(exchanges, mss=20)
    idx = _data_packets(packets)
    # the capture starts in the middle of the first request's head: no SYN, no request line
    start = idx[3]
    path = tmp_path / "midstream.pcap"
    write_packets(path, packets[start:])
    rows, stats = summary(path)
    assert [r[2] for r in rows] == ["http://log.example.com/second", "http://log.example.com/third"]
    assert [r[4] for r in rows] == [200, 200]
    assert stats.flows == 1


def test_pipelined_requests(tmp_path: Path) -> None:
    exchanges = [get(f"/p{i}", ts=T0 + i * 0.01, connection="pipe", pipelined=True) for i in range(5)]
    path = tmp_path / "pipelined.pcap"
    write_capture(path, exchanges)
    rows, _ = summary(path)
    assert [(r[2], r[4], r[5]) for r in rows] == [
        (f"http://cdn.example.com/p{i}", 200, f"<html>/p{i}</html>".encode()) for i in range(5)]


def test_keep_alive_connection(tmp_path: Path) -> None:
    exchanges = [post(connection="ka"), get("/k1", ts=T0 + 1, connection="ka", response_status=404,
                                            response_body=b"missing"),
                 get("/k2", ts=T0 + 2, connection="ka", method="HEAD", response_body=b"")]
    path = tmp_path / "keepalive.pcap"
    write_capture(path, exchanges)
    rows, stats = summary(path)
    assert [(r[1], r[2], r[4], r[5]) for r in rows] == [
        ("POST", "http://log.example.com/v1/collect?app=demo", 200, b"accepted"),
        ("GET", "http://cdn.example.com/k1", 404, b"missing"),
        ("HEAD", "http://cdn.example.com/k2", 200, b""),
    ]
    assert stats.flows == 1


def test_chunked_request_and_response(tmp_path: Path) -> None:
    body = b'{"idfa":"' + b"0123456789" * 50 + b'"}'
    payload = b"R" * 2500
    path = tmp_path / "chunked.pcap"
    write_capture(path, [post(body=body, chunked=True, chunk_size=37, response_chunked=True,
                              response_body=payload)], mss=200)
    rows, _ = summary(path)
    obs = next(read_capture(path))
    assert rows[0][3] == body
    assert obs.header("Transfer-Encoding") == "chunked"
    assert obs.response_head == payload[:512] and obs.response_size == len(payload)


def test_gzip_body_is_kept_compressed(tmp_path: Path) -> None:
    raw = b'{"android_id":"9774d56d682e549c"}' * 20
    compressed = gzip.compress(raw)
    path = tmp_path / "gzip.pcap"
    write_capture(path, [post(body=compressed, headers=[("Content-Encoding", "gzip")])])
    obs = next(read_capture(path))
    assert obs.body == compressed and gzip.decompress(obs.body) == raw
    assert obs.header("content-encoding") == "gzip"


def test_expect_100_continue(tmp_path: Path) -> None:
    path = tmp_path / "continue.pcap"
    write_capture(path, [post(expect_continue=True, connection="c"),
                         get("/next", ts=T0 + 1, connection="c")])
    rows, _ = summary(path)
    assert [(r[1], r[3] if r[1] == "POST" else None, r[4], r[5]) for r in rows] == [
        ("POST", POST_ROW[3], 200, b"accepted"), ("GET", None, 200, b"<html>/next</html>")]


def test_dns_queries(tmp_path: Path) -> None:
    path = tmp_path / "dns.pcap"
    write_capture(path, [DnsQuery(T0, CLIENT, "a.umeng.com"), DnsQuery(T0 + 0.1, CLIENT, "a.umeng.com", qtype=28),
                         DnsQuery(T0 + 5, CLIENT, "a.umeng.com"), DnsQuery(T0 + 6, "2001:db8::5", "sdk.jpush.cn",
                                                                           server="2001:4860:4860::8888")])
    rows, _ = summary(path)
    assert [(r[0], r[2]) for r in rows] == [("dns", "a.umeng.com"), ("dns", "a.umeng.com"), ("dns", "sdk.jpush.cn")]


def test_tls_client_hello_sni(tmp_path: Path) -> None:
    path = tmp_path / "sni.pcap"
    write_capture(path, [TlsHello(T0, CLIENT, "198.51.100.9", "api.mobads.baidu.com"),
                         TlsHello(T0 + 1, CLIENT, "198.51.100.10", None)])
    stats = CaptureStats()
    obs = list(read_capture(path, stats=stats))
    assert [(o.kind, o.host, o.tls, o.error) for o in obs] == [
        (ObservationKind.TLS_SNI, "api.mobads.baidu.com", True, None),
        (ObservationKind.TLS_SNI, "198.51.100.10", True, "ClientHello without server name")]
    assert stats.undecryptable_tls == 2


def test_client_hello_split_across_segments(tmp_path: Path) -> None:
    path = tmp_path / "sni-split.pcap"
    write_capture(path, [TlsHello(T0, CLIENT, "198.51.100.9", "open.e.kuaishou.com")], mss=60)
    assert [o.host for o in read_capture(path)] == ["open.e.kuaishou.com"]


def test_snaplen_truncated_packets(tmp_path: Path) -> None:
    body = b"C" * 3000
    path = tmp_path / "snaplen.pcap"
    write_capture(path, [post(body=body), get("/small", ts=T0 + 1)], snaplen=400)
    rows, stats = summary(path)
    assert stats.truncated_packets == 2
    assert any("snaplen" in w for w in stats.warnings)
    post_row = next(r for r in rows if r[1] == "POST")
    assert "gap" in post_row[6]
    assert any(r[2] == "http://cdn.example.com/small" and r[6] is None for r in rows)


def test_truncated_file_yields_complete_flows_and_warns(tmp_path: Path) -> None:
    path = tmp_path / "full.pcap"
    write_capture(path, [post(), get("/later", ts=T0 + 10, body=b"")])
    data = path.read_bytes()
    for cut in (len(data) - 7, len(data) - 60):
        cut_path = tmp_path / f"cut{cut}.pcap"
        cut_path.write_bytes(data[:cut])
        rows, stats = summary(cut_path)
        assert rows[0] == POST_ROW
        assert any("truncated" in w for w in stats.warnings), stats.warnings
    ng = tmp_path / "full.pcapng"
    write_capture(ng, [post(), get("/later", ts=T0 + 10)], fmt="pcapng")
    data = ng.read_bytes()
    (tmp_path / "cut.pcapng").write_bytes(data[:-30])
    rows, stats = summary(tmp_path / "cut.pcapng")
    assert rows[0] == POST_ROW and any("truncated" in w for w in stats.warnings)


def test_garbage_and_unreadable_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(os.urandom(4000))
    with pytest.raises(CaptureError, match="not a pcap or pcapng capture"):
        list(read_capture(garbage))
    header_only = tmp_path / "short.pcap"
    header_only.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    with pytest.raises(CaptureError, match="malformed capture header"):
        list(read_capture(header_only))
    with pytest.raises(CaptureError, match="cannot read"):
        list(read_capture(tmp_path / "missing.pcap"))
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError):
        list(read_capture(empty))


def test_unknown_link_type_is_skipped_with_a_warning(tmp_path: Path) -> None:
    packets = build_packets([post()])
    odd = [SynthPacket(p.ts, p.frame, 147, "usb0") for p in build_packets([get("/x")])]
    path = tmp_path / "unknown.pcapng"
    write_packets(path, merge(packets, odd), fmt="pcapng")
    rows, stats = summary(path)
    assert rows == [POST_ROW]
    assert stats.warnings == ["unknown.pcapng: skipped 10 packet(s) of unsupported link type 147"]
    pcap_path = tmp_path / "unknown.pcap"
    write_packets(pcap_path, odd, linktype=147)
    rows, stats = summary(pcap_path)
    assert rows == [] and "unsupported link type 147" in stats.warnings[0]


def test_idle_connections_are_flushed(tmp_path: Path) -> None:
    """A request whose connection never closes is emitted once idle past the timeout, not at the end."""
    packets = build_packets([post(connection="idle")])
    fin = [i for i, p in enumerate(packets) if p.frame[47] & 0x01]
    packets = [p for i, p in enumerate(packets) if i not in fin and i < fin[0]]
    later = build_packets([DnsQuery(T0 + 500 + i, CLIENT, f"n{i}.example.com") for i in range(5000)])
    path = tmp_path / "idle.pcap"
    write_packets(path, packets + later)
    kinds = [o.kind for o in read_capture(path, idle_timeout=60)]
    assert kinds.index(ObservationKind.REQUEST) < 4500


def test_request_without_response(tmp_path: Path) -> None:
    packets = build_packets([post()])
    packets = [p for p in packets if p.from_client]
    path = tmp_path / "noresp.pcap"
    write_packets(path, packets)
    rows, _ = summary(path)
    assert rows == [POST_ROW[:4] + (None, b"", None)]


def test_big_body_is_capped(tmp_path: Path) -> None:
    from flowaudit.readers.capture import http1

    body = os.urandom(1 << 20)
    path = tmp_path / "big.pcap"
    write_capture(path, [post(body=body)], mss=16000)
    cap = http1.REQUEST_BODY_CAP
    http1.REQUEST_BODY_CAP = 100_000
    try:
        obs = next(read_capture(path))
    finally:
        http1.REQUEST_BODY_CAP = cap
    assert obs.body == body[:100_000] and obs.body_size == len(body)
    assert "truncated at 100000" in obs.error


def test_pcap_header_claims_huge_packet(tmp_path: Path) -> None:
    path = tmp_path / "huge.pcap"
    write_capture(path, [post()])
    data = bytearray(path.read_bytes())
    data += struct.pack("<IIII", int(T0) + 9, 0, 0x7FFFFFF0, 0x7FFFFFF0) + b"\0" * 100
    path.write_bytes(bytes(data))
    rows, stats = summary(path)
    assert rows == [POST_ROW] and any("truncated" in w for w in stats.warnings)


def _aioquic_datagrams(sni: str) -> list[bytes]:
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection

    config = QuicConfiguration(is_client=True, server_name=sni, alpn_protocols=["h3"])
    conn = QuicConnection(configuration=config)
    conn.connect(("127.0.0.1", 443), now=0.0)
    return [data for data, _addr in conn.datagrams_to_send(now=0.0)]


def test_quic_initial_sni(tmp_path: Path) -> None:
    from flowaudit.readers.capture_synth import QuicHello

    datagrams = _aioquic_datagrams("ulogs.umeng.com")
    path = tmp_path / "quic.pcapng"
    write_capture(path, [QuicHello(T0, CLIENT, "198.51.100.20", datagrams=datagrams),
                         QuicHello(T0 + 1, "2001:db8::2", "[2001:db8::443]:443", sni="cdn.example.com",
                                   dcid=bytes.fromhex("8394c8f03e515708"))], fmt="pcapng")
    obs = list(read_capture(path))
    assert [(o.kind, o.host, o.server_ip, o.port) for o in obs] == [
        (ObservationKind.QUIC_SNI, "ulogs.umeng.com", "198.51.100.20", 443),
        (ObservationKind.QUIC_SNI, "cdn.example.com", "2001:db8::443", 443)]


# -- captures made by real tools on loopback --------------------------------------------------------------

import datetime  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

needs_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None or os.geteuid() != 0,
                                   reason="tcpdump on loopback needs root")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = json.dumps({"path": self.path, "received": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.DNSName("sdk.example.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Tcpdump:
    """tcpdump (or dumpcap, which writes pcapng) capturing on loopback until stop()."""

    def __init__(self, path: Path, port: int | str, interface: str = "lo", tool: str = "tcpdump") -> None:
        expression = f"tcp port {port}" if isinstance(port, int) else port
        self.path = path
        if tool == "dumpcap":
            command = ["dumpcap", "-i", interface, "-f", expression, "-w", str(path)]
            ready = b"Capturing on"
        else:
            command = ["tcpdump", "-i", interface, "-U", "--immediate-mode", "-B", "8192", "-s", "0", "-w", str(path),
                       expression]
            ready = b"listening"
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        line = b""
        while time.time() < deadline and ready not in line:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                pytest.skip(f"{tool} could not capture on {interface}")
        time.sleep(0.2)

    def stop(self) -> None:
        # wait until the file stops growing: on a busy machine the capture lags behind the traffic
        path = Path(self.path)
        last, stable_since, deadline = -1, time.time(), time.time() + 15
        while time.time() < deadline:
            size = path.stat().st_size if path.exists() else 0
            if size != last:
                last, stable_since = size, time.time()
            elif time.time() - stable_since > 0.6:
                break
            time.sleep(0.1)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def _serve(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@needs_tcpdump
@pytest.mark.network
@pytest.mark.parametrize(("tool", "interface"), [("tcpdump", "lo"), ("tcpdump", "any"), ("dumpcap", "lo")])
def test_tcpdump_capture_of_curl_and_python_requests(tmp_path: Path, tool: str, interface: str) -> None:
    """lo gives Ethernet frames; 'any' gives Linux cooked (SLL2) frames with every loopback packet twice
    (sent and received); dumpcap writes pcapng."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    _serve(server)
    capture = tmp_path / "plain.pcap"
    dump = _Tcpdump(capture, port, interface, tool)
    try:
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "Host: api.umeng.test", "--data-binary",
                        '{"imei":"490154203237518"}', "-H", "Content-Type: application/json",
                        f"http://127.0.0.1:{port}/v1/report?from=curl"], check=True, timeout=20)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/first?k=1")
        conn.getresponse().read()
        conn.request("POST", "/second", body=b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"})
        conn.getresponse().read()
        conn.close()
    finally:
        dump.stop()
        server.shutdown()
        server.server_close()
    stats = CaptureStats()
    obs = [o for o in read_capture(capture, stats=stats) if o.kind == ObservationKind.REQUEST]
    assert [(o.method, o.host, o.path, o.query, o.body, o.status) for o in obs] == [
        ("POST", "api.umeng.test", "/v1/report", "from=curl", b'{"imei":"490154203237518"}', 200),
        ("GET", "127.0.0.1", "/first", "k=1", b"", 200),
        ("POST", "127.0.0.1", "/second", "", b"a=1&b=2", 200),
    ]
    assert obs[0].response_head == b'{"path": "/v1/report?from=curl", "received": 26}'
    assert all(o.port == port and o.client_ip == "127.0.0.1" and o.error is None for o in obs)
    assert stats.flows == 2 and stats.gaps == 0 and stats.warnings == []


def _https_server(tmp_path: Path, max_version: ssl.TLSVersion | None = None):
    cert, key = _self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if max_version is not None:
        ctx.maximum_version = max_version
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    _serve(server)
    return server, cert


@needs_tcpdump
@pytest.mark.network
@pytest.mark.parametrize("version", ["1.3", "1.2", "1.2-chacha"])
def test_tcpdump_https_with_python_keylog(tmp_path: Path, version: str) -> None:
    server, cert = _https_server(tmp_path)
    port = server.server_address[1]
    capture, keylog = tmp_path / "tls.pcap", tmp_path / "keys.log"
    client_ctx = ssl.create_default_context(cafile=str(cert))
    client_ctx.keylog_filename = str(keylog)
    if version.startswith("1.2"):
        client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if version == "1.2-chacha":
        client_ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
    body = json.dumps({"oaid": "a3b5c7d9-1111-2222-3333-444455556666", "n": list(range(3000))}).encode()
    dump = _Tcpdump(capture, port)
    try:
        conn = http.client.HTTPSConnection("localhost", port, context=client_ctx, timeout=10)
        conn.request("POST", "/collect?sdk=demo", body=body, headers={"Content-Type": "application/json"})
        assert conn.getresponse().read()
        conn.request("GET", "/config")
        conn.getresponse().read()
        conn.close()
    finally:
        dump.stop()
        server.shutdown()
        server.server_close()
    assert ("CLIENT_RANDOM" in keylog.read_text()) == version.startswith("1.2")
    stats = CaptureStats()
    obs = list(read_capture(capture, keylog=keylog, stats=stats))
    assert [(o.kind, o.method, o.url, o.body, o.status, o.tls) for o in obs] == [
        (ObservationKind.REQUEST, "POST", f"https://localhost:{port}/collect?sdk=demo", body, 200, True),
        (ObservationKind.REQUEST, "GET", f"https://localhost:{port}/config", b"", 200, True),
    ]
    assert json.loads(obs[0].response_head) == {"path": "/collect?sdk=demo", "received": len(body)}
    assert stats.undecryptable_tls == 0
    # without the key log only the server name is visible
    stats = CaptureStats()
    plain = list(read_capture(capture, stats=stats))
    assert [(o.kind, o.host) for o in plain] == [(ObservationKind.TLS_SNI, "localhost")]
    assert stats.undecryptable_tls == 1
    # the same secrets embedded in a pcapng by editcap (as PCAPdroid does) decrypt without a key log file
    if shutil.which("editcap"):
        embedded = tmp_path / "with-secrets.pcapng"
        subprocess.run(["editcap", "--inject-secrets", f"tls,{keylog}", str(capture), str(embedded)], check=True,
                       capture_output=True, timeout=30)
        assert [(o.method, o.body) for o in read_capture(embedded)] == [("POST", body), ("GET", b"")]


class _H2Server:
    """A small HTTP/2 server over TLS built on the h2 package."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["h2"])
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while self.running:
            try:
                raw, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        import h2.config
        import h2.connection
        import h2.events

        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        bodies: dict[int, bytes] = {}
        try:
            while True:
                data = tls.recv(65535)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        payload = json.dumps({"received": len(bodies.get(event.stream_id, b""))}).encode()
                        conn.send_headers(event.stream_id, [(":status", "201"), ("content-type", "application/json"),
                                                            ("content-length", str(len(payload)))])
                        conn.send_data(event.stream_id, payload, end_stream=True)
                tls.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError):
            pass
        finally:
            tls.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@needs_tcpdump
@pytest.mark.network
@pytest.mark.parametrize("cipher", ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
                                    "TLS_AES_256_GCM_SHA384"])
def test_tcpdump_http2_with_curl_keylog(tmp_path: Path, cipher: str) -> None:
    cert, key = _self_signed(tmp_path)
    server = _H2Server(cert, key)
    capture, keylog = tmp_path / "h2.pcapng", tmp_path / "curl-keys.log"
    body = b"device_id=860000000000001&mac=02:00:00:00:00:00&" + b"x" * 40000
    dump = _Tcpdump(capture, server.port)
    try:
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--http2", "--cacert", str(cert), "--tls13-ciphers", cipher,
                        "--resolve", f"sdk.example.test:{server.port}:127.0.0.1", "--data-binary", "@-",
                        "-H", "Content-Type: application/x-www-form-urlencoded", "-H", "X-Sdk-Version: 4.2",
                        f"https://sdk.example.test:{server.port}/api/v2/upload?ts=1"],
                       input=body, check=True, timeout=20, env={**os.environ, "SSLKEYLOGFILE": str(keylog)})
    finally:
        dump.stop()
        server.close()
    stats = CaptureStats()
    obs = list(read_capture(capture, keylog=keylog, stats=stats))
    assert len(obs) == 1, obs
    o = obs[0]
    assert (o.kind, o.method, o.url, o.http_version, o.status, o.tls) == (
        ObservationKind.REQUEST, "POST", f"https://sdk.example.test:{server.port}/api/v2/upload?ts=1", "HTTP/2.0",
        201, True)
    assert o.body == body and o.header("x-sdk-version") == "4.2"
    assert json.loads(o.response_head) == {"received": len(body)}
    assert stats.undecryptable_tls == 0 and stats.gaps == 0


def test_flow_table_limit_flushes_the_oldest_connections(tmp_path: Path, monkeypatch) -> None:
    from flowaudit.readers import pcap

    monkeypatch.setattr(pcap, "FLOW_LIMIT", 40)
    monkeypatch.setattr(pcap, "SWEEP_EVERY", 16)
    packets = []
    for i in range(60):  # sixty connections, none closed
        conv = build_packets([get(f"/c{i}", ts=T0 + i * 0.01, client=f"10.0.{i}.2", connection=f"k{i}")])
        packets += [p for p in conv if not p.frame[47] & 0x01][:-1]
    packets.sort(key=lambda p: p.ts)
    path = tmp_path / "many.pcap"
    write_packets(path, packets)
    rows, stats = summary(path)
    assert sorted(r[2] for r in rows) == sorted(f"http://cdn.example.com/c{i}" for i in range(60))
    assert any("flushed early" in w for w in stats.warnings)


def test_errors_come_from_the_call_and_bad_key_logs(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("hello")
    with pytest.raises(CaptureError, match="not a pcap or pcapng capture"):
        read_capture(garbage)
    path = tmp_path / "ok.pcap"
    write_capture(path, [post()])
    bad_keys = tmp_path / "keys.log"
    bad_keys.write_text("not a key log\n")
    with pytest.raises(CaptureError, match="no TLS secrets found"):
        read_capture(path, keylog=bad_keys)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_tcpdump
@pytest.mark.network
def test_tcpdump_curl_through_mitmproxy_with_keylogs(tmp_path: Path) -> None:
    """curl -> mitmproxy -> HTTPS server, both legs captured; curl and mitmproxy log their TLS secrets."""
    import sys

    mitmdump = Path(sys.executable).with_name("mitmdump")
    if not mitmdump.exists():
        pytest.skip("mitmdump not installed")
    server, _cert = _https_server(tmp_path)
    server_port = server.server_address[1]
    proxy_port = _free_port()
    confdir = tmp_path / "mitm"
    curl_keys, mitm_keys = tmp_path / "curl-keys.log", tmp_path / "mitm-keys.log"
    proxy = subprocess.Popen([str(mitmdump), "--listen-host", "127.0.0.1", "--listen-port", str(proxy_port),
                              "--set", f"confdir={confdir}", "--ssl-insecure", "-q"],
                             env={**os.environ, "MITMPROXY_SSLKEYLOGFILE": str(mitm_keys)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    capture = tmp_path / "proxied.pcap"
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", proxy_port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or proxy.poll() is not None:
                    pytest.skip("mitmdump did not start")
                time.sleep(0.2)
        dump = _Tcpdump(capture, f"tcp port {proxy_port} or tcp port {server_port}")
        try:
            subprocess.run(["curl", "-s", "-o", "/dev/null", "-x", f"http://127.0.0.1:{proxy_port}", "--cacert",
                            str(confdir / "mitmproxy-ca-cert.pem"), "--data-binary", "imei=490154203237518",
                            f"https://localhost:{server_port}/through/proxy?q=1"],
                           check=True, timeout=30, env={**os.environ, "SSLKEYLOGFILE": str(curl_keys)})
        finally:
            dump.stop()
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        server.shutdown()
        server.server_close()
    keys = tmp_path / "all-keys.log"
    keys.write_text(curl_keys.read_text() + mitm_keys.read_text())
    stats = CaptureStats()
    obs = [(o.method, o.url, o.body, o.status) for o in read_capture(capture, keylog=keys, stats=stats)]
    url = f"https://localhost:{server_port}/through/proxy?q=1"
    assert obs.count(("POST", url, b"imei=490154203237518", 200)) == 2, obs  # client leg and upstream leg
    assert ("CONNECT", f"http://localhost:{server_port}/", b"", 200) in obs
    assert stats.undecryptable_tls == 0


_FUZZ_BASE: dict[str, bytes] = {}


def _fuzz_base(tmp_path_factory_dir: Path, fmt: str) -> bytes:
    if fmt not in _FUZZ_BASE:
        from flowaudit.readers.capture_synth import QuicHello

        path = tmp_path_factory_dir / f"fuzz-base.{fmt}"
        write_capture(path, [post(connection="f"), get("/g", ts=T0 + 0.5, connection="f", response_chunked=True),
                             DnsQuery(T0 + 1, CLIENT, "fuzz.example.com"),
                             TlsHello(T0 + 2, CLIENT, "198.51.100.9", "tls.example.com"),
                             QuicHello(T0 + 3, CLIENT, "198.51.100.10", sni="quic.example.com")], mss=300, fmt=fmt)
        _FUZZ_BASE[fmt] = path.read_bytes()
    return _FUZZ_BASE[fmt]


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(24, 10**6), st.integers(1, 255)), min_size=1, max_size=30),
       cut=st.one_of(st.none(), st.integers(24, 10**6)), fmt=st.sampled_from(["pcap", "pcapng"]))
def test_corrupted_captures_never_raise(tmp_path: Path, flips, cut, fmt) -> None:
    """Flipped bytes and cuts anywhere after the file header: observations or warnings, never a traceback."""
    data = bytearray(_fuzz_base(tmp_path, fmt))
    header = 24 if fmt == "pcap" else 28  # file header / section header block
    for offset, value in flips:
        data[header + offset % (len(data) - header)] ^= value
    if cut is not None:
        data = data[:header + cut % (len(data) - header)]
    path = tmp_path / f"fuzzed.{fmt}"
    path.write_bytes(bytes(data))
    stats = CaptureStats()
    observations = list(read_capture(path, stats=stats))
    assert stats.observations == len(observations)


def test_stats_accumulate_over_several_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pcap", tmp_path / "b.pcapng"
    write_capture(first, [post()])
    write_capture(second, [post(), DnsQuery(T0, CLIENT, "x.example.com")], fmt="pcapng")
    stats = CaptureStats()
    total = list(read_capture(first, stats=stats)) + list(read_capture(second, stats=stats))
    assert (stats.packets, stats.flows, stats.observations) == (22, 2, len(total)) == (22, 2, 3)


def test_pcapng_ending_with_a_statistics_block_is_not_truncated(tmp_path: Path) -> None:
    path = tmp_path / "stats.pcapng"
    write_capture(path, [post()], fmt="pcapng")
    body = struct.pack("<III", 0, 0, 0) + struct.pack("<HH", 0, 0)  # interface 0, timestamp, end of options
    isb = struct.pack("<II", 5, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    with path.open("ab") as f:
        f.write(isb)
    rows, stats = summary(path)
    assert rows == [POST_ROW] and stats.warnings == []
    path.write_bytes(path.read_bytes()[:-6])
    rows, stats = summary(path)
    assert rows == [POST_ROW] and any("truncated" in w for w in stats.warnings)


def test_websocket_messages_after_upgrade(tmp_path: Path) -> None:
    from flowaudit.readers.capture_synth import WebSocketSession

    path = tmp_path / "ws.pcap"
    write_capture(path, [WebSocketSession(T0, CLIENT, "198.51.100.30", "push.example.cn", "/push?uid=42",
                                          ['{"op":"register","imei":"490154203237518"}', b"\x08\x96\x01binary"],
                                          deflate=True)], mss=30)
    obs = list(read_capture(path))
    assert [(o.kind.value, o.url, o.body, o.status, o.error) for o in obs] == [
        ("request", "http://push.example.cn/push?uid=42", b"", 101, None),
        ("websocket", "ws://push.example.cn/push?uid=42", b'{"op":"register","imei":"490154203237518"}', None, None),
        ("websocket", "ws://push.example.cn/push?uid=42", b"\x08\x96\x01binary", None, None)]


def test_stats_follow_progress_while_iterating(tmp_path: Path) -> None:
    path = tmp_path / "progress.pcap"
    write_capture(path, [get(f"/p{i}", ts=T0 + i) for i in range(5)])
    stats = CaptureStats()
    seen = [stats.packets for _ in read_capture(path, stats=stats)]
    assert seen == sorted(seen) and 0 < seen[0] < seen[-1] <= stats.packets == 50


def test_tcp_fast_open_data_on_the_syn(tmp_path: Path) -> None:
    from flowaudit.readers.capture_synth import _ip, _tcp, frame

    packets = build_packets([post()])
    first_data = next(p for p in packets if p.payload and p.from_client)
    syn = packets[0]
    payload = first_data.frame[54:]
    src, dst = bytes([10, 0, 0, 2]), bytes([203, 0, 113, 7])
    sport = int.from_bytes(syn.frame[34:36], "big")
    syn_with_data = _ip(src, dst, 6, _tcp(src, dst, sport, 80, first_data.seq - 1, 0, 0x02, payload))
    packets[0] = SynthPacket(syn.ts, frame(LINKTYPE_ETHERNET, syn_with_data, 4), LINKTYPE_ETHERNET)
    packets.remove(first_data)
    path = tmp_path / "tfo.pcap"
    write_packets(path, packets)
    assert summary(path)[0] == [POST_ROW]


def test_synthetic_https_with_and_without_keylog(tmp_path: Path) -> None:
    path, keys = tmp_path / "https.pcap", tmp_path / "keys.log"
    write_capture(path, [post(tls=True, connection="t"), get("/next", ts=T0 + 1, tls=True, connection="t",
                                                             host="log.example.com"),
                         post(ts=T0 + 2, host="h2.example.com", tls=True, http2=True, body=b"z" * 50000,
                              response_status=202)], keylog=keys)
    rows, stats = summary(path, keylog=keys)
    assert [(r[0], r[1], r[2], len(r[3]), r[4], r[6]) for r in rows] == [
        ("request", "POST", "https://log.example.com/v1/collect?app=demo", len(POST_ROW[3]), 200, None),
        ("request", "GET", "https://log.example.com/next", 0, 200, None),
        ("request", "POST", "https://h2.example.com/v1/collect?app=demo", 50000, 202, None)]
    assert stats.undecryptable_tls == 0
    rows, stats = summary(path)
    assert [(r[0], r[2]) for r in rows] == [("tls_sni", "log.example.com"), ("tls_sni", "h2.example.com")]
    assert stats.undecryptable_tls == 2


_exchange_strategy = st.builds(
    lambda method, path, body, status, response, chunked, response_chunked, expect: dict(
        method=method, path=path, body=body if method in ("POST", "PUT") else b"", response_status=status,
        response_body=response if status not in (204, 304) else b"", chunked=chunked and method in ("POST", "PUT"),
        response_chunked=response_chunked and status not in (204, 304),
        expect_continue=expect and method in ("POST", "PUT")),
    st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    st.from_regex(r"/[a-z0-9_\-/]{0,20}(\?[a-z]{1,5}=[a-z0-9]{0,8})?", fullmatch=True),
    st.binary(max_size=3000), st.sampled_from([200, 201, 204, 404, 500]), st.binary(max_size=2000),
    st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_exchange_strategy, min_size=1, max_size=4), mss=st.integers(7, 1460),
       pipelined=st.booleans(), swaps=st.lists(st.integers(0, 10**6), max_size=4),
       dups=st.lists(st.integers(0, 10**6), max_size=4))
def test_random_keep_alive_connections_round_trip(tmp_path: Path, specs, mss, pipelined, swaps, dups) -> None:
    """Whatever the exchanges, segmentation, reordering of neighbouring segments and duplicates, every
    request comes out once, with its body and its response."""
    exchanges = [HttpExchange(ts=T0 + i, client=CLIENT, server=SERVER, host="prop.example.com", connection="c",
                              pipelined=pipelined, **spec) for i, spec in enumerate(specs)]
    packets = build_packets(exchanges, mss=mss)
    data = [i for i, p in enumerate(packets) if p.payload]
    for n in swaps:
        i = data[n % len(data)]
        if i + 1 < len(packets) and packets[i + 1].payload:
            packets[i], packets[i + 1] = packets[i + 1], packets[i]
    for n in dups:
        i = data[n % len(data)]
        packets.insert(i + 1, packets[i])
    path = tmp_path / "prop.pcap"
    write_packets(path, packets)
    stats = CaptureStats()
    got = [(o.method, o.path + ("?" + o.query if o.query else ""), o.body, o.status, o.response_head, o.error)
           for o in read_capture(path, stats=stats)]
    assert got == [(s["method"], s["path"], s["body"], s["response_status"], s["response_body"][:512], None)
                   for s in specs]
    assert stats.gaps == 0


def test_ip_fragments_are_counted_and_skipped(tmp_path: Path) -> None:
    packets = build_packets([DnsQuery(T0, CLIENT, "frag.example.com"), post(ts=T0 + 1)])
    query = packets[0]
    fragment = bytearray(query.frame)
    fragment[14 + 6] |= 0x20  # more fragments
    packets[0] = SynthPacket(query.ts, bytes(fragment), query.linktype)
    path = tmp_path / "frag.pcap"
    write_packets(path, packets)
    rows, stats = summary(path)
    assert [r[0] for r in rows] == ["request"]
    assert "frag.pcap: skipped 1 IP fragment(s)" in stats.warnings
