"""Client-to-server WebSocket messages from a reassembled stream (RFC 6455), with permessage-deflate
(RFC 7692) undone so a message reads as the application sent it, like the proxy records it."""

from __future__ import annotations

import zlib
from collections.abc import Callable

MESSAGE_CAP = 4 << 20
FRAME_HEADER_MAX = 14


def unmask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def deflate_parameters(extensions: str | None) -> tuple[bool, bool]:
    """(permessage-deflate negotiated, client_no_context_takeover) from the response's
    Sec-WebSocket-Extensions header."""
    if not extensions:
        return False, False
    for offer in extensions.split(","):
        params = [p.strip().lower() for p in offer.split(";")]
        if params and params[0] == "permessage-deflate":
            return True, "client_no_context_takeover" in params
    return False, False


class WebSocketReader:
    """Emits each complete client message: ``emit(payload, error)``."""

    def __init__(self, emit: Callable[[bytes, str | None], None], deflate: bool = False,
                 no_context_takeover: bool = False) -> None:
        self.emit = emit
        self.deflate = deflate
        self.no_context_takeover = no_context_takeover
        self.buf = bytearray()
        self.message = bytearray()
        self.message_size = 0
        self.compressed = False
        self.in_message = False
        self.broken = False
        self.inflater = zlib.decompressobj(-15)

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        buf = self.buf
        buf += data
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = int.from_bytes(buf[2:4], "big")
                pos = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = int.from_bytes(buf[2:10], "big")
                pos = 10
            masked = b1 & 0x80
            key = b""
            if masked:
                if len(buf) < pos + 4:
                    return
                key = bytes(buf[pos:pos + 4])
                pos += 4
            if length > 1 << 31:
                self._break()
                return
            if len(buf) < pos + length:
                if len(buf) - pos > MESSAGE_CAP + FRAME_HEADER_MAX:
                    self._break()
                return
            payload = bytes(buf[pos:pos + length])
            del buf[:pos + length]
            if masked:
                payload = unmask(payload, key)
            self._frame(b0 & 0x80, b0 & 0x40, b0 & 0x0F, payload)

    def _frame(self, fin: int, rsv1: int, opcode: int, payload: bytes) -> None:
        if opcode >= 8:  # close, ping, pong
            return
        if opcode in (1, 2):
            if self.in_message:
                self._flush("message interrupted by a new one")
            self.in_message = True
            self.compressed = bool(rsv1) and self.deflate
            self.message = bytearray()
            self.message_size = 0
        elif opcode != 0 or not self.in_message:
            return
        self.message_size += len(payload)
        room = MESSAGE_CAP - len(self.message)
        if room > 0:
            self.message += payload[:room]
        if fin:
            self._flush(None)

    def _flush(self, error: str | None) -> None:
        data, size = bytes(self.message), self.message_size
        self.in_message = False
        self.message = bytearray()
        if self.compressed:
            try:
                if self.no_context_takeover:
                    self.inflater = zlib.decompressobj(-15)
                data = self.inflater.decompress(data + b"\x00\x00\xff\xff", MESSAGE_CAP)
            except zlib.error as exc:
                error = f"permessage-deflate: {exc}"
        if size > MESSAGE_CAP or len(data) >= MESSAGE_CAP:
            error = error or f"message truncated at {MESSAGE_CAP} bytes"
        self.emit(data, error)

    def _break(self) -> None:
        self.broken = True
        self.buf.clear()

    def gap(self) -> None:
        if self.in_message:
            self._flush("capture gap: message incomplete")
        self._break()

    def finish(self) -> None:
        if self.in_message:
            self._flush("connection ended inside a message")
        self.buf.clear()
