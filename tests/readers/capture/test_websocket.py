from __future__ import annotations

import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import Message
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import Opcode

from flowaudit.readers.capture.websocket import MESSAGE_CAP, WebSocketReader, deflate_parameters, unmask


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, str | None]] = []

    def __call__(self, payload: bytes, error: str | None) -> None:
        self.messages.append((payload, error))


def handshake(deflate: bool = False, target: str = "/ws?token=abc") -> tuple[bytes, bytes, WSConnection]:
    """A real wsproto client and server: (request bytes, response bytes, the connected client)."""
    from wsproto.events import AcceptConnection, Request

    client_ws, server_ws = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    extensions = [PerMessageDeflate()] if deflate else []
    request = client_ws.send(Request(host="push.example.cn", target=target, extensions=extensions))
    server_ws.receive_data(request)
    list(server_ws.events())
    response = server_ws.send(AcceptConnection(extensions=[PerMessageDeflate()] if deflate else []))
    client_ws.receive_data(response)
    list(client_ws.events())
    return request, response, client_ws


def client(deflate: bool = False) -> Connection | WSConnection:
    if deflate:
        return handshake(True)[2]
    return Connection(ConnectionType.CLIENT)


def test_unmask_and_deflate_parameters() -> None:
    key = os.urandom(4)
    data = os.urandom(1001)
    assert unmask(unmask(data, key), key) == data
    assert deflate_parameters("permessage-deflate; client_max_window_bits") == (True, False)
    assert deflate_parameters("x-webkit, permessage-deflate; client_no_context_takeover") == (True, True)
    assert deflate_parameters(None) == (False, False)


def test_text_binary_fragmented_and_control_frames() -> None:
    out = Collector()
    reader = WebSocketReader(out)
    conn = client()
    wire = conn.send(Message(data='{"imei":"490154203237518"}'))
    wire += conn.send(Message(data=b"\x00\x01", message_finished=False))
    wire += conn.send(Message(data=b"\x02\x03"))
    from wsproto.events import Ping

    wire += conn.send(Ping(b"p"))
    wire += conn.send(Message(data=b"B" * 70000))  # 64-bit length
    for i in range(0, len(wire), 7):
        reader.feed(wire[i:i + 7])
    assert out.messages == [(b'{"imei":"490154203237518"}', None), (b"\x00\x01\x02\x03", None), (b"B" * 70000, None)]


def test_permessage_deflate_with_context_takeover() -> None:
    out = Collector()
    reader = WebSocketReader(out, deflate=True)
    conn = client(deflate=True)
    texts = ['{"oaid":"0f1e2d3c-4b5a-6978-8796","event":"open"}'] * 3
    for text in texts:
        wire = conn.send(Message(data=text))
        assert wire[0] & 0x40  # RSV1: compressed
        reader.feed(wire)
    assert [m for m, _ in out.messages] == [t.encode() for t in texts]


def test_no_context_takeover_and_bad_deflate() -> None:
    out = Collector()
    reader = WebSocketReader(out, deflate=True, no_context_takeover=True)
    for text in (b"first message", b"second message"):
        comp = zlib.compressobj(wbits=-15)
        body = comp.compress(text) + comp.flush(zlib.Z_SYNC_FLUSH)
        reader._frame(0x80, 0x40, Opcode.TEXT, body[:-4])
    reader._frame(0x80, 0x40, Opcode.BINARY, b"\xff\xff\xff")
    assert [m for m, _ in out.messages[:2]] == [b"first message", b"second message"]
    assert out.messages[2][1].startswith("permessage-deflate")


def test_gap_and_end_inside_a_message() -> None:
    out = Collector()
    reader = WebSocketReader(out)
    conn = client()
    reader.feed(conn.send(Message(data=b"part", message_finished=False)))
    reader.gap()
    reader.feed(conn.send(Message(data=b"ignored after the gap")))
    assert out.messages == [(b"part", "capture gap: message incomplete")]
    out2 = Collector()
    reader = WebSocketReader(out2)
    reader.feed(client().send(Message(data=b"half", message_finished=False)))
    reader.finish()
    assert out2.messages == [(b"half", "connection ended inside a message")]


def test_oversized_message_is_capped() -> None:
    out = Collector()
    reader = WebSocketReader(out)
    reader._frame(0, 0, Opcode.BINARY, b"x" * MESSAGE_CAP)
    reader._frame(0x80, 0, Opcode.CONTINUATION, b"y" * 10)
    [(payload, error)] = out.messages
    assert len(payload) == MESSAGE_CAP and error == f"message truncated at {MESSAGE_CAP} bytes"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_never_raises(data: bytes) -> None:
    reader = WebSocketReader(Collector(), deflate=True)
    reader.feed(data)
    reader.finish()


def test_handshake_helper_negotiates_deflate() -> None:
    request, response, ws = handshake(True)
    assert b"permessage-deflate" in request and response.startswith(b"HTTP/1.1 101")
    assert ws.send(Message(data="x" * 50))[0] & 0x40
