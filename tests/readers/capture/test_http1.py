from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudit.readers.capture.http1 import Http1Parser, HttpConversation, HttpExchange


class Conn:
    def __init__(self) -> None:
        self.emitted: list[HttpExchange] = []
        self.conv = HttpConversation(self.emitted.append, lambda: 1.0)
        self.req = Http1Parser(self.conv, True)
        self.resp = Http1Parser(self.conv, False)

    def client(self, data: bytes, step: int = 0) -> None:
        feed(self.req, data, step)

    def server(self, data: bytes, step: int = 0) -> None:
        feed(self.resp, data, step)

    def finish(self) -> list[HttpExchange]:
        self.req.finish()
        self.resp.finish()
        self.conv.finish()
        return self.emitted


def feed(parser: Http1Parser, data: bytes, step: int) -> None:
    if not step:
        parser.feed(data)
        return
    for i in range(0, len(data), step):
        parser.feed(data[i:i + step])


def rows(exchanges: list[HttpExchange]) -> list[tuple]:
    return [(e.method, e.target, bytes(e.body), e.status, bytes(e.response_head), e.notes) for e in exchanges]


def test_pipelined_keep_alive_byte_by_byte() -> None:
    conn = Conn()
    conn.client(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n", step=1)
    conn.server(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nBB\r\n0\r\n\r\n"
                b"HTTP/1.1 204 No Content\r\n\r\n", step=1)
    assert rows(conn.emitted) == [("GET", "/a", b"", 200, b"A", []), ("POST", "/b", b"xyz", 201, b"BB", []),
                                  ("GET", "/c", b"", 204, b"", [])]


def test_chunk_extensions_and_trailers() -> None:
    conn = Conn()
    conn.client(b"POST /u HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                b"4;name=value\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: 1\r\n\r\n", step=3)
    conn.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert rows(conn.emitted) == [("POST", "/u", b"Wikipedia", 200, b"", [])]


def test_100_continue_and_head_response() -> None:
    conn = Conn()
    conn.client(b"PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    conn.server(b"HTTP/1.1 100 Continue\r\n\r\n")
    conn.client(b"data" + b"HEAD /g HTTP/1.1\r\n\r\n")
    conn.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n")
    assert rows(conn.emitted) == [("PUT", "/f", b"data", 200, b"ok", []), ("HEAD", "/g", b"", 200, b"", [])]


def test_response_read_until_close() -> None:
    conn = Conn()
    conn.client(b"GET /stream HTTP/1.0\r\n\r\n")
    conn.server(b"HTTP/1.0 200 OK\r\n\r\n" + b"z" * 1000)
    assert conn.emitted == []
    [exchange] = conn.finish()
    assert exchange.response_size == 1000 and bytes(exchange.response_head) == b"z" * 512


def test_resync_after_junk_and_mid_body_start() -> None:
    conn = Conn()
    conn.client(b'ent":"x"}\r\n\x00\x01binary' + b"GET /next?q=1 HTTP/1.1\r\nHost: h\r\n\r\n")
    conn.server(b"tail of a body" + b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")
    assert rows(conn.emitted) == [("GET", "/next?q=1", b"", 302, b"", [])]
    assert conn.req.junk > 0


def test_gap_inside_a_content_length_body_keeps_framing() -> None:
    conn = Conn()
    conn.client(b"POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123")
    conn.req.gap(3)
    conn.client(b"789GET /q HTTP/1.1\r\n\r\n")
    conn.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert rows(conn.emitted) == [
        ("POST", "/p", b"0123789", 200, b"", ["capture gap: 3 bytes of the request body missing"]),
        ("GET", "/q", b"", 200, b"", [])]
    assert conn.emitted[0].body_size == 10


def test_gap_in_headers_resyncs() -> None:
    conn = Conn()
    conn.client(b"GET /lost HTTP/1.1\r\nHo")
    conn.req.gap(50)
    conn.client(b"st: h\r\n\r\nGET /found HTTP/1.1\r\n\r\n")
    conn.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert [e.target for e in conn.emitted] == ["/found"]


def test_request_without_response_and_unterminated_body() -> None:
    conn = Conn()
    conn.client(b"POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
    [exchange] = conn.finish()
    assert exchange.status is None and bytes(exchange.body) == b"abc"
    assert exchange.notes == ["connection ended before the end of the request body"]


def test_malformed_chunk_size_and_bad_content_length() -> None:
    conn = Conn()
    conn.client(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    conn.client(b"POST /d HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
    exchanges = conn.finish()
    assert [(e.target, e.notes) for e in exchanges] == [("/c", ["malformed chunked encoding"]),
                                                         ("/d", ["invalid Content-Length '-5'"])]


def test_switching_protocols_stops_parsing() -> None:
    conn = Conn()
    conn.client(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
    conn.server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello")
    conn.client(b"\x81\x85maskdata")
    assert rows(conn.finish()) == [("GET", "/ws", b"", 101, b"", [])]
    assert conn.conv.upgraded


def test_header_folding_and_non_utf8_values() -> None:
    conn = Conn()
    conn.client(b"GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\nX-Latin: caf\xe9\r\nX-Utf8: \xe4\xbd\xa0\xe5\xa5\xbd\r\n\r\n")
    [exchange] = conn.finish()
    assert exchange.headers == [("X-Long", "a b"), ("X-Latin", "café"), ("X-Utf8", "你好")]


@settings(max_examples=200, deadline=None)
@given(client=st.binary(max_size=600), server=st.binary(max_size=600), step=st.integers(1, 50),
       gap=st.integers(0, 40))
def test_hostile_bytes_never_raise(client: bytes, server: bytes, step: int, gap: int) -> None:
    conn = Conn()
    conn.client(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + client, step)
    if gap:
        conn.req.gap(gap)
    conn.server(b"HTTP/1.1 200 OK\r\n" + server, step)
    conn.client(client, step)
    conn.finish()


def test_requests_waiting_for_responses_are_bounded(monkeypatch) -> None:
    from flowaudit.readers.capture import http1

    monkeypatch.setattr(http1, "QUEUED_BODY_CAP", 1000)
    conn = Conn()
    for i in range(5):
        conn.client(b"POST /u%d HTTP/1.1\r\nContent-Length: 400\r\n\r\n" % i + b"x" * 400)
    assert [e.target for e in conn.emitted] == ["/u0", "/u1"]
    assert conn.emitted[0].notes == ["emitted before its response: too many requests waiting on this connection"]
    conn.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 2 + b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert [(e.target, e.status) for e in conn.emitted] == [("/u0", None), ("/u1", None), ("/u2", 201)]
