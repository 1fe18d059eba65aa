"""Decryption of TLS handshakes made by Python's ssl module in memory, replayed as captured TCP streams."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import h2.config
import h2.connection
import pytest

from flowaudit.core.model import ObservationKind
from flowaudit.readers.capture_synth import _Builder, write_packets
from flowaudit.readers.pcap import CaptureStats, read_capture

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    out = []
    directory = tmp_path_factory.mktemp("certs")
    for kind, key in (("ec", ec.generate_private_key(ec.SECP256R1())),
                      ("rsa", rsa.generate_private_key(public_exponent=65537, key_size=2048))):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.test")])
        now = datetime.datetime.now(datetime.UTC)
        c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName([x509.DNSName("api.example.test")]), critical=False)
             .sign(key, hashes.SHA256()))
        cert_path, key_path = directory / f"{kind}.pem", directory / f"{kind}.key"
        cert_path.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        out.append((cert_path, key_path))
    return out


class Transcript:
    """A client and server SSLObject pair; everything they write is recorded as (from_client, bytes)."""

    def __init__(self, cert: tuple[Path, Path], keylog: Path, *, max_version=None, ciphers: str | None = None,
                 alpn: list[str] | None = None, session=None, client_ctx=None, server_ctx=None) -> None:
        if server_ctx is None:
            server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_ctx.load_cert_chain(*cert)
            if ciphers:
                server_ctx.set_ciphers(ciphers)
            if alpn:
                server_ctx.set_alpn_protocols(alpn)
        self.server_ctx = server_ctx
        if client_ctx is None:
            client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            client_ctx.load_verify_locations(cert[0])
            client_ctx.keylog_filename = str(keylog)
            if max_version:
                client_ctx.maximum_version = max_version
            if alpn:
                client_ctx.set_alpn_protocols(alpn)
        self.client_ctx = client_ctx
        self.c_in, self.c_out, self.s_in, self.s_out = (ssl.MemoryBIO() for _ in range(4))
        self.client = client_ctx.wrap_bio(self.c_in, self.c_out, server_hostname="api.example.test", session=session)
        self.server = server_ctx.wrap_bio(self.s_in, self.s_out, server_side=True)
        self.writes: list[tuple[bool, bytes, float]] = []
        for _ in range(10):
            done = True
            for obj in (self.client, self.server):
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    done = False
                self.pump()
            if done:
                break

    def pump(self) -> None:
        while self.c_out.pending or self.s_out.pending:
            if self.c_out.pending:
                data = self.c_out.read()
                self.writes.append((True, data, T0))
                self.s_in.write(data)
            if self.s_out.pending:
                data = self.s_out.read()
                self.writes.append((False, data, T0))
                self.c_in.write(data)

    def exchange(self, request: bytes, response: bytes) -> bytes:
        self.client.write(request)
        self.pump()
        received = b""
        while len(received) < len(request):
            try:
                received += self.server.read(65536)
            except ssl.SSLWantReadError:
                break
        self.server.write(response)
        self.pump()
        try:
            self.client.read(65536)
        except ssl.SSLWantReadError:
            pass
        self.pump()
        return received

    def capture(self, path: Path, mss: int = 1460, drop: int | None = None) -> Path:
        packets = _Builder(1, mss, None, "eth0").tcp_conversation("10.0.0.2", "198.51.100.7:443", T0, self.writes, 443)
        if drop is not None:
            data = [i for i, p in enumerate(packets) if p.payload and p.from_client]
            del packets[data[drop]]
        write_packets(path, packets)
        return path


REQUEST = (b"POST /v1/event?sdk=umeng HTTP/1.1\r\nHost: api.example.test\r\nContent-Type: application/json\r\n"
           b"Content-Length: 34\r\n\r\n{\"oaid\":\"0f1e2d3c-4b5a-6978-8796\"}")
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"code\":0}\n"


def rows(path: Path, keylog: Path | None) -> tuple[list[tuple], CaptureStats]:
    stats = CaptureStats()
    out = [(o.kind, o.method, o.url, o.body, o.status, o.error)
           for o in read_capture(path, keylog=keylog, stats=stats)]
    return out, stats


DECRYPTED = [(ObservationKind.REQUEST, "POST", "https://api.example.test/v1/event?sdk=umeng",
              b'{"oaid":"0f1e2d3c-4b5a-6978-8796"}', 200, None)]


@pytest.mark.parametrize(("label", "max_version", "ciphers", "cert_index"), [
    ("tls13", None, None, 0),
    ("tls12-ecdsa-aes128gcm", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256", 0),
    ("tls12-ecdsa-aes256gcm", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES256-GCM-SHA384", 0),
    ("tls12-rsa-chacha", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305", 1),
    ("tls12-rsa-aes256gcm", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384", 1),
])
def test_http1_decrypted(tmp_path: Path, cert, label: str, max_version, ciphers, cert_index: int) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[cert_index], keylog, max_version=max_version, ciphers=ciphers)
    assert t.exchange(REQUEST, RESPONSE) == REQUEST
    path = t.capture(tmp_path / f"{label}.pcap", mss=300)
    got, stats = rows(path, keylog)
    assert got == DECRYPTED
    assert stats.undecryptable_tls == 0


def test_http2_decrypted(tmp_path: Path, cert) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog, alpn=["h2"])
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client.initiate_connection()
    server.initiate_connection()
    client.send_headers(1, [(":method", "POST"), (":scheme", "https"), (":authority", "api.example.test"),
                            (":path", "/h2/upload"), ("content-type", "application/octet-stream")])
    client.send_data(1, b"\x00\x01binary-body", end_stream=True)
    request = client.data_to_send()
    server.receive_data(request)
    server.send_headers(1, [(":status", "202")])
    server.send_data(1, b"accepted", end_stream=True)
    t.exchange(request, server.data_to_send())
    got, _ = rows(t.capture(tmp_path / "h2.pcap"), keylog)
    assert got == [(ObservationKind.REQUEST, "POST", "https://api.example.test/h2/upload", b"\x00\x01binary-body",
                    202, None)]


@pytest.mark.parametrize("max_version", [None, ssl.TLSVersion.TLSv1_2], ids=["tls13", "tls12"])
def test_resumed_session(tmp_path: Path, cert, max_version) -> None:
    keylog = tmp_path / "keys.log"
    first = Transcript(cert[0], keylog, max_version=max_version)
    first.exchange(REQUEST, RESPONSE)
    session = first.client.session
    second = Transcript(cert[0], keylog, session=session, client_ctx=first.client_ctx,
                        server_ctx=first.server_ctx)
    assert second.client.session_reused
    second.exchange(REQUEST, RESPONSE)
    got, _ = rows(second.capture(tmp_path / "resumed.pcap"), keylog)
    assert got == DECRYPTED


def test_without_matching_secrets_only_the_server_name(tmp_path: Path, cert) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog)
    t.exchange(REQUEST, RESPONSE)
    path = t.capture(tmp_path / "tls.pcap")
    got, stats = rows(path, None)
    assert got == [(ObservationKind.TLS_SNI, None, "api.example.test", b"", None, None)]
    assert stats.undecryptable_tls == 1
    # a key log for other connections only
    other = tmp_path / "other.log"
    other.write_text(f"CLIENT_RANDOM {'ab' * 32} {'11' * 48}\n")
    got, _ = rows(path, other)
    assert got == [(ObservationKind.TLS_SNI, None, "api.example.test", b"", None,
                    "no secrets for this connection in the key log")]
    # a key log whose secrets are wrong for this connection
    wrong = tmp_path / "wrong.log"
    wrong.write_text("".join(f"{line.split()[0]} {line.split()[1]} {'00' * 32}\n"
                             for line in keylog.read_text().splitlines() if line and not line.startswith("#")))
    got, stats = rows(path, wrong)
    assert [(g[0], g[2]) for g in got] == [(ObservationKind.TLS_SNI, "api.example.test")]
    assert "failed to decrypt" in got[0][5]


def test_unsupported_cipher_suite(tmp_path: Path, cert) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog, max_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA256")
    t.exchange(REQUEST, RESPONSE)
    got, stats = rows(t.capture(tmp_path / "cbc.pcap"), keylog)
    assert [(g[0], g[2]) for g in got] == [(ObservationKind.TLS_SNI, "api.example.test")]
    assert got[0][5] == "cipher suite 0xc023 is not supported for decryption"
    assert stats.undecryptable_tls == 1


def test_gap_in_encrypted_stream(tmp_path: Path, cert) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog)
    t.exchange(REQUEST, RESPONSE)
    t.exchange(REQUEST.replace(b"/v1/event", b"/v1/other"), RESPONSE)
    got, stats = rows(t.capture(tmp_path / "gap.pcap", mss=100, drop=-2), keylog)
    assert stats.gaps == 1
    assert got[0] == DECRYPTED[0]


def test_tls_inside_a_proxy_connect_tunnel(tmp_path: Path, cert) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog)
    t.exchange(REQUEST, RESPONSE)
    connect = (b"CONNECT api.example.test:8443 HTTP/1.1\r\nHost: api.example.test:8443\r\n"
               b"Proxy-Authorization: Basic dTpw\r\n\r\n")
    # the client sends its ClientHello right behind the CONNECT, before the proxy answers
    writes = [(True, connect + t.writes[0][1], T0), (False, b"HTTP/1.1 200 Connection established\r\n\r\n", T0),
              *t.writes[1:]]
    packets = _Builder(1, 200, None, "eth0").tcp_conversation("10.0.0.2", "192.0.2.80:3128", T0, writes, 3128)
    path = tmp_path / "proxy.pcap"
    write_packets(path, packets)
    stats = CaptureStats()
    got = [(o.kind, o.method, o.url, o.body, o.status, o.port) for o in read_capture(path, keylog=keylog, stats=stats)]
    assert got == [
        (ObservationKind.REQUEST, "CONNECT", "http://api.example.test:8443/", b"", 200, 8443),
        (ObservationKind.REQUEST, "POST", "https://api.example.test:8443/v1/event?sdk=umeng",
         b'{"oaid":"0f1e2d3c-4b5a-6978-8796"}', 200, 8443)]
    # without secrets: the CONNECT and the server name
    got = [(o.kind, o.host, o.port) for o in read_capture(path)]
    assert got == [(ObservationKind.REQUEST, "api.example.test", 8443),
                   (ObservationKind.TLS_SNI, "api.example.test", 8443)]


def test_refused_connect_keeps_parsing_http(tmp_path: Path) -> None:
    from flowaudit.readers.capture_synth import _Builder as Builder

    writes = [(True, b"CONNECT blocked.example:443 HTTP/1.1\r\n\r\nGET http://ok.example/x HTTP/1.1\r\n\r\n", T0),
              (False, b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
               T0)]
    path = tmp_path / "refused.pcap"
    write_packets(path, Builder(1, 1460, None, "eth0").tcp_conversation("10.0.0.2", "192.0.2.80:3128", T0, writes,
                                                                        3128))
    assert [(o.method, o.host, o.status) for o in read_capture(path)] == [("CONNECT", "blocked.example", 403),
                                                                         ("GET", "ok.example", 200)]


def test_websocket_over_decrypted_tls(tmp_path: Path, cert) -> None:
    from flowaudit.readers.capture_synth import websocket_wire

    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog)
    request, response, [frames] = websocket_wire("api.example.test", "/live", ['{"android_id":"9774d56d682e549c"}'])
    t.exchange(request, response)
    t.exchange(frames, b"")
    got = [(o.kind, o.url, o.body) for o in read_capture(t.capture(tmp_path / "wss.pcap"), keylog=keylog)]
    assert got == [(ObservationKind.REQUEST, "https://api.example.test/live", b""),
                   (ObservationKind.WEBSOCKET, "wss://api.example.test/live", b'{"android_id":"9774d56d682e549c"}')]


def test_decrypted_connection_without_requests_reports_its_server_name(tmp_path: Path, cert) -> None:
    keylog = tmp_path / "keys.log"
    t = Transcript(cert[0], keylog)  # handshake only, no request
    got, stats = rows(t.capture(tmp_path / "idle.pcap"), keylog)
    assert got == [(ObservationKind.TLS_SNI, None, "api.example.test", b"", None, None)]
    assert stats.undecryptable_tls == 0
