from __future__ import annotations

from flowaudit.readers.capture.connection import (
    HTTP,
    IGNORED,
    TLS,
    CaptureContext,
    TcpConnection,
    exchange_observation,
    split_host_port,
)
from flowaudit.readers.capture.http1 import HttpExchange

CLIENT, SERVER = bytes([10, 0, 0, 2]), bytes([203, 0, 113, 7])


def connection(from_start: bool = True, port: int = 80) -> tuple[TcpConnection, CaptureContext]:
    ctx = CaptureContext(None)
    ctx.ts = 42.0
    return TcpConnection(ctx, CLIENT, 50000, SERVER, port, from_start), ctx


def test_split_host_port() -> None:
    assert split_host_port("api.example.com") == ("api.example.com", None)
    assert split_host_port("api.example.com:8443") == ("api.example.com", 8443)
    assert split_host_port("[2001:db8::1]:80") == ("2001:db8::1", 80)
    assert split_host_port("2001:db8::1") == ("2001:db8::1", None)
    assert split_host_port("host:99999") == ("host", None)


def test_observation_from_absolute_form_and_connect() -> None:
    proxied = HttpExchange(1.0, "GET", "http://tracker.example.net:8080/p?x=1", "HTTP/1.1", [("Host", "other")])
    obs = exchange_observation(proxied, "10.0.0.2", "203.0.113.7", 3128, False)
    assert (obs.host, obs.path, obs.query, obs.port) == ("tracker.example.net", "/p", "x=1", 3128)
    tunnel = HttpExchange(1.0, "CONNECT", "secure.example.net:443", "HTTP/1.1", [])
    obs = exchange_observation(tunnel, "10.0.0.2", "203.0.113.7", 3128, False)
    assert (obs.host, obs.path) == ("secure.example.net", "")
    bare = HttpExchange(1.0, "GET", "/x", "HTTP/1.0", [])
    obs = exchange_observation(bare, "10.0.0.2", "203.0.113.7", 80, False)
    assert obs.host == "203.0.113.7" and obs.url == "http://203.0.113.7/x"


def test_protocol_decision() -> None:
    conn, ctx = connection()
    conn.data(False, b"220 smtp.example.net ESMTP\r\n")  # server speaks first: held until the client decides
    conn.data(True, b"EHLO client.example.net\r\n")
    assert conn.mode == IGNORED
    conn, ctx = connection()
    conn.data(True, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
    conn.data(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert conn.mode == HTTP and [o.url for o in ctx.out] == ["http://h/a"]
    assert ctx.out[0].ts == 42.0 and ctx.out[0].client_ip == "10.0.0.2"


def test_mid_stream_tls_is_counted_not_parsed() -> None:
    conn, ctx = connection(from_start=False, port=443)
    conn.data(True, b"\x17\x03\x03\x00\x20" + bytes(32))
    assert conn.mode == IGNORED and ctx.undecryptable_tls == 1


def test_tls_connection_reports_sni_once() -> None:
    from flowaudit.readers.capture_synth import client_hello_record

    conn, ctx = connection(port=443)
    record = client_hello_record("sdk.example.cn")
    conn.data(True, record[:30])
    assert conn.mode == TLS and ctx.out == []
    conn.data(True, record[30:])
    conn.finish()
    assert [(o.kind.value, o.host, o.port) for o in ctx.out] == [("tls_sni", "sdk.example.cn", 443)]


def test_dns_over_tcp() -> None:
    from flowaudit.readers.capture_synth import dns_query_bytes

    conn, ctx = connection(port=53)
    query = dns_query_bytes("tcp.example.org")
    message = len(query).to_bytes(2, "big") + query
    conn.data(True, message[:5])
    conn.data(True, message[5:] + message)
    assert [o.host for o in ctx.out] == ["tcp.example.org", "tcp.example.org"]


def test_unsynced_binary_stream_is_dropped() -> None:
    conn, ctx = connection(from_start=False)
    conn.data(True, b"no request line in here " * 10)
    for _ in range(20):
        conn.data(True, b"\x00" * 16384)
    assert conn.mode == IGNORED


def test_cleartext_http2_prior_knowledge() -> None:
    import h2.config
    import h2.connection

    conn, ctx = connection(port=50051)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client.initiate_connection()
    client.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", "grpc.example.net:50051"),
                            (":path", "/track.Collector/Send"), ("content-type", "application/grpc")])
    client.send_data(1, b"\x00\x00\x00\x00\x05hello", end_stream=True)
    data = client.data_to_send()
    conn.data(True, data[:10])
    conn.data(True, data[10:])
    server.receive_data(data)
    server.initiate_connection()
    server.send_headers(1, [(":status", "200"), ("content-type", "application/grpc")], end_stream=True)
    conn.data(False, server.data_to_send())
    [obs] = ctx.out
    assert (obs.url, obs.body, obs.status, obs.tls, obs.http_version) == (
        "http://grpc.example.net:50051/track.Collector/Send", b"\x00\x00\x00\x00\x05hello", 200, False, "HTTP/2.0")
