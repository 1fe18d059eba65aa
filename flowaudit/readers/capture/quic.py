"""Server names from QUIC client Initial packets.

Initial packets are protected with keys derived from the client's Destination Connection ID (RFC 9001
section 5.2), so any observer can remove the protection and read the ClientHello carried in CRYPTO frames.
The ClientHello may span several Initial packets and its CRYPTO frames may come in any order.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flowaudit.core.model import Observation, ObservationKind, Source
from flowaudit.readers.capture.tls import TlsParseError, parse_client_hello
from flowaudit.readers.capture.tls_keys import hkdf_expand_label, hkdf_extract

if TYPE_CHECKING:
    from flowaudit.readers.capture.connection import CaptureContext

QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF
# version -> (initial salt, label prefix, long-header type bits of Initial)
VERSIONS = {
    QUIC_V1: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), "quic", 0),
    QUIC_V2: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), "quicv2", 1),
}
CRYPTO_CAP = 64 << 10


class InitialKeys:
    __slots__ = ("aead", "iv", "hp")

    def __init__(self, dcid: bytes, version: int = QUIC_V1, server: bool = False) -> None:
        salt, prefix, _ = VERSIONS[version]
        initial = hkdf_extract(salt, dcid)
        secret = hkdf_expand_label(initial, "server in" if server else "client in", b"", 32)
        self.aead = AESGCM(hkdf_expand_label(secret, f"{prefix} key", b"", 16))
        self.iv = hkdf_expand_label(secret, f"{prefix} iv", b"", 12)
        self.hp = hkdf_expand_label(secret, f"{prefix} hp", b"", 16)

    def mask(self, sample: bytes) -> bytes:
        encryptor = Cipher(algorithms.AES(self.hp), modes.ECB()).encryptor()  # noqa: S305 - RFC 9001 5.4.3
        return encryptor.update(sample) + encryptor.finalize()

    def nonce(self, pn: int) -> bytes:
        return bytes(a ^ b for a, b in zip(self.iv, pn.to_bytes(12, "big"), strict=True))


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise ValueError("varint past the end")
    first = data[pos]
    size = 1 << (first >> 6)
    if pos + size > len(data):
        raise ValueError("varint past the end")
    value = first & 0x3F
    for b in data[pos + 1:pos + size]:
        value = (value << 8) | b
    return value, pos + size


def encode_varint(value: int) -> bytes:
    if value < 0x40:
        return bytes([value])
    if value < 0x4000:
        return struct.pack("!H", value | 0x4000)
    if value < 0x40000000:
        return struct.pack("!I", value | 0x80000000)
    return struct.pack("!Q", value | 0xC000000000000000)


def unprotect_initials(datagram: bytes) -> list[tuple[bytes, bytes]]:
    """(DCID, decrypted payload) of each client Initial packet coalesced in ``datagram``; packets that are not
    client Initials (or do not decrypt) are skipped."""
    out: list[tuple[bytes, bytes]] = []
    pos = 0
    while pos + 7 <= len(datagram) and datagram[pos] & 0x80:
        try:
            start = pos
            first = datagram[pos]
            version = int.from_bytes(datagram[pos + 1:pos + 5], "big")
            if version not in VERSIONS:
                return out
            dcid_len = datagram[pos + 5]
            pos += 6
            dcid = datagram[pos:pos + dcid_len]
            pos += dcid_len
            scid_len = datagram[pos]
            pos += 1 + scid_len
            ptype = (first & 0x30) >> 4
            if ptype == VERSIONS[version][2]:
                token_len, pos = read_varint(datagram, pos)
                pos += token_len
            length, pos = read_varint(datagram, pos)
            end = pos + length
            if ptype != VERSIONS[version][2] or end > len(datagram) or length < 20 or dcid_len > 20:
                pos = end
                continue
            keys = InitialKeys(dcid, version)
            mask = keys.mask(datagram[pos + 4:pos + 20])
            first_clear = first ^ (mask[0] & 0x0F)
            pn_len = (first_clear & 0x03) + 1
            pn_bytes = bytes(b ^ m for b, m in zip(datagram[pos:pos + pn_len], mask[1:1 + pn_len], strict=True))
            header = bytes([first_clear]) + datagram[start + 1:pos] + pn_bytes
            payload = keys.aead.decrypt(keys.nonce(int.from_bytes(pn_bytes, "big")),
                                        datagram[pos + pn_len:end], header)
            out.append((dcid, payload))
            pos = end
        except (ValueError, IndexError, InvalidTag):
            return out
    return out


def crypto_frames(payload: bytes) -> list[tuple[int, bytes]]:
    """(offset, data) of the CRYPTO frames in a decrypted Initial payload."""
    frames = []
    pos = 0
    try:
        while pos < len(payload):
            ftype, pos = read_varint(payload, pos)
            if ftype == 0x00 or ftype == 0x01:  # PADDING, PING
                continue
            if ftype in (0x02, 0x03):  # ACK
                _, pos = read_varint(payload, pos)
                _, pos = read_varint(payload, pos)
                count, pos = read_varint(payload, pos)
                _, pos = read_varint(payload, pos)
                for _ in range(count * 2):
                    _, pos = read_varint(payload, pos)
                if ftype == 0x03:
                    for _ in range(3):
                        _, pos = read_varint(payload, pos)
            elif ftype == 0x06:  # CRYPTO
                offset, pos = read_varint(payload, pos)
                length, pos = read_varint(payload, pos)
                frames.append((offset, payload[pos:pos + length]))
                pos += length
            elif ftype in (0x1C, 0x1D):  # CONNECTION_CLOSE
                break
            else:
                break
    except ValueError:
        pass
    return frames


class _Pending:
    __slots__ = ("fragments", "size", "last_ts")

    def __init__(self, ts: float) -> None:
        self.fragments: dict[int, bytes] = {}
        self.size = 0
        self.last_ts = ts


def client_hello_from_crypto(fragments: dict[int, bytes]) -> bytes | None:
    """The ClientHello body once the CRYPTO stream holds it from offset 0, else None."""
    stream = bytearray()
    for offset in sorted(fragments):
        data = fragments[offset]
        if offset > len(stream):
            break
        stream += data[len(stream) - offset:]
    if len(stream) < 4 or stream[0] != 1:
        return None
    length = int.from_bytes(stream[1:4], "big")
    if len(stream) < 4 + length:
        return None
    return bytes(stream[4:4 + length])


class QuicTracker:
    """Collects client Initials per connection attempt and reports each server name once."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self.pending: dict[tuple[bytes, int, bytes, int], _Pending] = {}
        self.done: dict[tuple[bytes, int, bytes, int], float] = {}

    def datagram(self, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes) -> None:
        key = (src, sport, dst, dport)
        if key in self.done:
            self.done[key] = self.ctx.ts
            return
        initials = unprotect_initials(payload)
        if not initials:
            return
        state = self.pending.get(key)
        if state is None:
            state = self.pending[key] = _Pending(self.ctx.ts)
        state.last_ts = self.ctx.ts
        for _dcid, plain in initials:
            for offset, data in crypto_frames(plain):
                if offset + len(data) > CRYPTO_CAP:
                    continue
                if len(data) > len(state.fragments.get(offset, b"")):
                    state.fragments[offset] = data
        body = client_hello_from_crypto(state.fragments)
        if body is None:
            return
        del self.pending[key]
        self.done[key] = self.ctx.ts
        from flowaudit.readers.capture.connection import ip_text

        try:
            name = parse_client_hello(body).server_name
            error = None if name else "QUIC ClientHello without server name"
        except TlsParseError:
            name, error = None, "malformed QUIC ClientHello"
        self.ctx.out.append(Observation(ts=self.ctx.ts, host=name or ip_text(dst), source=Source.PCAP,
                                        kind=ObservationKind.QUIC_SNI, port=dport, tls=True,
                                        client_ip=ip_text(src), server_ip=ip_text(dst), error=error))

    def sweep(self, now: float, idle_timeout: float) -> None:
        for table in (self.pending, self.done):
            for key in [k for k, v in table.items() if now - (v if isinstance(v, float) else v.last_ts) > idle_timeout]:
                del table[key]

    def finish(self) -> None:
        self.pending.clear()
        self.done.clear()


