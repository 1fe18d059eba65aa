"""Observations from pcap/pcapng captures: cleartext HTTP/1.x requests, DNS queries, TLS and QUIC server
names, and with an NSS key log, decrypted HTTPS (HTTP/1.1 and HTTP/2).

Packets are read as raw bytes with scapy's RawPcapReader/RawPcapNgReader and decoded here (link, IP, TCP,
UDP headers): full dissection per packet would be far too slow. Memory stays bounded: connections idle longer
than ``idle_timeout`` (capture time) are flushed, and every per-connection buffer is capped.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from flowaudit.core.model import Observation, ObservationKind, Source
from flowaudit.readers.capture.connection import IGNORED, CaptureContext, TcpConnection, ip_text
from flowaudit.readers.capture.dns import parse_query
from flowaudit.readers.capture.link import PROTO_TCP, PROTO_UDP, SUPPORTED_LINKTYPES, ip_offset, parse_ip

__all__ = ["CaptureError", "CaptureStats", "is_capture", "read_capture"]

PCAP_MAGICS = (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
SWEEP_EVERY = 4096
MAX_FRAME = 262144
_SERVER_PORTS = frozenset({80, 443, 8080, 8000, 8008, 8443, 8888, 3128, 53, 853, 5228})
_TOMBSTONE_TTL = 30.0
FLOW_LIMIT = 200_000  # flow-table entries (two per connection) before the least recently active are flushed


class CaptureError(Exception):
    """The file cannot be read as a capture (unreadable, not a capture, malformed header)."""


@dataclass
class CaptureStats:
    packets: int = 0
    bytes: int = 0
    flows: int = 0
    observations: int = 0
    truncated_packets: int = 0
    gaps: int = 0
    undecryptable_tls: int = 0
    warnings: list[str] = field(default_factory=list)


def is_capture(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts like a pcap or pcapng capture."""
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC


class _Closed:
    """Left in the flow table for a while after a connection ends, so late retransmissions are dropped."""

    __slots__ = ("last_ts",)

    def __init__(self, ts: float) -> None:
        self.last_ts = ts


def read_capture(path: Path, *, keylog: Path | None = None, stats: CaptureStats | None = None,
                 idle_timeout: float = 120.0) -> Iterator[Observation]:
    """The observations of one capture file, in (roughly) capture order.

    The file and the key log are opened here, so CaptureError comes from this call, before any iteration.
    A file cut short yields what it holds and adds a warning to ``stats``; the counters in ``stats`` are
    complete once the iterator is exhausted.
    """
    path = Path(path)
    stats = stats if stats is not None else CaptureStats()
    keys = None
    if keylog is not None:
        from flowaudit.readers.capture.keylog import KeyLogError, load_keylog

        try:
            keys = load_keylog(Path(keylog))
        except KeyLogError as exc:
            raise CaptureError(str(exc)) from None
    reader, fobj, size = _open(path)
    return _iterate(reader, fobj, size, path, keys, stats, idle_timeout)


def _iterate(reader, fobj, size: int, path: Path, keys, stats: CaptureStats,  # type: ignore[no-untyped-def]
             idle_timeout: float) -> Iterator[Observation]:
    try:
        yield from _read(reader, fobj, size, path, keys, stats, idle_timeout)
    finally:
        fobj.close()


def _open(path: Path):  # type: ignore[no-untyped-def]
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapReader

    try:
        fobj = cast(io.BufferedReader, open(path, "rb", buffering=1 << 20))  # noqa: SIM115 - closed by _iterate
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        head = fobj.peek(4)[:4]
        size = os.fstat(fobj.fileno()).st_size
        if not is_capture(head):
            raise CaptureError(f"{path.name}: not a pcap or pcapng capture")
        logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
        try:
            reader = RawPcapReader(fobj)  # type: ignore[arg-type]
        except (Scapy_Exception, EOFError, OSError, ValueError) as exc:
            raise CaptureError(f"{path.name}: malformed capture header ({exc})") from None
    except BaseException:
        fobj.close()
        raise
    return reader, fobj, size


