"""DNS query parsing: the names a device asked to resolve (responses and other sections are ignored)."""

from __future__ import annotations


def _name(msg: bytes, pos: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if pos >= len(msg):
            raise ValueError("name runs past the message")
        length = msg[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(msg) or jumps > 16:
                raise ValueError("bad compression pointer")
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            jumps += 1
            continue
        if length > 63:
            raise ValueError("bad label length")
        label = msg[pos + 1:pos + 1 + length]
        if len(label) != length:
            raise ValueError("label runs past the message")
        labels.append(label.decode("ascii", "replace"))
        pos += 1 + length
    name = ".".join(labels)
    if len(name) > 253:
        raise ValueError("name too long")
    return name, end if end >= 0 else pos


_LOCAL_SUFFIXES = (".arpa", ".local")
PTR = 12


def parse_query(msg: bytes) -> list[str]:
    """Names in the question section of a DNS query; [] for responses and anything malformed. Reverse
    lookups (PTR) and local names are not host sightings and are left out."""
    if len(msg) < 12 or msg[2] & 0x80:  # too short, or QR set (a response)
        return []
    if (msg[2] >> 3) & 0x0F != 0:  # not a standard query
        return []
    qdcount = (msg[4] << 8) | msg[5]
    names: list[str] = []
    pos = 12
    try:
        for _ in range(min(qdcount, 8)):
            name, pos = _name(msg, pos)
            qtype = int.from_bytes(msg[pos:pos + 2], "big")
            pos += 4
            if pos > len(msg):
                break
            if qtype == PTR or name.lower().rstrip(".").endswith(_LOCAL_SUFFIXES):
                continue
            if name and name not in names:
                names.append(name)
    except ValueError:
        return names
    return names
