"""Fuzz target: TCP reassembly of one direction from segments in any order, duplicated, overlapping, cut
by snaplen, with acknowledgements past holes and sequence wrap-around. Never raises; the sink receives
exactly the delivered bytes, and every hole is announced as a gap."""

from __future__ import annotations

import sys

from _harness import Pieces, instrumented_imports, main

with instrumented_imports():
    from flowaudit.readers.capture.tcp import MASK, TcpStream

EXPECTED: tuple[type[BaseException], ...] = ()


class _Sink:
    def __init__(self) -> None:
        self.fed = 0
        self.gapped = 0

    def feed(self, data: bytes) -> None:
        assert data, "empty chunk handed to the sink"
        self.fed += len(data)

    def gap(self, missing: int) -> None:
        assert missing > 0
        self.gapped += missing


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    pieces = Pieces(data)
    isn = pieces.uint(4)
    sink = _Sink()
    stream = TcpStream(sink)
    if pieces.byte() & 1:
        stream.syn(isn)
        isn = (isn + 1) & MASK
    while pieces.left:
        op = pieces.byte()
        offset = pieces.uint(2) - (1024 if op & 0x80 else 0)
        seq = (isn + offset) & MASK
        if op % 7 == 0:
            stream.acked(seq)
            continue
        if op % 13 == 0:
            stream.skip_to_pending()
            continue
        missing_tail = pieces.byte() if op & 0x40 else 0
        stream.segment(seq, pieces.chunk(op & 0x3F), missing_tail)
    stream.finish()
    assert not stream.pending and stream.pending_bytes == 0
    assert sink.fed == stream.delivered
    assert sink.gapped == stream.gap_bytes


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)
