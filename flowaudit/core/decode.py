"""Recursive decoding of a request into fields: every place a value can hide, with its decoding chain.

``decode_observation`` unwraps URL query and form bodies, JSON (also inside string values), multipart
parts, cookies, headers, path segments, base64 / base64url, hex, URL-encoding, gzip / zlib / deflate /
brotli / zstd (by Content-Encoding, or by magic bytes for gzip, zlib and zstd: brotli streams have none),
JWT payloads, protobuf wire format without a schema (accepted only when the whole input parses with
plausible field numbers) and key=value strings. Long arrays are inspected item by item up to
``Budget.max_array_items`` (detections are per key path, and later items share the earlier items' paths). Each layer is bounded: a depth budget (layers of encoding), a nesting budget
(JSON / protobuf structure), a total-bytes budget and a per-stream decompression limit. When a budget stops
the decoder it says so in ``DecodeResult.notes``; a decompression bomb is flagged, never expanded.

Nothing here raises on hostile input: every decoder either yields fields or gives up quietly.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from flowaudit.core.model import Observation
from flowaudit.core.validators import shannon_entropy


@dataclass(slots=True)
class Budget:
    max_depth: int = 8                 # layers of encoding (base64 inside JSON inside gzip...)
    max_nesting: int = 48              # JSON / protobuf structural nesting inside one layer
    max_bytes: int = 32 * 1024 * 1024  # all decoded layers together
    max_inflate: int = 8 * 1024 * 1024    # one decompressed stream
    max_fields: int = 50_000
    max_array_items: int = 256         # items of one array inspected one by one
    max_header_value: int = 16 * 1024
    max_headers_total: int = 256 * 1024


@dataclass(slots=True)
class Field:
    """One decoded value and where it was found."""

    location: str            # query, body, header, cookie, path, url
    key: str                 # key path across layers: data.device.imei, apps[], 1.3 (protobuf)
    name: str                # the last key segment, as sent
    chain: str               # body>gzip>json>data.base64>json
    value: str = ""          # the scalar value as text
    kind: str = "str"        # str, num, list (of scalars), objlist (of objects: value = count), media, ua
    parent: str = ""         # key path of the enclosing object (siblings share it)
    items: list[str] | None = None        # kind == "list": the scalar items
    media_type: str | None = None         # kind == "media": image/..., audio/...
    data: bytes | None = None             # kind == "media": the part's bytes

    @property
    def depth(self) -> int:
        return self.chain.count(">")


@dataclass(slots=True)
class DecodeResult:
    fields: list[Field] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    body_opaque: bool = False       # the body (or a large part of it) decoded to nothing meaningful
    bomb: bool = False              # a compressed stream exceeded the inflate limit
    events: int = 0                 # notes raised, repeats included

    def note(self, text: str) -> None:
        self.events += 1
        if text not in self.notes and len(self.notes) < 50:
            self.notes.append(text)


# Headers that carry protocol mechanics, not data about the user or the device.
NOISE_HEADERS = frozenset({
    "accept", "accept-encoding", "accept-language", "accept-charset", "accept-ranges", "content-length",
    "content-type", "content-encoding", "transfer-encoding", "connection", "keep-alive", "host", ":authority",
    ":method", ":path", ":scheme", "cache-control", "pragma", "expect", "upgrade", "te", "trailer", "date",
    "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range", "origin",
    "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user", "sec-ch-ua", "sec-ch-ua-mobile",
    "sec-ch-ua-platform", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
    "sec-websocket-protocol", "upgrade-insecure-requests", "dnt", "priority", "proxy-connection", "via",
    "x-requested-with", "content-md5", "etag", "cookie",
})

_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_\-]+={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*")
_FORM = re.compile(r"[A-Za-z0-9_.\-\[\]%]{1,64}=[^&]*(?:&[A-Za-z0-9_.\-\[\]%]{1,64}=[^&]*)+")
_KV = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_.\-]{0,40})\s*[=:]\s*\"?([^;&,|\s\"]{1,256})")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_PRINTABLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

_MEDIA_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF8", "image/gif"),
    (b"RIFF", "riff"), (b"ID3", "audio/mpeg"), (b"#!AMR", "audio/amr"), (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
)


def sniff_media(data: bytes) -> str | None:
    for magic, media_type in _MEDIA_MAGIC:
        if data.startswith(magic):
            if media_type == "riff":
                kind = data[8:12]
                return "audio/wav" if kind == b"WAVE" else "image/webp" if kind == b"WEBP" else None
            return media_type
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return "image/heic"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    return None


def _is_text(text: str) -> bool:
    if not text:
        return False
    sample = text[:2048]
    bad = len(_PRINTABLE.findall(sample)) + sample.count("\ufffd")
    return bad <= len(sample) // 50


# -- protobuf wire format ---------------------------------------------------------------------------------

def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def parse_protobuf(data: bytes, max_fields: int = 4096) -> list[tuple[int, int, Any]] | None:
    """One message level: [(field number, wire type, value)]; None unless the whole input parses."""
    fields: list[tuple[int, int, Any]] = []
    pos, end = 0, len(data)
    try:
        while pos < end:
            key, pos = _varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0 or number > 536_870_911:
                return None
            value: int | bytes
            if wire == 0:
                value, pos = _varint(data, pos)
            elif wire == 1:
                if pos + 8 > end:
                    return None
                value = data[pos:pos + 8]
                pos += 8
            elif wire == 2:
                length, pos = _varint(data, pos)
                if length > end - pos:
                    return None
                value = data[pos:pos + length]
                pos += length
            elif wire == 5:
                if pos + 4 > end:
                    return None
                value = data[pos:pos + 4]
                pos += 4
            else:
                return None         # groups (3, 4) are deprecated; 6 and 7 do not exist
            fields.append((number, wire, value))
            if len(fields) > max_fields:
                return None
    except ValueError:
        return None
    return fields if pos == end else None


def _plausible_message(fields: list[tuple[int, int, Any]] | None, size: int) -> bool:
    if not fields:
        return False
    # Random bytes rarely parse to the end; when short ones do, it is as one or two fields with wild numbers.
    if max(n for n, _, _ in fields) > 2000:
        return False
    return not (size < 8 and len(fields) < 2)


def _fixed64(raw: bytes) -> str:
    number = struct.unpack("<d", raw)[0]
    if number == number and abs(number) < 1e9 and (number == 0 or abs(number) > 1e-6):
        return repr(number)
    return str(struct.unpack("<q", raw)[0])


def _fixed32(raw: bytes) -> str:
    number = struct.unpack("<f", raw)[0]
    if number == number and abs(number) < 1e7 and (number == 0 or abs(number) > 1e-4):
        return repr(round(number, 6))
    return str(struct.unpack("<i", raw)[0])


# -- EXIF GPS ---------------------------------------------------------------------------------------------

def exif_gps(data: bytes) -> tuple[float, float] | None:
    """(lat, lng) from a JPEG's EXIF GPS block, None when there is none. Reads at most the first 128 KB."""
    try:
        return _exif_gps(data[:131072])
    except (struct.error, IndexError, ValueError, ZeroDivisionError):
        return None


