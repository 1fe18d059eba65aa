"""Link-layer and IP header decoding on raw frame bytes (no per-packet object construction)."""

from __future__ import annotations

import struct

# link types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_12 = 12
LINKTYPE_RAW_14 = 14
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

SUPPORTED_LINKTYPES = frozenset({LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW_12, LINKTYPE_RAW_14, LINKTYPE_RAW,
                                 LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6,
                                 LINKTYPE_LINUX_SLL2})

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_PPPOE_SESSION = 0x8864
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
_BSD_AF_INET6 = (10, 24, 28, 30)

_unpack_h = struct.Struct("!H").unpack_from
_unpack_hl = struct.Struct("<I").unpack_from
_unpack_bl = struct.Struct(">I").unpack_from

PROTO_TCP = 6
PROTO_UDP = 17
_V6_EXT_HEADERS = (0, 43, 60, 51)  # hop-by-hop, routing, destination options, AH


def ip_offset(linktype: int, frame: bytes) -> int:
    """Offset of the IP header in ``frame``, or -1 when the frame does not carry IPv4/IPv6."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return -1
        etype = (frame[12] << 8) | frame[13]
        off = 14
        while etype in _VLAN_TYPES:
            if len(frame) < off + 4:
                return -1
            etype = (frame[off + 2] << 8) | frame[off + 3]
            off += 4
        if etype == ETH_PPPOE_SESSION:  # DSL routers: PPPoE session header, then the PPP protocol
            if len(frame) < off + 8:
                return -1
            ppp = (frame[off + 6] << 8) | frame[off + 7]
            return off + 8 if ppp in (PPP_IPV4, PPP_IPV6) else -1
        return off if etype == ETH_IPV4 or etype == ETH_IPV6 else -1
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_12, LINKTYPE_RAW_14, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0
    if linktype == LINKTYPE_LINUX_SLL:
        if len(frame) < 16:
            return -1
        etype = (frame[14] << 8) | frame[15]
        return 16 if etype == ETH_IPV4 or etype == ETH_IPV6 else -1
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(frame) < 20:
            return -1
        etype = (frame[0] << 8) | frame[1]
        return 20 if etype == ETH_IPV4 or etype == ETH_IPV6 else -1
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(frame) < 4:
            return -1
        family = _unpack_bl(frame, 0)[0] if linktype == LINKTYPE_LOOP else _unpack_hl(frame, 0)[0]
        if family > 0xFFFF:  # written on a host of the other byte order
            family = int.from_bytes(frame[:4], "big" if linktype == LINKTYPE_NULL else "little")
        return 4 if family == 2 or family in _BSD_AF_INET6 else -1
    return -1


class IpPacket:
    """The fields of an IPv4/IPv6 packet that the reader needs. ``truncated`` counts payload bytes the
    IP header announces but the capture did not keep (snaplen)."""

    __slots__ = ("src", "dst", "proto", "payload_start", "payload_end", "truncated", "fragment")

    def __init__(self, src: bytes, dst: bytes, proto: int, start: int, end: int, truncated: int,
                 fragment: bool) -> None:
        self.src = src
        self.dst = dst
        self.proto = proto
        self.payload_start = start
        self.payload_end = end
        self.truncated = truncated
        self.fragment = fragment


def parse_ip(frame: bytes, off: int) -> IpPacket | None:
    if len(frame) < off + 20:
        return None
    version = frame[off] >> 4
    if version == 4:
        ihl = (frame[off] & 0x0F) * 4
        if ihl < 20:
            return None
        total = (frame[off + 2] << 8) | frame[off + 3]
        if total < ihl:  # TSO captures write 0; trust the frame then
            total = len(frame) - off
        end = off + total
        truncated = 0
        if end > len(frame):
            truncated = end - len(frame)
            end = len(frame)
        flags_frag = (frame[off + 6] << 8) | frame[off + 7]
        fragment = bool(flags_frag & 0x3FFF)
        return IpPacket(frame[off + 12:off + 16], frame[off + 16:off + 20], frame[off + 9], off + ihl, end,
                        truncated, fragment)
    if version == 6:
        if len(frame) < off + 40:
            return None
        plen = (frame[off + 4] << 8) | frame[off + 5]
        nxt = frame[off + 6]
        start = off + 40
        end = start + plen if plen else len(frame)
        truncated = 0
        if end > len(frame):
            truncated = end - len(frame)
            end = len(frame)
        fragment = False
        while nxt in _V6_EXT_HEADERS or nxt == 44:
            if start + 8 > end:
                return None
            if nxt == 44:
                fragment = True
                nxt = frame[start]
                start += 8
                continue
            length = (frame[start + 1] + 2) * 4 if nxt == 51 else (frame[start + 1] + 1) * 8
            nxt = frame[start]
            start += length
        return IpPacket(frame[off + 8:off + 24], frame[off + 24:off + 40], nxt, start, end, truncated, fragment)
    return None
