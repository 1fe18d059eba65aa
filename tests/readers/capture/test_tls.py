from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowaudit.readers.capture.tls import (
    HRR_RANDOM,
    HandshakeBuffer,
    RecordBuffer,
    TlsParseError,
    looks_like_client_hello,
    parse_client_hello,
    parse_server_hello,
)
from flowaudit.readers.capture_synth import _server_hello_flight, client_hello_record


def test_client_hello_fields() -> None:
    random = os.urandom(32)
    record = client_hello_record("api.mobads.baidu.com", ("h2", "http/1.1"), random=random)
    assert looks_like_client_hello(record)
    [(ctype, _, fragment)] = RecordBuffer().feed(record)
    [(mtype, body)] = HandshakeBuffer().feed(fragment)
    hello = parse_client_hello(body)
    assert (ctype, mtype) == (22, 1)
    assert hello.random == random and hello.server_name == "api.mobads.baidu.com"
    assert hello.alpn == ["h2", "http/1.1"] and 0x0304 in hello.versions and 0x1301 in hello.cipher_suites


def test_records_split_anywhere_and_handshake_spanning_records() -> None:
    record = client_hello_record("x.example")
    hello = record[5:]
    # the same handshake message cut into two records
    two = (b"\x16\x03\x01" + struct.pack("!H", 40) + hello[:40] +
           b"\x16\x03\x01" + struct.pack("!H", len(hello) - 40) + hello[40:])
    records = RecordBuffer()
    handshake = HandshakeBuffer()
    messages = []
    for i in range(0, len(two), 7):
        for _, _, fragment in records.feed(two[i:i + 7]):
            messages += handshake.feed(fragment)
    assert [parse_client_hello(body).server_name for _, body in messages] == ["x.example"]


def test_server_hello_negotiated_version_and_retry() -> None:
    flight = _server_hello_flight()
    records = RecordBuffer().feed(flight)
    assert [r[0] for r in records] == [22, 20, 23]
    [(mtype, body)] = HandshakeBuffer().feed(records[0][2])
    hello = parse_server_hello(body)
    assert mtype == 2 and hello.version == 0x0304 and hello.cipher_suite == 0x1301 and not hello.retry_request
    hrr = body[:2] + HRR_RANDOM + body[34:]
    assert parse_server_hello(hrr).retry_request


def test_not_tls_marks_the_buffer_broken() -> None:
    buf = RecordBuffer()
    assert buf.feed(b"GET / HTTP/1.1\r\n") == [] and buf.broken
    assert not looks_like_client_hello(b"\x16\x03\x01\x00\x05\x02")


def test_truncated_client_hello_raises_parse_error() -> None:
    body = client_hello_record("a.example")[9:]
    with pytest.raises(TlsParseError):
        parse_client_hello(body[:50])


@given(st.binary(max_size=400))
def test_garbage_client_hello(data: bytes) -> None:
    try:
        parse_client_hello(data)
    except TlsParseError:
        pass
