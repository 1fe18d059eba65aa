"""Fuzz target: the capture reader on bytes written to a file. The input as a whole file, and wrapped as
the packets of a well-formed pcap (raw IP, Ethernet, Linux SLL link types) and pcapng, so link, IP, TCP and
UDP decoding, reassembly and the protocol parsers behind them are reached. CaptureError is the documented
error (raised before anything is yielded); a file cut short yields what it holds, with a warning."""

from __future__ import annotations

import struct
import sys

from _harness import Pieces, instrumented_imports, main, scratch_file

with instrumented_imports():
    from flowaudit.readers.pcap import CaptureError, CaptureStats, read_capture

EXPECTED: tuple[type[BaseException], ...] = (CaptureError,)
LINKTYPES = (101, 1, 113, 0, 228, 276)
IPV4_TCP = bytes.fromhex("450000000000400040060000") + bytes([10, 0, 0, 2, 10, 0, 0, 1])


def _pcap(pieces: Pieces) -> bytes:
    linktype = LINKTYPES[pieces.byte() % len(LINKTYPES)]
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    ts = 1_700_000_000
    while pieces.left:
        frame = pieces.chunk(pieces.byte() | 0x20)
        if linktype == 101 and pieces.byte() & 1:
            # a valid IPv4 header in front, so TCP and the stream parsers see the fuzzed bytes
            header = bytearray(IPV4_TCP)
            header[2:4] = struct.pack("!H", 20 + len(frame))
            frame = bytes(header) + frame
        ts += pieces.byte()
        out.append(struct.pack("<IIII", ts, 0, len(frame), len(frame) + (pieces.byte() & 3)) + frame)
    return b"".join(out)


def _pcapng(pieces: Pieces) -> bytes:
    shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb = struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body)) + shb_body + struct.pack("<I", 12 + len(shb_body))
    idb_body = struct.pack("<HHI", 101, 0, 65535)
    idb = struct.pack("<II", 1, 12 + len(idb_body)) + idb_body + struct.pack("<I", 12 + len(idb_body))
    return shb + idb + pieces.rest()


def _read(data: bytes) -> None:
    stats = CaptureStats()
    try:
        for obs in read_capture(scratch_file("input.pcap", data), stats=stats, idle_timeout=5.0):
            assert isinstance(obs.host, str)
    except EXPECTED:
        pass


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    _read(data)
    pieces = Pieces(data)
    _read(_pcapng(pieces) if pieces.byte() & 1 else _pcap(pieces))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