def _exif_gps(data: bytes) -> tuple[float, float] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xE1 and data[pos + 4:pos + 10] == b"Exif\x00\x00":
            return _tiff_gps(data[pos + 10:pos + 2 + length])
        if marker in (0xDA, 0xD9):
            return None
        pos += 2 + length
    return None


def _tiff_gps(tiff: bytes) -> tuple[float, float] | None:
    endian = "<" if tiff[:2] == b"II" else ">" if tiff[:2] == b"MM" else None
    if endian is None:
        return None

    def entries(offset: int) -> dict[int, tuple[int, int, int]]:
        count = struct.unpack(endian + "H", tiff[offset:offset + 2])[0]
        out = {}
        for i in range(min(count, 256)):
            at = offset + 2 + 12 * i
            tag, kind, num = struct.unpack(endian + "HHI", tiff[at:at + 8])
            out[tag] = (kind, num, at + 8)
        return out

    ifd0 = entries(struct.unpack(endian + "I", tiff[4:8])[0])
    if 0x8825 not in ifd0:
        return None
    gps = entries(struct.unpack(endian + "I", tiff[ifd0[0x8825][2]:ifd0[0x8825][2] + 4])[0])

    def coordinate(tag: int, ref_tag: int) -> float | None:
        if tag not in gps or ref_tag not in gps:
            return None
        kind, num, at = gps[tag]
        if kind != 5 or num != 3:
            return None
        offset = struct.unpack(endian + "I", tiff[at:at + 4])[0]
        parts = struct.unpack(endian + "6I", tiff[offset:offset + 24])
        value = parts[0] / parts[1] + parts[2] / parts[3] / 60 + parts[4] / parts[5] / 3600
        ref = tiff[gps[ref_tag][2]:gps[ref_tag][2] + 1]
        return -value if ref in (b"S", b"W") else value

    lat, lng = coordinate(2, 1), coordinate(4, 3)
    if lat is None or lng is None or (lat == 0 and lng == 0):
        return None
    return lat, lng


# -- the decoder ------------------------------------------------------------------------------------------

def _join(prefix: str, key: str) -> str:
    if not prefix:
        return key
    if not key:
        return prefix
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


