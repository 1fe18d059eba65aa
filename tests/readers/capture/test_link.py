from __future__ import annotations

import struct

from flowaudit.readers.capture.link import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    ip_offset,
    parse_ip,
)
from flowaudit.readers.capture_synth import _ip, frame

V4 = _ip(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 6, b"\x00" * 20 + b"payload")
V6 = _ip(bytes(15) + b"\x01", bytes(15) + b"\x02", 17, b"\x00" * 8 + b"dns")


def test_offsets_per_link_type() -> None:
    assert ip_offset(LINKTYPE_ETHERNET, frame(LINKTYPE_ETHERNET, V4, 4)) == 14
    assert ip_offset(LINKTYPE_ETHERNET, frame(LINKTYPE_ETHERNET, V4, 4, vlan=7)) == 18
    assert ip_offset(LINKTYPE_LINUX_SLL, frame(LINKTYPE_LINUX_SLL, V6, 6)) == 16
    assert ip_offset(LINKTYPE_LINUX_SLL2, frame(LINKTYPE_LINUX_SLL2, V4, 4)) == 20
    assert ip_offset(LINKTYPE_RAW, V4) == 0
    assert ip_offset(LINKTYPE_NULL, frame(LINKTYPE_NULL, V6, 6)) == 4
    assert ip_offset(LINKTYPE_LOOP, frame(LINKTYPE_LOOP, V4, 4)) == 4


def test_double_vlan_tag_and_non_ip_frames() -> None:
    qinq = bytes(12) + b"\x88\xa8\x00\x05" + b"\x81\x00\x00\x07" + b"\x08\x00" + V4
    assert ip_offset(LINKTYPE_ETHERNET, qinq) == 22
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    assert ip_offset(LINKTYPE_ETHERNET, arp) == -1
    assert ip_offset(LINKTYPE_ETHERNET, b"\x00" * 5) == -1
    assert ip_offset(147, V4) == -1


def test_null_link_written_on_a_big_endian_host() -> None:
    assert ip_offset(LINKTYPE_NULL, struct.pack(">I", 2) + V4) == 4
    assert ip_offset(LINKTYPE_NULL, struct.pack("<I", 7) + V4) == -1


def test_ipv4_fields_padding_and_truncation() -> None:
    ip = parse_ip(V4 + b"\x00" * 6, 0)  # Ethernet minimum-size padding after the IP packet
    assert ip is not None
    assert (ip.src, ip.dst, ip.proto) == (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 6)
    assert V4[ip.payload_start + 20:ip.payload_end] == b"payload"
    assert ip.truncated == 0 and not ip.fragment
    cut = parse_ip(V4[:-4], 0)
    assert cut is not None and cut.truncated == 4
    fragment = bytearray(V4)
    fragment[6] = 0x20  # more fragments
    assert parse_ip(bytes(fragment), 0).fragment
    assert parse_ip(b"\x45" + bytes(10), 0) is None
    assert parse_ip(b"\x15" + bytes(30), 0) is None


def test_ipv6_extension_headers() -> None:
    inner = b"\x00" * 8 + b"dns"
    hop_by_hop = bytes([17, 0]) + bytes(6)
    packet = struct.pack("!IHBB16s16s", 0x60000000, len(hop_by_hop) + len(inner), 0, 64, bytes(16), bytes(16))
    ip = parse_ip(packet + hop_by_hop + inner, 0)
    assert ip is not None and ip.proto == 17 and ip.payload_start == 48
    frag = bytes([6, 0, 0, 1, 0, 0, 0, 1])
    packet = struct.pack("!IHBB16s16s", 0x60000000, 8 + len(inner), 44, 64, bytes(16), bytes(16))
    ip = parse_ip(packet + frag + inner, 0)
    assert ip is not None and ip.fragment and ip.proto == 6


def test_pppoe_session_frames() -> None:
    pppoe = bytes(12) + b"\x88\x64" + b"\x11\x00\x00\x01" + struct.pack("!H", len(V4) + 2) + b"\x00\x21" + V4
    assert ip_offset(LINKTYPE_ETHERNET, pppoe) == 22
    assert parse_ip(pppoe, 22).proto == 6
    lcp = bytes(12) + b"\x88\x64" + b"\x11\x00\x00\x01\x00\x06" + b"\xc0\x21" + bytes(4)
    assert ip_offset(LINKTYPE_ETHERNET, lcp) == -1
