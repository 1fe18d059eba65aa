"""TLS record and handshake parsing: ClientHello (server name, ALPN, client random) and ServerHello."""

from __future__ import annotations

from dataclasses import dataclass, field

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


@dataclass(slots=True)
class ClientHello:
    random: bytes
    session_id: bytes
    cipher_suites: list[int]
    server_name: str | None = None
    alpn: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ServerHello:
    random: bytes
    cipher_suite: int
    version: int                 # negotiated: 0x0304 when supported_versions says so
    alpn: str | None = None

    @property
    def retry_request(self) -> bool:
        return self.random == HRR_RANDOM


class TlsParseError(ValueError):
    pass


class _Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise TlsParseError("truncated handshake message")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "big")

    def vec(self, size_len: int) -> bytes:
        return self.take(int.from_bytes(self.take(size_len), "big"))

    def sub(self, size_len: int) -> _Reader:
        n = int.from_bytes(self.take(size_len), "big")
        sub = _Reader(self.data, self.pos, self.pos + n)
        if sub.end > self.end:
            raise TlsParseError("truncated handshake message")
        self.pos += n
        return sub

    @property
    def left(self) -> int:
        return self.end - self.pos


def _extensions(r: _Reader) -> list[tuple[int, bytes]]:
    if r.left < 2:
        return []
    ext = r.sub(2)
    out = []
    while ext.left >= 4:
        etype = ext.u16()
        out.append((etype, ext.vec(2)))
    return out


def parse_client_hello(body: bytes) -> ClientHello:
    """Parse a ClientHello handshake message body (after the 4-byte handshake header)."""
    r = _Reader(body)
    r.take(2)  # legacy_version
    random = r.take(32)
    session_id = r.vec(1)
    suites_raw = r.vec(2)
    suites = [int.from_bytes(suites_raw[i:i + 2], "big") for i in range(0, len(suites_raw) - 1, 2)]
    r.vec(1)  # compression methods
    hello = ClientHello(random, session_id, suites)
    for etype, value in _extensions(r):
        if etype == 0:  # server_name
            names = _Reader(value)
            lst = names.sub(2)
            while lst.left >= 3:
                ntype = lst.u8()
                name = lst.vec(2)
                if ntype == 0:
                    hello.server_name = name.decode("ascii", "replace")
                    break
        elif etype == 16:  # ALPN
            lst = _Reader(value).sub(2)
            while lst.left:
                hello.alpn.append(lst.vec(1).decode("ascii", "replace"))
        elif etype == 43:  # supported_versions
            raw = _Reader(value).vec(1)
            hello.versions = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw) - 1, 2)]
    return hello


def parse_server_hello(body: bytes) -> ServerHello:
    r = _Reader(body)
    version = r.u16()
    random = r.take(32)
    r.vec(1)
    suite = r.u16()
    r.u8()
    hello = ServerHello(random, suite, version)
    for etype, value in _extensions(r):
        if etype == 43 and len(value) >= 2:
            hello.version = int.from_bytes(value[:2], "big")
        elif etype == 16:
            lst = _Reader(value).sub(2)
            if lst.left:
                hello.alpn = lst.vec(1).decode("ascii", "replace")
    return hello


def looks_like_client_hello(data: bytes) -> bool:
    return len(data) >= 6 and data[0] == 0x16 and data[1] == 0x03 and data[5] == 0x01


class RecordBuffer:
    """Splits a reassembled TLS byte stream into records (content type, version, fragment)."""

    __slots__ = ("buf", "broken")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.broken = False

    def feed(self, data: bytes) -> list[tuple[int, bytes, bytes]]:
        if self.broken:
            return []
        buf = self.buf
        buf += data
        records = []
        while len(buf) >= 5:
            ctype = buf[0]
            length = (buf[3] << 8) | buf[4]
            if ctype < 20 or ctype > 24 or buf[1] != 3 or length > 18432:
                self.broken = True
                buf.clear()
                break
            if len(buf) < 5 + length:
                break
            records.append((ctype, bytes(buf[:5]), bytes(buf[5:5 + length])))
            del buf[:5 + length]
        return records


class HandshakeBuffer:
    """Reassembles handshake messages that span records (or share one)."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, fragment: bytes) -> list[tuple[int, bytes]]:
        buf = self.buf
        buf += fragment
        out = []
        while len(buf) >= 4:
            length = int.from_bytes(buf[1:4], "big")
            if length > 1 << 20:
                buf.clear()
                break
            if len(buf) < 4 + length:
                break
            out.append((buf[0], bytes(buf[4:4 + length])))
            del buf[:4 + length]
        return out