class Recent:
    """A bounded memo that keeps what is used often: two generations of at most ``size`` entries each; an
    entry found in the old generation moves to the new one, the old one is dropped when the new one fills.
    Values a session repeats survive; one-off values (timestamps, request ids) age out."""

    __slots__ = ("new", "old", "size")

    def __init__(self, size: int) -> None:
        self.new: dict[Any, Any] = {}
        self.old: dict[Any, Any] = {}
        self.size = size

    def get(self, key: Any) -> Any:
        value = self.new.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: Any, value: Any) -> None:
        if len(self.new) >= self.size:
            self.old, self.new = self.new, {}
        self.new[key] = value

    def __len__(self) -> int:
        return len(self.new) + len(self.old)


# String values known to carry no further encoding (the decision depends on the value alone).
_PLAIN = Recent(32768)


ScalarSink = Callable[[str, str, str, str, str, str, str], None]


class _Decoder:
    __slots__ = ("budget", "result", "bytes_used", "stopped", "keep_number", "count", "scalar_sink", "field_sink")

    def __init__(self, budget: Budget, keep_number: Callable[[str], bool] | None = None,
                 scalar_sink: ScalarSink | None = None, field_sink: Callable[[Field], None] | None = None) -> None:
        self.budget = budget
        self.result = DecodeResult()
        self.bytes_used = 0
        self.stopped = False
        self.keep_number = keep_number
        self.count = 0
        # With sinks, fields go straight to a consumer instead of DecodeResult.fields: scalars as their parts
        # (location, key, name, chain, value, kind, parent), so that no object is built for the many that
        # turn out to be nothing.
        self.scalar_sink = scalar_sink
        self.field_sink = field_sink

    # bookkeeping
    def _full(self) -> bool:
        if self.count >= self.budget.max_fields:
            if not self.stopped:
                self.stopped = True
                self.result.note(f"budget:fields: stopped after {self.budget.max_fields} fields")
            return True
        self.count += 1
        return False

    def _emit(self, fld: Field) -> None:
        if self._full():
            return
        if self.field_sink is not None:
            self.field_sink(fld)
        else:
            self.result.fields.append(fld)

    def _scalar(self, loc: str, key: str, name: str, chain: str, value: str, kind: str, parent: str) -> None:
        if self._full():
            return
        if self.scalar_sink is not None:
            self.scalar_sink(loc, key, name, chain, value, kind, parent)
        else:
            self.result.fields.append(Field(loc, key, name, chain, value, kind, parent))

    def _spend(self, size: int, chain: str) -> bool:
        self.bytes_used += size
        if self.bytes_used > self.budget.max_bytes:
            self.result.note(f"budget:bytes: decoding stopped at {chain} ({self.budget.max_bytes} bytes decoded)")
            return False
        return True

    def _deep(self, chain: str) -> bool:
        if chain.count(">") >= self.budget.max_depth:
            self.result.note(f"budget:depth: not decoded past {chain}")
            return True
        return False

    # structures
    def walk(self, obj: Any, loc: str, chain: str, prefix: str, rel: str, nesting: int) -> None:
        if nesting > self.budget.max_nesting:
            self.result.note(f"budget:nesting: structure deeper than {self.budget.max_nesting} at {chain}")
            return
        keep = self.keep_number
        if type(obj) is dict:
            if self.stopped:
                return
            parent = _join(prefix, rel)
            base = parent + "." if parent else ""
            relbase = rel + "." if rel else ""
            sink = self.scalar_sink
            fields = self.result.fields
            emitted = 0
            for key, value in obj.items():
                kind = type(value)
                if kind is str:
                    emitted += 1
                    if sink is not None:
                        sink(loc, base + key, key, chain, value, "str", parent)
                    else:
                        fields.append(Field(loc, base + key, key, chain, value, "str", parent))
                    if len(value) >= 8 and not self.stopped:
                        self.nested(value, loc, chain, base + key, relbase + key)
                elif kind is int or kind is float:
                    # a short JSON number is only worth a field when its key says what it is
                    if keep is None or keep(key) or (kind is int and not -10**9 < value < 10**9):
                        emitted += 1
                        text = repr(value) if kind is float else str(value)
                        if sink is not None:
                            sink(loc, base + key, key, chain, text, "num", parent)
                        else:
                            fields.append(Field(loc, base + key, key, chain, text, "num", parent))
                elif kind is dict or kind is list:
                    self.walk(value, loc, chain, prefix, relbase + key, nesting + 1)
            self.count += emitted
            if self.count > self.budget.max_fields and not self.stopped:
                if sink is None:
                    del fields[self.budget.max_fields:]
                self.stopped = True
                self.result.note(f"budget:fields: stopped after {self.budget.max_fields} fields")
        elif isinstance(obj, list):
            name = rel.rsplit(".", 1)[-1] if rel else ""
            sub = f"{rel}[]"
            scalars = [v for v in obj if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
            if scalars and len(scalars) == len(obj):
                self._emit(Field(loc, _join(prefix, sub), name, chain, "", "list", _join(prefix, rel),
                                 items=[v if isinstance(v, str) else _num(v) for v in scalars]))
            elif obj:
                self._emit(Field(loc, _join(prefix, sub), name, chain, str(len(obj)), "objlist",
                                 _join(prefix, rel)))
            parent = _join(prefix, sub)
            if len(obj) > self.budget.max_array_items:
                # items of one array share their key paths, and detections are per key path: past the first
                # items a long array (an event log, a contact list) adds cost, not findings
                self.result.note(f"budget:array: {len(obj) - self.budget.max_array_items} items of "
                                 f"{_join(prefix, sub)} not inspected (first {self.budget.max_array_items} were)")
                obj = obj[:self.budget.max_array_items]
            for value in obj:
                if isinstance(value, str):
                    self.string(value, loc, chain, prefix, sub, name, parent)
                elif isinstance(value, (dict, list)):
                    self.walk(value, loc, chain, prefix, sub, nesting + 1)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._scalar(loc, _join(prefix, sub), name, chain, _num(value), "num", parent)

    def pairs(self, items: list[tuple[str, str]], loc: str, chain: str, prefix: str) -> None:
        for key, value in items:
            self.string(value, loc, chain, prefix, key, key, prefix)

    # scalars
    def string(self, value: str, loc: str, chain: str, prefix: str, rel: str, name: str, parent: str) -> None:
        self._scalar(loc, _join(prefix, rel), name, chain, value, "str", parent)
        if len(value) < 8 or self.stopped:
            return
        self.nested(value, loc, chain, _join(prefix, rel), rel)

    def nested(self, value: str, loc: str, chain: str, key: str, rel: str) -> None:
        """Try the encodings a string value can carry; recurse into the first that yields structure."""
        if _PLAIN.get(value):
            return
        result = self.result
        count, events = self.count, result.events
        self._nested(value, loc, chain, key, rel)
        # nothing inside, and no budget or opaque note either (those depend on more than the value)
        if self.count == count and result.events == events and not self.stopped and len(value) <= 256:
            # sessions repeat such values (ids, names, versions): remember them
            _PLAIN.put(value, True)

    def _nested(self, value: str, loc: str, chain: str, key: str, rel: str) -> None:
        tag = f"{rel}." if rel else ""      # the chain names the field a step applies to: data.base64
        text = value.strip()
        first = text[:1]
        if first in "{[":
            parsed = self._json(text, chain)
            if parsed is not None:
                step = f"{chain}>{tag}json"
                if not self._deep(step) and self._spend(len(text), step):
                    self.walk(parsed, loc, step, key, "", 0)
                return
        if first == "e" and _JWT.fullmatch(text):
            payload = _b64decode(text.split(".")[1])
            parsed = self._json(payload.decode("utf-8", "replace"), chain) if payload else None
            if isinstance(parsed, (dict, list)):
                step = f"{chain}>{tag}jwt"
                if not self._deep(step):
                    self.walk(parsed, loc, step, key, "", 0)
                return
        if "%" in text and _PCT.search(text):
            decoded = unquote(text)
            if decoded != text:
                step = f"{chain}>{tag}urlencoded"
                if not self._deep(step) and self._spend(len(decoded), step):
                    self.text_layer(decoded, loc, step, key, top=False)
                return
        if "=" in text and ("&" in text) and _FORM.fullmatch(text):
            step = f"{chain}>{tag}form"
            if not self._deep(step):
                self.pairs(parse_qsl(text, keep_blank_values=True), loc, step, key)
            return
        if len(text) == 36 and text[8] == "-" and text[23] == "-":
            return          # a UUID
        if len(text) >= 12 and _B64.fullmatch(text) and not text.isdigit():
            if _HEX.fullmatch(text):
                if len(text) % 2 == 0 and len(text) >= 16 and _promising_bytes(bytes.fromhex(text[:6])):
                    try:
                        raw = bytes.fromhex(text)
                    except ValueError:
                        return
                    if _meaningful(raw):
                        step = f"{chain}>{tag}hex"
                        if not self._deep(step) and self._spend(len(raw), step):
                            self.bytes_layer(raw, loc, step, key, "")
                    elif _looks_encrypted(raw):
                        self._opaque(loc, len(raw), f"{chain}>{tag}hex")
                return
            if text.isalpha() and (text.islower() or text.isupper()):
                return
            if not _promising_b64(text):
                if len(text) >= 64:
                    blob = _b64decode(text)
                    if blob and _looks_encrypted(blob):
                        self._opaque(loc, len(blob), f"{chain}>{tag}base64")
                return
            payload = _b64decode(text)
            if payload and _meaningful(payload):
                step = f"{chain}>{tag}base64"
                if not self._deep(step) and self._spend(len(payload), step):
                    self.bytes_layer(payload, loc, step, key, "")
            elif payload and _looks_encrypted(payload):
                self._opaque(loc, len(payload), f"{chain}>{tag}base64")
            return
        if ("=" in text or ":" in text) and len(text) >= 8 and not text.startswith(("http://", "https://")):
            found = _KV.findall(text)
            if len(found) >= 2:
                step = f"{chain}>{tag}kv"
                if not self._deep(step):
                    self.pairs(found, loc, step, key)
            return
        if text.startswith(("http://", "https://")) and "?" in text:
            query = urlsplit(text).query if len(text) < 65536 else ""
            if query:
                step = f"{chain}>{tag}url"
                if not self._deep(step):
                    self.pairs(parse_qsl(query, keep_blank_values=True), loc, step, key)

    def _json(self, text: str, chain: str) -> Any:
        try:
            return json.loads(text)
        except RecursionError:
            self.result.note(f"budget:nesting: JSON too deeply nested at {chain}")
        except ValueError:
            pass
        return None

    # whole layers
    def text_layer(self, text: str, loc: str, chain: str, prefix: str, *, top: bool) -> None:
        """A layer that is text as a whole (a body, or the result of a decoding step)."""
        stripped = text.strip()
        first = stripped[:1]
        if first in "{[":
            parsed = self._json(stripped, chain)
            if parsed is not None:
                self.walk(parsed, loc, f"{chain}>json", prefix, "", 0)
                return
            if "\n" in stripped and self.json_lines(stripped, loc, chain, prefix):
                return
        if first == "e" and _JWT.fullmatch(stripped):
            self.nested(stripped, loc, chain, prefix, prefix or "body")
            return
        if "=" in stripped and (_FORM.fullmatch(stripped) or re.fullmatch(r"[A-Za-z0-9_.\-%\[\]]{1,64}=[^&\s]*",
                                                                          stripped)):
            self.pairs(parse_qsl(stripped, keep_blank_values=True), loc, f"{chain}>form", prefix)
            return
        if len(stripped) >= 32 and len(stripped) % 2 == 0 and _HEX.fullmatch(stripped):
            raw = bytes.fromhex(stripped)
            if _meaningful(raw):
                step = f"{chain}>hex"
                if not self._deep(step) and self._spend(len(raw), step):
                    self.bytes_layer(raw, loc, step, prefix, "")
                    return
            elif _looks_encrypted(raw):
                self._opaque(loc, len(raw), f"{chain}>hex")
        elif len(stripped) >= 12 and "\n" not in stripped and _B64.fullmatch(stripped) and not _HEX.fullmatch(stripped):
            blob = _b64decode(stripped)
            if blob and _meaningful(blob):
                step = f"{chain}>base64"
                if not self._deep(step) and self._spend(len(blob), step):
                    self.bytes_layer(blob, loc, step, prefix, "")
                    return
            elif blob and _looks_encrypted(blob):
                self._opaque(loc, len(blob), f"{chain}>base64")
        # free text: the value itself (profile values, shapes) and any key=value pairs inside it
        name = prefix.rsplit(".", 1)[-1] if prefix else ""
        self._scalar(loc, prefix, name, chain, stripped[:65536], "str", prefix)
        found = _KV.findall(stripped[:65536])
        if len(found) >= 2:
            self.pairs(found, loc, f"{chain}>kv", prefix)

    def json_lines(self, text: str, loc: str, chain: str, prefix: str) -> bool:
        """Newline-delimited JSON (log uploads): one document per line, walked as the items of a list."""
        documents = []
        for line in text.splitlines()[:self.budget.max_array_items]:
            line = line.strip()
            if not line:
                continue
            try:
                documents.append(json.loads(line))
            except (ValueError, RecursionError):
                return False
        if len(documents) < 2:
            return False
        self.walk(documents, loc, f"{chain}>jsonl", prefix, "", 0)
        return True

    def bytes_layer(self, data: bytes, loc: str, chain: str, prefix: str, content_type: str) -> None:
        if not data or self.stopped:
            return
        kind = _compression(data)
        if kind:
            inflated = self.inflate(data, kind, chain)
            if inflated is not None:
                step = f"{chain}>{kind}"
                if not self._deep(step) and self._spend(len(inflated), step):
                    self.bytes_layer(inflated, loc, step, prefix, content_type)
            return
        raw_type, content_type = content_type, content_type.lower()
        if content_type.startswith("multipart/"):
            self.multipart(data, loc, chain, prefix, raw_type)
            return
        if "grpc" in content_type and len(data) >= 5 and data[0] in (0, 1):
            self.grpc(data, loc, chain, prefix)
            return
        media = sniff_media(data)
        if media:
            name = prefix.rsplit(".", 1)[-1] if prefix else ""
            self._emit(Field(loc, prefix, name, chain, "", "media", prefix, media_type=media, data=data))
            return
        if data[:1] in (b"{", b"[") and "protobuf" not in content_type:
            try:
                parsed = json.loads(data)
            except RecursionError:
                self.result.note(f"budget:nesting: JSON too deeply nested at {chain}")
                return
            except ValueError:
                parsed = None
            if parsed is not None and type(parsed) in (dict, list):
                self.walk(parsed, loc, f"{chain}>json", prefix, "", 0)
                return
        elif data[:1] == b'"':
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            if type(parsed) is str:       # a JSON string body, often base64 of the real payload
                name = prefix.rsplit(".", 1)[-1] if prefix else ""
                self.string(parsed, loc, f"{chain}>json", prefix, "", name, prefix)
                return
        if "protobuf" not in content_type:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and _is_text(text):
                self.text_layer(text, loc, chain, prefix, top=False)
                return
        fields = parse_protobuf(data)
        if _plausible_message(fields, len(data)):
            self.protobuf(fields or [], loc, f"{chain}>protobuf", prefix, "", 0)
            return
        if _looks_encrypted(data):
            self._opaque(loc, len(data), chain)

    def _opaque(self, loc: str, size: int, chain: str) -> None:
        if loc == "body":
            self.result.body_opaque = True
        self.result.note(f"opaque: {size} bytes of high-entropy data at {chain}")

    def protobuf(self, fields: list[tuple[int, int, Any]], loc: str, chain: str, prefix: str, rel: str,
                 nesting: int) -> None:
        if nesting > self.budget.max_nesting:
            self.result.note(f"budget:nesting: protobuf deeper than {self.budget.max_nesting} at {chain}")
            return
        parent = _join(prefix, rel)
        for number, wire, value in fields:
            sub = f"{rel}.{number}" if rel else str(number)
            name = str(number)
            if wire == 0:
                self._scalar(loc, _join(prefix, sub), name, chain, str(value), "num", parent)
            elif wire == 1:
                self._scalar(loc, _join(prefix, sub), name, chain, _fixed64(value), "num", parent)
            elif wire == 5:
                self._scalar(loc, _join(prefix, sub), name, chain, _fixed32(value), "num", parent)
            else:
                self._length_delimited(value, loc, chain, prefix, sub, name, parent, nesting)

    def _length_delimited(self, value: bytes, loc: str, chain: str, prefix: str, sub: str, name: str,
                          parent: str, nesting: int) -> None:
        if not value:
            return
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        # A printable string is a string; otherwise a message if it parses as one; otherwise text again.
        if text is not None and text.isprintable():
            self.string(text, loc, chain, prefix, sub, name, parent)
            return
        inner = parse_protobuf(value)
        if _plausible_message(inner, len(value)):
            self.protobuf(inner or [], loc, chain, prefix, sub, nesting + 1)
            return
        if text is not None and _is_text(text):
            self.string(text, loc, chain, prefix, sub, name, parent)
            return
        kind = _compression(value) or sniff_media(value)
        if kind:
            self.bytes_layer(value, loc, f"{chain}>{sub}.bytes", _join(prefix, sub), "")

    def grpc(self, data: bytes, loc: str, chain: str, prefix: str) -> None:
        pos = 0
        while pos + 5 <= len(data):
            compressed, length = data[pos], struct.unpack(">I", data[pos + 1:pos + 5])[0]
            message = data[pos + 5:pos + 5 + length]
            pos += 5 + length
            if compressed:
                inflated = self.inflate(message, _compression(message) or "gzip", chain)
                if inflated is None:
                    continue
                message = inflated
            fields = parse_protobuf(message)
            if fields:
                self.protobuf(fields, loc, f"{chain}>grpc>protobuf", prefix, "", 0)

    def multipart(self, data: bytes, loc: str, chain: str, prefix: str, content_type: str) -> None:
        match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
        if not match:
            self.result.note(f"multipart without boundary at {chain}")
            return
        delimiter = b"--" + match.group(1).strip().encode("latin-1", "replace")
        step = f"{chain}>multipart"
        for index, part in enumerate(data.split(delimiter)[1:]):
            if part.startswith(b"--"):
                break
            head, sep, body = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
            if not sep:
                head, sep, body = part.lstrip(b"\n").partition(b"\n\n")
            if not sep:
                continue
            body = body[:-2] if body.endswith(b"\r\n") else body[:-1] if body.endswith(b"\n") else body
            headers = head.decode("utf-8", "replace").lower()
            name_match = re.search(r'\bname="([^"]*)"', head.decode("utf-8", "replace"))
            name = name_match.group(1) if name_match else f"part{index}"
            filename = re.search(r'filename="([^"]*)"', headers)
            type_match = re.search(r"content-type:\s*([^\s;]+)", headers)
            part_type = type_match.group(1) if type_match else ""
            media = part_type if part_type.startswith(("image/", "audio/", "video/")) else sniff_media(body)
            if media is None and filename:
                media = _media_from_filename(filename.group(1))
            key = _join(prefix, name)
            if media:
                self._emit(Field(loc, key, name, step, "", "media", prefix, media_type=media, data=body))
                continue
            if part_type.startswith(("application/", "text/")) or not filename:
                self.bytes_layer(body, loc, step, key, part_type)

    def inflate(self, data: bytes, kind: str, chain: str) -> bytes | None:
        limit = min(self.budget.max_inflate, max(self.budget.max_bytes - self.bytes_used, 0))
        try:
            output, complete = _inflate(data, kind, limit)
        except _Truncated as truncated:
            self.result.note(f"decode-error: {kind} stream at {chain} is truncated")
            return truncated.output or None
        except Exception:  # noqa: BLE001 - corrupt streams of every library end here
            self.result.note(f"decode-error: {kind} stream at {chain} is corrupt")
            return None
        if not complete:
            self.result.bomb = True
            self.result.note(f"bomb: {kind} stream at {chain} expands more than {_BOMB_RATIO}x or beyond {limit} bytes; "
                             "not expanded")
            return None
        return output

    # the request
    def observation(self, obs: Observation) -> None:
        if obs.path:
            for index, segment in enumerate(obs.path.split("?", 1)[0].split("/")[1:]):
                if segment:
                    value = unquote(segment)
                    self.string(value, "path", "path", "", f"path[{index}]", f"path[{index}]", "path")
        if obs.query:
            self.pairs(parse_qsl(obs.query, keep_blank_values=True), "query", "query", "")
        total = 0
        for name, value in obs.headers:
            lname = name.lower()
            if lname in NOISE_HEADERS:
                continue
            total += len(value)
            if total > self.budget.max_headers_total:
                self.result.note(f"budget:headers: more than {self.budget.max_headers_total} bytes of headers")
                break
            if len(value) > self.budget.max_header_value:
                self.result.note(f"budget:header: {name} truncated to {self.budget.max_header_value} bytes")
                value = value[:self.budget.max_header_value]
            if lname == "user-agent":
                self._emit(Field("header", name, lname, "header", value, "ua", "header"))
                continue
            if lname in ("authorization", "proxy-authorization"):
                value = value.split(" ", 1)[-1]
            if lname == "referer":
                query = urlsplit(value).query
                if query:
                    self.pairs(parse_qsl(query, keep_blank_values=True), "header", "header>referer.query",
                               "referer")
                continue
            self.string(value, "header", "header", "", name, lname, "header")
        for name, value in obs.cookies[:512]:
            self.string(unquote(value), "cookie", "cookie", "", name, name, "cookie")
        if obs.body:
            body = obs.body
            raw_type = obs.header("content-type") or ""
            content_type = raw_type.lower()
            encoding = (obs.header("content-encoding") or "").lower()
            if not self._spend(len(body), "body"):
                return
            chain = "body"
            for step in [e.strip() for e in encoding.split(",") if e.strip() and e.strip() != "identity"]:
                kind = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "brotli",
                        "zstd": "zstd"}.get(step)
                if kind is None:
                    self.result.note(f"unknown content-encoding {step!r}")
                    break
                inflated = self.inflate(body, kind, chain)
                if inflated is None:
                    return
                chain = f"{chain}>{kind}"
                body = inflated
            if "x-www-form-urlencoded" in content_type:
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    text = body.decode("latin-1")
                if "=" in text:
                    self.pairs(parse_qsl(text.strip(), keep_blank_values=True), "body", f"{chain}>form", "")
                    return
            self.bytes_layer(body, "body", chain, "", raw_type)


