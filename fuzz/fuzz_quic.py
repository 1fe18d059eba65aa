"""Fuzz target: QUIC Initial parsing. The raw bytes as a datagram (long headers, varints, coalesced
packets), and the bytes as the decrypted payload of a correctly protected client Initial, so CRYPTO frame
parsing, reassembly and the ClientHello behind it are reached. Documented never to raise."""

from __future__ import annotations

import struct
import sys

from _harness import Pieces, instrumented_imports, main

with instrumented_imports():
    from flowaudit.readers.capture.connection import CaptureContext
    from flowaudit.readers.capture.quic import (
        QUIC_V1,
        QUIC_V2,
        VERSIONS,
        InitialKeys,
        QuicTracker,
        client_hello_from_crypto,
        crypto_frames,
        encode_varint,
        unprotect_initials,
    )

EXPECTED: tuple[type[BaseException], ...] = ()
DCID = bytes.fromhex("8394c8f03e515708")
SRC, DST = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])


def _seal_payload(payload: bytes, version: int) -> bytes:
    """A correctly protected client Initial whose decrypted payload (its frames) is ``payload``."""
    pn_len = 2
    first = 0xC0 | (VERSIONS[version][2] << 4) | (pn_len - 1)
    head = bytes([first]) + version.to_bytes(4, "big") + bytes([len(DCID)]) + DCID + b"\x08" + b"\x01" * 8 + encode_varint(0)
    payload = payload + b"\x00" * max(0, 40 - len(payload))
    length = pn_len + len(payload) + 16
    header = head + struct.pack("!H", 0x4000 | length) + (7).to_bytes(pn_len, "big")
    keys = InitialKeys(DCID, version)
    sealed = keys.aead.encrypt(keys.nonce(7), payload, header)
    mask = keys.mask(sealed[4 - pn_len:20 - pn_len])
    protected = bytearray(header + sealed)
    protected[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        protected[len(header) - pn_len + i] ^= mask[1 + i]
    return bytes(protected)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    for _dcid, payload in unprotect_initials(data):
        crypto_frames(payload)
    frames = crypto_frames(data)
    fragments: dict[int, bytes] = {}
    for offset, chunk in frames:
        assert offset >= 0 and isinstance(chunk, bytes)
        if offset < 1 << 16:
            fragments[offset] = chunk
    client_hello_from_crypto(fragments)
    pieces = Pieces(data)
    version = QUIC_V2 if pieces.byte() & 1 else QUIC_V1
    ctx = CaptureContext(None)
    tracker = QuicTracker(ctx)
    while pieces.left:
        ctx.ts += 0.01
        tracker.datagram(SRC, 50000, DST, 443, _seal_payload(pieces.chunk(1100), version))
    tracker.sweep(ctx.ts + 1000, 60.0)
    tracker.finish()
    for obs in ctx.out:
        assert isinstance(obs.host, str)


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
