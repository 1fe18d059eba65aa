from __future__ import annotations

import h2.config
import h2.connection
import h2.events
from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudit.readers.capture.http1 import HttpExchange
from flowaudit.readers.capture.http2 import Http2Connection


class Pair:
    """A real h2 client and server talking in memory; every byte each side sends goes to the parser."""

    def __init__(self, step: int = 0) -> None:
        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.emitted: list[HttpExchange] = []
        self.parser = Http2Connection(self.emitted.append, lambda: 5.0)
        self.step = step
        self.client.initiate_connection()
        self.server.initiate_connection()
        self.pump()

    def _send(self, from_client: bool, data: bytes) -> None:
        if not data:
            return
        step = self.step or len(data)
        for i in range(0, len(data), step):
            self.parser.feed(from_client, data[i:i + step])
        (self.server if from_client else self.client).receive_data(data)

    def pump(self) -> None:
        for _ in range(10):
            c, s = self.client.data_to_send(), self.server.data_to_send()
            if not c and not s:
                return
            self._send(True, c)
            self._send(False, s)


def test_request_and_response_with_body_padding_and_continuation() -> None:
    pair = Pair(step=5)
    sid = pair.client.get_next_available_stream_id()
    big = "v" * 20000  # forces CONTINUATION frames
    pair.client.send_headers(sid, [(":method", "POST"), (":scheme", "https"), (":authority", "api.jpush.cn"),
                                   (":path", "/v3/report?x=1"), ("content-type", "application/json"),
                                   ("x-big", big)])
    pair.client.send_data(sid, b'{"registration_id":"', pad_length=10)
    pair.client.send_data(sid, b'13065ffa4e0c9b2a"}', end_stream=True)
    pair.pump()
    assert pair.emitted == []
    pair.server.send_headers(sid, [(":status", "100")])
    pair.server.send_headers(sid, [(":status", "200"), ("content-type", "application/json")])
    pair.server.send_data(sid, b'{"code":0}', end_stream=True)
    pair.pump()
    [exchange] = pair.emitted
    assert (exchange.method, exchange.target, exchange.authority, exchange.scheme) == (
        "POST", "/v3/report?x=1", "api.jpush.cn", "https")
    assert bytes(exchange.body) == b'{"registration_id":"13065ffa4e0c9b2a"}'
    assert ("x-big", big) in exchange.headers and exchange.version == "HTTP/2.0"
    assert exchange.status == 200 and bytes(exchange.response_head) == b'{"code":0}'
    assert exchange.ts == 5.0


def test_concurrent_streams_and_reset() -> None:
    pair = Pair()
    ids = []
    for path in ("/a", "/b", "/c"):
        sid = pair.client.get_next_available_stream_id()
        ids.append(sid)
        pair.client.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", "h.example"),
                                       (":path", path)], end_stream=True)
    pair.pump()
    pair.server.send_headers(ids[2], [(":status", "404")], end_stream=True)
    pair.server.reset_stream(ids[1])
    pair.server.send_headers(ids[0], [(":status", "200")], end_stream=True)
    pair.pump()
    assert [(e.target, e.status, e.notes) for e in pair.emitted] == [
        ("/c", 404, []), ("/b", None, ["stream reset"]), ("/a", 200, [])]


def test_dynamic_table_across_requests() -> None:
    pair = Pair()
    for i in range(3):
        sid = pair.client.get_next_available_stream_id()
        pair.client.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", "h.example"),
                                       (":path", f"/r{i}"), ("cookie", "session=abcdef0123456789")],
                                 end_stream=True)
        pair.pump()
        pair.server.send_headers(sid, [(":status", "200")], end_stream=True)
        pair.pump()
    assert [(e.target, dict(e.headers)["cookie"]) for e in pair.emitted] == [
        (f"/r{i}", "session=abcdef0123456789") for i in range(3)]


def test_unfinished_streams_are_emitted_at_the_end() -> None:
    pair = Pair()
    sid = pair.client.get_next_available_stream_id()
    pair.client.send_headers(sid, [(":method", "POST"), (":scheme", "https"), (":authority", "h.example"),
                                   (":path", "/upload")])
    pair.client.send_data(sid, b"partial")
    pair.pump()
    pair.parser.gap(True)
    pair.parser.finish()
    [exchange] = pair.emitted
    assert bytes(exchange.body) == b"partial" and exchange.notes == ["capture gap: HTTP/2 stream incomplete"]


def test_not_http2_is_ignored() -> None:
    emitted: list[HttpExchange] = []
    parser = Http2Connection(emitted.append, lambda: 0.0)
    parser.feed(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nmore bytes here")
    parser.finish()
    assert emitted == [] and parser.client.broken


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_garbage_frames_never_raise(data: bytes) -> None:
    parser = Http2Connection(lambda e: None, lambda: 0.0)
    parser.feed(True, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + data)
    parser.feed(False, data)
    parser.finish()
