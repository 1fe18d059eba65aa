from __future__ import annotations

import os

import pytest

from flowaudit.readers.capture.quic import (
    QUIC_V2,
    InitialKeys,
    build_client_initial,
    client_hello_from_crypto,
    crypto_frames,
    encode_varint,
    read_varint,
    unprotect_initials,
)
from flowaudit.readers.capture.tls import parse_client_hello
from flowaudit.readers.capture_synth import client_hello_record

DCID = bytes.fromhex("8394c8f03e515708")


def sni_of(datagrams: list[bytes]) -> str | None:
    fragments: dict[int, bytes] = {}
    for datagram in datagrams:
        for _, payload in unprotect_initials(datagram):
            fragments.update(crypto_frames(payload))
    body = client_hello_from_crypto(fragments)
    return parse_client_hello(body).server_name if body else None


def test_rfc9001_client_initial_keys() -> None:
    keys = InitialKeys(DCID)
    assert keys.iv.hex() == "fa044b2f42a3fd3b46fb255c"
    assert keys.hp.hex() == "9f50449e04a0e810283a1e9933adedd2"
    # RFC 9001 A.2: header protection mask from the sample of the protected packet
    assert keys.mask(bytes.fromhex("d1b1c98dd7689fb8ec11d242b123dc9b"))[:5].hex() == "437b9aec36"


def test_rfc9369_v2_keys() -> None:
    keys = InitialKeys(DCID, QUIC_V2)
    assert keys.iv.hex() == "91f73e2351d8fa91660e909f"
    assert keys.hp.hex() == "45b95e15235d6f45a6b19cbcb0294ba9"


@pytest.mark.parametrize("version", [1, QUIC_V2])
def test_round_trip(version: int) -> None:
    datagram = build_client_initial("ulogs.umeng.com", os.urandom(8), version=version)
    assert len(datagram) == 1200
    assert sni_of([datagram]) == "ulogs.umeng.com"


def test_client_hello_across_initials_in_any_order() -> None:
    hello = client_hello_record("sdk.example.cn", alpn=("h3",), tls13=True)[5:]
    cut = len(hello) // 2
    first = build_client_initial("", DCID, hello=hello, crypto_range=(0, cut))
    second = build_client_initial("", DCID, hello=hello, crypto_range=(cut, len(hello)), pn=1)
    assert sni_of([first]) is None
    assert sni_of([second, first]) == "sdk.example.cn"


def test_coalesced_packets_and_wrong_keys() -> None:
    datagram = build_client_initial("a.example", DCID, size=600)
    assert len(unprotect_initials(datagram + datagram)) == 2
    tampered = bytearray(datagram)
    tampered[-1] ^= 1
    assert unprotect_initials(bytes(tampered)) == []
    short_header = b"\x40" + os.urandom(1199)
    assert unprotect_initials(short_header) == []
    unknown_version = datagram[:1] + b"\xff\x00\x00\x1d" + datagram[5:]
    assert unprotect_initials(unknown_version) == []


@pytest.mark.parametrize("version", [1, QUIC_V2])
def test_aioquic_initial(version: int) -> None:
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection

    conn = QuicConnection(configuration=QuicConfiguration(is_client=True, server_name="open.e.kuaishou.com",
                                                          alpn_protocols=["h3"], supported_versions=[version]))
    conn.connect(("127.0.0.1", 443), now=0.0)
    assert sni_of([d for d, _ in conn.datagrams_to_send(now=0.0)]) == "open.e.kuaishou.com"


def test_varints() -> None:
    for value in (0, 63, 64, 16383, 16384, 2**30 - 1, 2**30, 2**62 - 1):
        encoded = encode_varint(value)
        assert read_varint(encoded, 0) == (value, len(encoded))
    with pytest.raises(ValueError):
        read_varint(b"\x80\x00", 0)