def _read(reader, fobj, size: int, path: Path, keylog, stats: CaptureStats,  # type: ignore[no-untyped-def]
          idle_timeout: float) -> Iterator[Observation]:
    from scapy.utils import RawPcapNgReader

    ctx = CaptureContext(keylog)
    out = ctx.out
    if isinstance(reader, RawPcapNgReader):
        reader.blocktypes[10] = lambda block, _size: _decryption_secrets(reader.endian, block, ctx, stats, path)
    flows: dict[tuple[bytes, int, bytes, int], TcpConnection | _Closed] = {}
    quic = None
    dns_seen: dict[tuple[bytes, str], float] = {}
    unknown_links: dict[int, int] = {}
    fragments = 0
    evicted = 0
    truncated_at_end = False
    pcapng = isinstance(reader, RawPcapNgReader)
    linktype_fixed = None if pcapng else reader.linktype
    nano = bool(getattr(reader, "nano", False))
    read_packet = reader._read_packet
    packets = 0
    total_bytes = 0
    base_packets, base_bytes = stats.packets, stats.bytes  # kept current as observations are yielded (progress)
    truncated = 0
    last_sweep_ts = None
    ts = 0.0

    pos = 24  # pcap: header, then 16 bytes + caplen per record
    if pcapng:
        # pcapng: where the block that hit the end of the file started (statistics and other non-packet
        # blocks are read inside _read_packet, so the position is taken per block)
        block_start = [0]
        read_block = reader._read_block

        def tracked_read_block(size: int = MAX_FRAME):  # type: ignore[no-untyped-def]
            block_start[0] = fobj.tell()
            return read_block(size)

        reader._read_block = tracked_read_block
    while True:
        try:
            frame, meta = read_packet(MAX_FRAME)
        except EOFError:
            if (block_start[0] if pcapng else pos) < size:
                truncated_at_end = True
            break
        except Exception as exc:  # noqa: BLE001 - scapy raises assorted errors on corrupt blocks
            truncated_at_end = True
            stats.warnings.append(f"{path.name}: unreadable data after packet {packets}: {exc}")
            break
        if pcapng:
            linktype = meta.linktype
            ts = ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
            wirelen = meta.wirelen
            caplen = len(frame)
        else:
            linktype = linktype_fixed
            ts = meta.sec + meta.usec / (1e9 if nano else 1e6)
            wirelen = meta.wirelen
            caplen = meta.caplen
            pos += 16 + caplen
            if pos > size:  # the last record was cut short by the end of the file
                truncated_at_end = True
                break
        packets += 1
        total_bytes += caplen
        if caplen < wirelen:
            truncated += 1
        ctx.ts = ts
        off = ip_offset(linktype, frame)
        if off < 0:
            if linktype not in SUPPORTED_LINKTYPES:
                unknown_links[linktype] = unknown_links.get(linktype, 0) + 1
            continue
        ip = parse_ip(frame, off)
        if ip is None:
            continue
        if ip.fragment:
            fragments += 1
            continue
        proto = ip.proto
        start = ip.payload_start
        if proto == PROTO_TCP:
            if ip.payload_end - start < 20:
                continue
            sport = (frame[start] << 8) | frame[start + 1]
            dport = (frame[start + 2] << 8) | frame[start + 3]
            seq = int.from_bytes(frame[start + 4:start + 8], "big")
            ack = int.from_bytes(frame[start + 8:start + 12], "big")
            doff = (frame[start + 12] >> 4) * 4
            flags = frame[start + 13]
            payload = frame[start + doff:ip.payload_end]
            key = (ip.src, sport, ip.dst, dport)
            conn = flows.get(key)
            if conn is None or (flags & 0x02 and isinstance(conn, _Closed)) or (
                    flags & 0x12 == 0x02 and isinstance(conn, TcpConnection) and conn.c2s.delivered):
                if conn is not None and isinstance(conn, TcpConnection):
                    conn.finish()
                if flags & 0x04:  # RST of something we never saw
                    continue
                conn = _new_connection(ctx, ip.src, sport, ip.dst, dport, flags, payload)
                flows[(conn.client_ip, conn.client_port, conn.server_ip, conn.server_port)] = conn
                flows[(conn.server_ip, conn.server_port, conn.client_ip, conn.client_port)] = conn
                stats.flows += 1
            elif isinstance(conn, _Closed):
                continue
            conn.last_ts = ts
            from_client = ip.src == conn.client_ip and sport == conn.client_port
            stream = conn.c2s if from_client else conn.s2c
            if flags & 0x02:
                stream.syn(seq)
                seq = (seq + 1) & 0xFFFFFFFF  # data on a SYN (TCP Fast Open) follows the SYN's own number
            if conn.mode != IGNORED:  # nothing more to learn from it (undecryptable TLS, other protocols)
                if payload or ip.truncated:
                    stream.segment(seq, payload, ip.truncated)
                if flags & 0x10:
                    (conn.s2c if from_client else conn.c2s).acked(ack)
            if flags & 0x05:  # FIN or RST
                if flags & 0x04:
                    conn.fins = 2
                else:
                    conn.fins += 1
                if conn.fins >= 2:
                    conn.finish()
                    tomb = _Closed(ts)
                    flows[key] = tomb
                    flows[(ip.dst, dport, ip.src, sport)] = tomb
        elif proto == PROTO_UDP:
            end = ip.payload_end
            if end - start < 8:
                continue
            sport = (frame[start] << 8) | frame[start + 1]
            dport = (frame[start + 2] << 8) | frame[start + 3]
            payload = frame[start + 8:end]
            if dport == 53:
                for name in parse_query(payload):
                    seen_key = (ip.src, name)
                    last = dns_seen.get(seen_key)
                    dns_seen[seen_key] = ts
                    if last is not None and ts - last < 1.0:
                        continue  # retry or parallel A/AAAA lookup of the same name
                    out.append(Observation(ts=ts, host=name, source=Source.PCAP, kind=ObservationKind.DNS,
                                           port=dport, client_ip=ip_text(ip.src), server_ip=ip_text(ip.dst)))
            elif payload and payload[0] & 0xC0 == 0xC0 and len(payload) >= 1200:
                if quic is None:
                    from flowaudit.readers.capture.quic import QuicTracker

                    quic = QuicTracker(ctx)
                quic.datagram(ip.src, sport, ip.dst, dport, payload)
        if out:
            stats.observations += len(out)
            stats.packets, stats.bytes = base_packets + packets, base_bytes + total_bytes
            yield from out
            out.clear()
        if last_sweep_ts is None:
            last_sweep_ts = ts
        if packets % SWEEP_EVERY == 0 and (ts - last_sweep_ts > 1.0 or len(flows) > FLOW_LIMIT):
            last_sweep_ts = ts
            _sweep(flows, ts, idle_timeout)
            if len(flows) > FLOW_LIMIT:
                evicted += _evict(flows, FLOW_LIMIT // 2)
            if len(dns_seen) > 10000:
                dns_seen.clear()
            if quic is not None:
                quic.sweep(ts, idle_timeout)
            if out:
                stats.observations += len(out)
                yield from out
                out.clear()

    seen: set[int] = set()
    for conn in flows.values():
        if isinstance(conn, TcpConnection) and id(conn) not in seen:
            seen.add(id(conn))
            conn.finish()  # type: ignore[union-attr]
    flows.clear()
    if quic is not None:
        quic.finish()
    stats.observations += len(out)
    yield from out
    out.clear()

    stats.packets, stats.bytes = base_packets + packets, base_bytes + total_bytes
    stats.truncated_packets += truncated
    stats.gaps += ctx.gaps
    stats.undecryptable_tls += ctx.undecryptable_tls
    if truncated_at_end:
        stats.warnings.append(f"{path.name}: capture file is truncated: read {packets} complete packets "
                              f"({total_bytes} bytes) before the cut; connections still open at the cut "
                              "are incomplete")
    for linktype, count in sorted(unknown_links.items()):
        stats.warnings.append(f"{path.name}: skipped {count} packet(s) of unsupported link type {linktype}")
    if truncated:
        stats.warnings.append(f"{path.name}: {truncated} packet(s) cut by the capture snaplen")
    if fragments:
        stats.warnings.append(f"{path.name}: skipped {fragments} IP fragment(s)")
    if evicted:
        stats.warnings.append(f"{path.name}: {evicted} connection(s) flushed early: more than "
                              f"{FLOW_LIMIT // 2} open at once")
    if ctx.gaps:
        stats.warnings.append(f"{path.name}: {ctx.gaps} gap(s) in TCP streams (segments missing from the capture)")
    stats.warnings.extend(ctx.notes)


def _decryption_secrets(endian: str, block: bytes, ctx: CaptureContext, stats: CaptureStats, path: Path) -> None:
    """A pcapng Decryption Secrets Block (as written by PCAPdroid or editcap --inject-secrets): TLS key log
    lines embedded in the capture, used alongside any key log file given."""
    from flowaudit.readers.capture.keylog import KeyLog, parse_keylog

    if len(block) < 8:
        return
    secrets_type = int.from_bytes(block[:4], "big" if endian == ">" else "little")
    length = int.from_bytes(block[4:8], "big" if endian == ">" else "little")
    if secrets_type != 0x544C534B:  # "TLSK"
        stats.warnings.append(f"{path.name}: ignored decryption secrets of type 0x{secrets_type:08x}")
        return
    embedded = parse_keylog(block[8:8 + length].decode("ascii", "replace"))
    if ctx.keylog is None:
        ctx.keylog = KeyLog()
    for random, secrets in embedded.secrets.items():
        ctx.keylog.secrets.setdefault(random, {}).update(secrets)


def _new_connection(ctx: CaptureContext, src: bytes, sport: int, dst: bytes, dport: int, flags: int,
                    payload: bytes) -> TcpConnection:
    syn = flags & 0x12
    if syn == 0x02:
        return TcpConnection(ctx, src, sport, dst, dport, True)
    if syn == 0x12:
        return TcpConnection(ctx, dst, dport, src, sport, True)
    # joined mid-stream: guess which side is the client
    src_is_client: bool
    if payload[:7] == b"HTTP/1.":
        src_is_client = False
    elif payload[:1] == b"\x16" or payload[:4] in (b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC"):
        src_is_client = True
    elif (dport in _SERVER_PORTS) != (sport in _SERVER_PORTS):
        src_is_client = dport in _SERVER_PORTS
    else:
        src_is_client = dport < sport
    if src_is_client:
        return TcpConnection(ctx, src, sport, dst, dport, False)
    return TcpConnection(ctx, dst, dport, src, sport, False)


def _evict(flows: dict, keep: int) -> int:  # type: ignore[type-arg]
    """Flush the least recently active connections until ``keep`` flow-table entries remain."""
    by_age = sorted(flows.items(), key=lambda item: item[1].last_ts)
    evicted = 0
    for key, conn in by_age[:max(0, len(flows) - keep)]:
        flows.pop(key, None)
        if isinstance(conn, TcpConnection):
            flows.pop((conn.client_ip, conn.client_port, conn.server_ip, conn.server_port), None)
            flows.pop((conn.server_ip, conn.server_port, conn.client_ip, conn.client_port), None)
            if not conn.closed:
                conn.finish()
                evicted += 1
    return evicted


def _sweep(flows: dict, now: float, idle_timeout: float) -> None:  # type: ignore[type-arg]
    stale = [key for key, conn in flows.items()
             if now - conn.last_ts > (idle_timeout if isinstance(conn, TcpConnection) else _TOMBSTONE_TTL)]
    for key in stale:
        conn = flows.pop(key, None)
        if conn is not None and isinstance(conn, TcpConnection):
            conn.finish()