def build_client_initial(sni: str, dcid: bytes, scid: bytes | None = None, pn: int = 0,
                         version: int = QUIC_V1, size: int = 1200, crypto_range: tuple[int, int] | None = None,
                         hello: bytes | None = None) -> bytes:
    """A protected client Initial datagram carrying a ClientHello for ``sni`` (used to synthesise captures).
    ``crypto_range`` carries only that slice of the ClientHello, as when it spans several Initials."""
    from flowaudit.readers.capture_synth import client_hello_record

    hello = hello if hello is not None else client_hello_record(sni, alpn=("h3",))[5:]
    scid = scid if scid is not None else os.urandom(8)
    start, end = crypto_range or (0, len(hello))
    crypto = b"\x06" + encode_varint(start) + encode_varint(end - start) + hello[start:end]
    pn_len = 2
    first = 0xC0 | (VERSIONS[version][2] << 4) | (pn_len - 1)
    head = (bytes([first]) + version.to_bytes(4, "big") + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
            + encode_varint(0))
    overhead = len(head) + 2 + pn_len + 16
    payload = crypto + b"\x00" * max(0, size - overhead - len(crypto))
    length = pn_len + len(payload) + 16
    header = head + struct.pack("!H", 0x4000 | length) + pn.to_bytes(pn_len, "big")
    keys = InitialKeys(dcid, version)
    sealed = keys.aead.encrypt(keys.nonce(pn), payload, header)
    pn_offset = len(header) - pn_len
    mask = keys.mask(sealed[4 - pn_len:20 - pn_len])
    protected = bytearray(header + sealed)
    protected[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        protected[pn_offset + i] ^= mask[1 + i]
    return bytes(protected)
