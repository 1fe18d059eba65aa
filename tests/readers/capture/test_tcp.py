from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudit.readers.capture.tcp import MASK, TcpStream


class Sink:
    def __init__(self) -> None:
        self.parts: list[bytes | int] = []

    def feed(self, data: bytes) -> None:
        self.parts.append(bytes(data))

    def gap(self, missing: int) -> None:
        self.parts.append(missing)

    @property
    def data(self) -> bytes:
        return b"".join(p for p in self.parts if isinstance(p, bytes))

    @property
    def gaps(self) -> list[int]:
        return [p for p in self.parts if isinstance(p, int)]


def segments(data: bytes, cuts: list[int], isn: int) -> list[tuple[int, bytes]]:
    points = sorted({0, len(data), *[c % (len(data) + 1) for c in cuts]})
    return [((isn + a) & MASK, data[a:b]) for a, b in zip(points, points[1:], strict=False)]


@settings(max_examples=150, deadline=None)
@given(data=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=20),
       isn=st.integers(0, MASK), order=st.randoms(use_true_random=False), dup=st.integers(0, 5))
def test_reordered_and_duplicated_segments_reassemble_exactly(data, cuts, isn, order, dup) -> None:
    segs = segments(data, cuts, isn)
    sent = segs + [segs[i % len(segs)] for i in range(dup)]
    order.shuffle(sent)
    sink = Sink()
    stream = TcpStream(sink)
    stream.syn((isn - 1) & MASK)
    for seq, chunk in sent:
        stream.segment(seq, chunk)
    stream.finish()
    assert sink.data == data and sink.gaps == []


@settings(max_examples=100, deadline=None)
@given(data=st.binary(min_size=10, max_size=2000), starts=st.lists(st.integers(0, 1999), min_size=1, max_size=30),
       isn=st.integers(0, MASK))
def test_overlapping_retransmissions(data, starts, isn) -> None:
    """Segments that start and end anywhere, overlapping each other, still give each byte exactly once."""
    sink = Sink()
    stream = TcpStream(sink)
    stream.syn((isn - 1) & MASK)
    for start in starts:
        start %= len(data)
        stream.segment((isn + start) & MASK, data[start:start + 300])
    stream.segment(isn, data)
    assert sink.data == data


def test_missing_segment_becomes_a_gap_at_the_end() -> None:
    sink = Sink()
    stream = TcpStream(sink)
    stream.syn(99)
    stream.segment(100, b"a" * 10)
    stream.segment(120, b"c" * 10)
    assert sink.data == b"a" * 10
    stream.finish()
    assert sink.parts == [b"a" * 10, 10, b"c" * 10]
    assert stream.gaps == 1 and stream.gap_bytes == 10


def test_peer_acknowledging_past_a_hole_declares_the_gap() -> None:
    sink = Sink()
    stream = TcpStream(sink)
    stream.syn(0)
    stream.segment(1, b"x" * 5)
    stream.segment(11, b"z" * 5)
    stream.acked(6)  # nothing beyond what we have: still waiting
    assert sink.gaps == []
    stream.acked(16)
    assert sink.parts == [b"x" * 5, 5, b"z" * 5]


def test_sequence_wraparound() -> None:
    sink = Sink()
    stream = TcpStream(sink)
    stream.syn(MASK - 3)
    stream.segment(MASK - 2, b"abc")
    stream.segment(1, b"ef")
    stream.segment(0, b"d")
    assert sink.data == b"abcdef"


def test_mid_stream_start_and_snaplen_cut_tail() -> None:
    sink = Sink()
    stream = TcpStream(sink)
    stream.segment(5000, b"hello", missing_tail=100)
    stream.segment(5105, b"world")
    assert sink.parts == [b"hello", 100, b"world"]


def test_pending_cap_forces_progress() -> None:
    sink = Sink()
    stream = TcpStream(sink)
    stream.syn(0)
    for i in range(600):
        stream.segment(1000 + i * 10, b"0123456789")
    assert sink.gaps == [999]
    assert len(sink.data) >= 5000
