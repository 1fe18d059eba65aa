"""Which reader a file needs, judged by its content, not its extension."""

from __future__ import annotations

import re
from pathlib import Path

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_TNETSTRING = re.compile(rb"^\d{1,12}:")


def sniff_format(path: Path) -> str | None:
    """'har', 'mitm', 'pcap' or None."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC:
        return "pcap"
    if _TNETSTRING.match(head):
        return "mitm"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"{" and b'"log"' in head:
        return "har"
    if stripped[:1] == b"{":
        return "har"   # JSON that may still be a HAR with a late "log" key; the reader decides
    return None
