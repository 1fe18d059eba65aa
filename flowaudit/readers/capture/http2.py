"""HTTP/2 requests and responses from a decrypted byte stream (frames parsed here, HPACK by ``hpack``)."""

from __future__ import annotations

from collections.abc import Callable

from hpack import Decoder
from hpack.exceptions import HPACKError

from flowaudit.readers.capture.http1 import HttpExchange

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_CAP = 1 << 24
MAX_STREAMS = 1000

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x4, 0x8, 0x20


class _Stream:
    __slots__ = ("exchange", "request_ended", "response_ended")

    def __init__(self, exchange: HttpExchange) -> None:
        self.exchange = exchange
        self.request_ended = False
        self.response_ended = False


class _Side:
    __slots__ = ("buf", "decoder", "preface", "block", "block_stream", "block_flags", "broken")

    def __init__(self, expect_preface: bool) -> None:
        self.buf = bytearray()
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 1 << 16
        self.preface = expect_preface
        self.block = bytearray()
        self.block_stream = 0
        self.block_flags = 0
        self.broken = False


class Http2Connection:
    def __init__(self, emit: Callable[[HttpExchange], None], clock: Callable[[], float]) -> None:
        self.emit = emit
        self.clock = clock
        self.client = _Side(True)
        self.server = _Side(False)
        self.streams: dict[int, _Stream] = {}

    def feed(self, from_client: bool, data: bytes) -> None:
        side = self.client if from_client else self.server
        if side.broken:
            return
        buf = side.buf
        buf += data
        if side.preface:
            if len(buf) < len(PREFACE):
                return
            if not buf.startswith(PREFACE):
                side.broken = True
                return
            del buf[:len(PREFACE)]
            side.preface = False
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if length > FRAME_CAP:
                side.broken = True
                buf.clear()
                return
            if len(buf) < 9 + length:
                return
            ftype, flags = buf[3], buf[4]
            stream_id = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(buf[9:9 + length])
            del buf[:9 + length]
            self._frame(side, from_client, ftype, flags, stream_id, payload)

    def _frame(self, side: _Side, from_client: bool, ftype: int, flags: int, stream_id: int, payload: bytes) -> None:
        if ftype == DATA:
            stream = self.streams.get(stream_id)
            if flags & PADDED and payload:
                payload = payload[1:len(payload) - payload[0]]
            if stream is not None:
                if from_client:
                    stream.exchange.add_body(payload)
                else:
                    stream.exchange.add_response_body(payload)
                if flags & END_STREAM:
                    self._end(stream_id, from_client)
        elif ftype == HEADERS or ftype == PUSH_PROMISE:
            if flags & PADDED and payload:
                pad = payload[0]
                payload = payload[1:len(payload) - pad]
            if ftype == PUSH_PROMISE:
                payload = payload[4:]
            elif flags & PRIORITY_FLAG:
                payload = payload[5:]
            side.block = bytearray(payload)
            side.block_stream = stream_id
            side.block_flags = flags if ftype == HEADERS else 0
            if flags & END_HEADERS:
                self._headers(side, from_client)
        elif ftype == CONTINUATION:
            side.block += payload
            if len(side.block) > FRAME_CAP:
                side.broken = True
                return
            if flags & END_HEADERS:
                self._headers(side, from_client)
        elif ftype == RST_STREAM:
            stream = self.streams.pop(stream_id, None)
            if stream is not None:
                stream.exchange.notes.append("stream reset")
                self.emit(stream.exchange)
        elif ftype == SETTINGS and not flags & 0x1:
            for i in range(0, len(payload) - 5, 6):
                if int.from_bytes(payload[i:i + 2], "big") == 0x1:  # SETTINGS_HEADER_TABLE_SIZE
                    # the peer of the sender may use a table this large when encoding
                    other = self.server if from_client else self.client
                    other.decoder.max_allowed_table_size = max(other.decoder.max_allowed_table_size,
                                                               int.from_bytes(payload[i + 2:i + 6], "big"))

    def _headers(self, side: _Side, from_client: bool) -> None:
        block, stream_id, flags = bytes(side.block), side.block_stream, side.block_flags
        side.block = bytearray()
        try:
            decoded = side.decoder.decode(block, raw=True)
        except (HPACKError, ValueError, IndexError) as exc:
            side.broken = True
            for stream in self.streams.values():
                stream.exchange.notes.append(f"HPACK error: {exc}")
            return
        headers = [(_text(k), _text(v)) for k, v in decoded]
        pseudo = {k: v for k, v in headers if k.startswith(":")}
        regular = [(k, v) for k, v in headers if not k.startswith(":")]
        if from_client:
            existing = self.streams.get(stream_id)
            if existing is None:
                if ":method" not in pseudo:
                    return
                exchange = HttpExchange(self.clock(), pseudo.get(":method", ""), pseudo.get(":path", ""),
                                        "HTTP/2.0", regular)
                exchange.authority = pseudo.get(":authority")
                exchange.scheme = pseudo.get(":scheme")
                self.streams[stream_id] = _Stream(exchange)
                if len(self.streams) > MAX_STREAMS:
                    oldest = next(iter(self.streams))
                    self.emit(self.streams.pop(oldest).exchange)
            if flags & END_STREAM:
                self._end(stream_id, True)
            return
        response_stream = self.streams.get(stream_id)
        if response_stream is None:
            return
        stream = response_stream
        status = pseudo.get(":status", "")
        if status.isascii() and status.isdigit() and 100 <= int(status) < 200:
            return
        if status.isascii() and status.isdigit() and stream.exchange.status is None:
            stream.exchange.status = int(status)
            stream.exchange.response_headers = regular
        if flags & END_STREAM:
            self._end(stream_id, False)

    def _end(self, stream_id: int, from_client: bool) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        if from_client:
            stream.request_ended = True
            stream.exchange.request_done = True
        else:
            stream.response_ended = True
            stream.exchange.response_done = True
            if stream.exchange.response_size is None:
                stream.exchange.response_size = 0
        if stream.request_ended and stream.response_ended:
            del self.streams[stream_id]
            self.emit(stream.exchange)

    def gap(self, from_client: bool) -> None:
        side = self.client if from_client else self.server
        side.broken = True
        for stream in self.streams.values():
            stream.exchange.notes.append("capture gap: HTTP/2 stream incomplete")

    def finish(self) -> None:
        for stream in self.streams.values():
            self.emit(stream.exchange)
        self.streams.clear()


def _text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
