"""One direction of a TCP connection, reassembled from captured segments.

Segments may arrive out of order, twice, overlapping, or never (lost by the capture). The stream hands
contiguous bytes to its sink in sequence order and reports each hole as ``sink.gap(n)`` once it is sure the
bytes will not come: the peer acknowledged past them, too much data waits behind them, or the stream ends.
"""

from __future__ import annotations

from typing import Protocol

MASK = 0xFFFFFFFF
HALF = 0x80000000
PENDING_BYTES_CAP = 1 << 20
PENDING_SEGMENTS_CAP = 512


class StreamSink(Protocol):
    def feed(self, data: bytes) -> None: ...

    def gap(self, missing: int) -> None: ...


class TcpStream:
    __slots__ = ("next_seq", "pending", "pending_bytes", "sink", "gaps", "gap_bytes", "retransmitted", "delivered")

    def __init__(self, sink: StreamSink) -> None:
        self.next_seq: int | None = None
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        self.sink = sink
        self.gaps = 0
        self.gap_bytes = 0
        self.retransmitted = 0
        self.delivered = 0

    def syn(self, seq: int) -> None:
        if self.next_seq is None:
            self.next_seq = (seq + 1) & MASK

    def segment(self, seq: int, data: bytes, missing_tail: int = 0) -> None:
        """Add a segment carrying ``data`` at ``seq``; ``missing_tail`` bytes after it were announced by the
        IP header but cut by the capture's snaplen."""
        nxt = self.next_seq
        if nxt is None:
            nxt = self.next_seq = seq
        if not data and not missing_tail:
            return
        diff = (seq - nxt) & MASK
        if diff >= HALF:  # starts before what was already delivered: retransmission or overlap
            overlap = (nxt - seq) & MASK
            if overlap >= len(data) + missing_tail:
                self.retransmitted += 1
                return
            if overlap >= len(data):
                missing_tail -= overlap - len(data)
                data = b""
            else:
                data = data[overlap:]
            diff = 0
        if diff == 0:
            if data:
                self.delivered += len(data)
                self.next_seq = (nxt + len(data)) & MASK
                self.sink.feed(data)
            if missing_tail:
                self._skip(missing_tail)
            if self.pending:
                self._drain()
            return
        if missing_tail:  # a cut segment in the future: keep what we have, the rest becomes a gap later
            pass
        old = self.pending.get(seq)
        if old is not None:
            if len(old) >= len(data):
                self.retransmitted += 1
                return
            self.pending_bytes -= len(old)
        self.pending[seq] = data
        self.pending_bytes += len(data)
        if self.pending_bytes > PENDING_BYTES_CAP or len(self.pending) > PENDING_SEGMENTS_CAP:
            self.skip_to_pending()

    def acked(self, ack: int) -> None:
        """The peer acknowledged ``ack``: if that is past a hole we are waiting on, the hole was lost by the
        capture, not by the network."""
        if not self.pending or self.next_seq is None:
            return
        diff = (ack - self.next_seq) & MASK
        if 0 < diff < HALF:
            first = min(self.pending, key=self._distance)
            if ((ack - first) & MASK) < HALF:
                self.skip_to_pending()

    def _distance(self, seq: int) -> int:
        return (seq - self.next_seq) & MASK  # type: ignore[operator]

    def _skip(self, missing: int) -> None:
        assert self.next_seq is not None
        self.gaps += 1
        self.gap_bytes += missing
        self.next_seq = (self.next_seq + missing) & MASK
        self.sink.gap(missing)

    def skip_to_pending(self) -> None:
        """Give up on the hole before the first waiting segment and continue from there."""
        if not self.pending or self.next_seq is None:
            return
        first = min(self.pending, key=self._distance)
        distance = self._distance(first)
        if 0 < distance < HALF:
            self._skip(distance)
        self._drain()

    def _drain(self) -> None:
        pending = self.pending
        while pending:
            nxt = self.next_seq
            progressed = False
            for seq in list(pending):
                diff = (seq - nxt) & MASK  # type: ignore[operator]
                if diff == 0 or diff >= HALF:
                    data = pending.pop(seq)
                    self.pending_bytes -= len(data)
                    overlap = (nxt - seq) & MASK  # type: ignore[operator]
                    if overlap < len(data):
                        chunk = data[overlap:]
                        self.delivered += len(chunk)
                        nxt = self.next_seq = (nxt + len(chunk)) & MASK  # type: ignore[operator]
                        self.sink.feed(chunk)
                    else:
                        self.retransmitted += 1
                    progressed = True
            if not progressed:
                return

    def finish(self) -> None:
        """End of stream: whatever still waits behind a hole is delivered after a gap."""
        while self.pending:
            self.skip_to_pending()