def _media_from_filename(name: str) -> str | None:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in ("jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "bmp"):
        return f"image/{ext}"
    if ext in ("mp3", "m4a", "aac", "amr", "wav", "ogg", "opus", "flac", "3gp"):
        return f"audio/{ext}"
    if ext in ("mp4", "mov", "avi", "mkv"):
        return f"video/{ext}"
    return None


def _num(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _b64decode(text: str) -> bytes | None:
    text = text.strip().rstrip("=")
    if len(text) % 4 == 1:
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _promising_bytes(head: bytes) -> bool:
    """Whether decoded bytes starting with ``head`` can be text, compressed data or a protobuf message:
    a cheap look at three bytes before decoding a whole value."""
    if not head:
        return False
    if head[:2] in (b"\x1f\x8b", b"\x28\xb5", b"\xff\xd8", b"\x89P") or (head[0] == 0x78 and len(head) > 1):
        return True
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return True
    if head[0] >= 0xC2:
        return True          # a UTF-8 multi-byte sequence (Chinese text)
    first = head[0]
    return (first & 7) in (0, 1, 2, 5) and 0 < first >> 3 < 32


def _promising_b64(text: str) -> bool:
    head = _b64decode(text[:4])
    return head is not None and _promising_bytes(head)


def _meaningful(raw: bytes) -> bool:
    """Decoded bytes worth another layer: compressed, media, text, or a plausible protobuf message."""
    if len(raw) < 4:
        return False
    if _compression(raw) or sniff_media(raw):
        return True
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        return _is_text(text) and text.isprintable() or text.lstrip()[:1] in ("{", "[")
    fields = parse_protobuf(raw)
    return _plausible_message(fields, len(raw)) and any(
        w == 2 and v and _is_text(v.decode("utf-8", "replace")) for _, w, v in fields or [])


def _looks_encrypted(raw: bytes) -> bool:
    """Ciphertext or random bytes: close to the highest entropy a sample of that size can have."""
    if len(raw) < 48:
        return False
    sample = raw[:65536]
    return shannon_entropy(sample) >= 0.8 * math.log2(min(len(sample), 256))


def _compression(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if len(data) >= 2 and data[0] == 0x78 and data[1] in (0x01, 0x5E, 0x9C, 0xDA) and (data[0] << 8 | data[1]) % 31 == 0:
        return "zlib"
    return None


class _Truncated(Exception):
    """A compressed stream that ends early: what it produced so far is still worth decoding."""

    def __init__(self, output: bytes) -> None:
        super().__init__("truncated")
        self.output = output


_PROBE = 1024 * 1024     # inflate this much first, then judge the compression ratio
_BOMB_RATIO = 200        # real payloads compress 3-50x; a stream past 200x and 1 MB is treated as a bomb


def _inflate(data: bytes, kind: str, limit: int) -> tuple[bytes, bool]:
    """(output, complete): complete is False when the stream produces more than ``limit`` bytes."""
    if kind in ("gzip", "zlib", "deflate"):
        if kind == "gzip":
            wbits = 16 + zlib.MAX_WBITS
        elif kind == "zlib" or _compression(data) == "zlib":
            wbits = zlib.MAX_WBITS
        else:
            wbits = -zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        first = inflater.decompress(data, min(_PROBE, limit + 1))
        tail = inflater.unconsumed_tail
        if not tail:
            if not inflater.eof:
                raise _Truncated(first)
            return first, True
        if len(first) > _BOMB_RATIO * max(len(data) - len(tail), 1) or len(first) > limit:
            return b"", False
        rest = inflater.decompress(tail, limit + 1 - len(first))
        if len(first) + len(rest) > limit or inflater.unconsumed_tail:
            return b"", False
        return first + rest, True
    if kind == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
        first = reader.read(min(_PROBE, limit + 1))
        if len(first) < min(_PROBE, limit + 1):
            return first, True
        if len(first) > _BOMB_RATIO * len(data):
            return b"", False
        rest = reader.read(limit + 1 - len(first))
        output = first + rest
        return (b"", False) if len(output) > limit else (output, True)
    if kind == "brotli":
        import brotli

        decompressor = brotli.Decompressor()
        chunks: list[bytes] = []
        produced = consumed = 0
        while consumed < len(data):
            # Brotli has no output limit: feed it tiny slices once it expands suspiciously well.
            step = 1 if produced > 16 * max(consumed, 1) else 16
            out = decompressor.process(data[consumed:consumed + step])
            consumed += step
            produced += len(out)
            if produced > limit or (produced > _PROBE and produced > _BOMB_RATIO * consumed):
                return b"", False
            chunks.append(out)
        return b"".join(chunks), True
    raise ValueError(kind)


def decode_observation(obs: Observation, budget: Budget | None = None, *,
                       keep_number: Callable[[str], bool] | None = None, scalar_sink: ScalarSink | None = None,
                       field_sink: Callable[[Field], None] | None = None) -> DecodeResult:
    """Every field of a request, with its location, key path and decoding chain. Never raises: a decoder
    that fails on hostile input leaves a note and the fields found so far.

    ``keep_number(key)``, when given, decides whether a JSON number of fewer than ten digits under that key
    becomes a field (the detectors only look at short numbers under telling keys). ``scalar_sink`` and
    ``field_sink`` receive the fields as they are decoded instead of ``DecodeResult.fields``."""
    decoder = _Decoder(budget or Budget(), keep_number, scalar_sink, field_sink)
    try:
        decoder.observation(obs)
    except RecursionError:
        decoder.result.note("budget:nesting: recursion limit reached")
    except Exception as exc:  # noqa: BLE001 - the request is attacker-controlled; keep what was decoded
        decoder.result.note(f"decode-error: {type(exc).__name__} while decoding; later fields not inspected")
    return decoder.result


def decode_bytes(data: bytes, *, location: str = "body", content_type: str = "",
                 budget: Budget | None = None) -> DecodeResult:
    """Decode one payload on its own (tests, tools)."""
    decoder = _Decoder(budget or Budget())
    try:
        decoder.bytes_layer(data, location, location, "", content_type)
    except RecursionError:
        decoder.result.note("budget:nesting: recursion limit reached")
    except Exception as exc:  # noqa: BLE001 - see decode_observation
        decoder.result.note(f"decode-error: {type(exc).__name__} while decoding; later fields not inspected")
    return decoder.result

