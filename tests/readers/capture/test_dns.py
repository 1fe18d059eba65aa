from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from flowaudit.readers.capture.dns import parse_query
from flowaudit.readers.capture_synth import _dns_response, dns_query_bytes


def test_query_names() -> None:
    assert parse_query(dns_query_bytes("ulogs.umeng.com")) == ["ulogs.umeng.com"]
    assert parse_query(dns_query_bytes("xn--fiq228c.example", qtype=28)) == ["xn--fiq228c.example"]


def test_responses_and_non_queries_are_ignored() -> None:
    query = dns_query_bytes("a.example.com")
    assert parse_query(_dns_response(query, "192.0.2.1")) == []
    notify = query[:2] + struct.pack("!H", 0x2000) + query[4:]
    assert parse_query(notify) == []


def test_compression_pointers_and_loops() -> None:
    header = struct.pack("!HHHHHH", 1, 0x0100, 2, 0, 0, 0)
    first = b"\x03api\x07example\x03com\x00" + b"\x00\x01\x00\x01"
    second = b"\x03cdn\xc0\x10" + b"\x00\x01\x00\x01"  # cdn + pointer to "example.com"
    assert parse_query(header + first + second) == ["api.example.com", "cdn.example.com"]
    loop = header[:4] + b"\x00\x01" + header[6:] + b"\xc0\x0c"
    assert parse_query(loop) == []


def test_truncated_and_oversized_labels() -> None:
    query = dns_query_bytes("a.example.com")
    assert parse_query(query[:15]) == []
    assert parse_query(query[:11]) == []
    bad = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x50" + b"a" * 80 + b"\x00\x00\x01\x00\x01"
    assert parse_query(bad) == []


@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    assert isinstance(parse_query(data), list)


def test_reverse_and_local_lookups_are_not_sightings() -> None:
    assert parse_query(dns_query_bytes("4.3.2.1.in-addr.arpa", qtype=12)) == []
    assert parse_query(dns_query_bytes("printer.local")) == []
    assert parse_query(dns_query_bytes("config.example.com", qtype=16)) == ["config.example.com"]
