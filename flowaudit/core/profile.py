"""Device profile: values the tester knows are on the device (honey values), keyed by taxonomy id.

Planted values should be distinctive: a value shorter than six characters is only recognised in hashed or
encoded form, never as plain text (it would match too much). Locations are "lng,lat" or "lat,lng" strings
(or a two-number list) and match any coordinate within a kilometre.

Every value is expanded once into the forms apps send it in (plain, case-folded, without separators, +86
forms of phone numbers, MD5/SHA1/SHA256 hex in both cases, base64 of the raw digests and of the hex, base64
of the value itself), so that matching a decoded field is a dictionary lookup per token, never a loop over
values and variants.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from flowaudit.core.taxonomy import TYPE_IDS
from flowaudit.core.validators import parse_coordinate_pair


class ProfileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ProfileHit:
    type: str
    value: str          # the profile value (as the tester wrote it)
    form: str           # plain, casefold, compact, md5, sha1-b64, plain-b64...
    token: str          # what was found in the request


_SEPARATORS = re.compile(r"[\s:\-_.()+/]")
_DROP_SEPARATORS = str.maketrans("", "", " \t\n:-_.()+/")
# Tokens inside longer strings: identifiers, hex, base64 and base64url runs, with : and - kept so that MACs
# and UUIDs stay whole.
_TOKEN = re.compile(r"[0-9A-Za-z+/=_:\-]{6,}")
_TOKEN_CHARS = re.compile(r"[0-9A-Za-z+/=_:\-]*")
_MIN_SUBSTRING = 6          # shorter values only match a whole field, never a piece of a longer string
_HASHES = (("md5", hashlib.md5), ("sha1", hashlib.sha1), ("sha256", hashlib.sha256))


def _b64_forms(raw: bytes) -> set[str]:
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return {std, std.rstrip("="), url, url.rstrip("=")}


def compact(value: str) -> str:
    return value.translate(_DROP_SEPARATORS)


def value_forms(type_id: str, value: str) -> list[tuple[str, str]]:
    """The textual forms of one value before hashing: (label, text)."""
    forms: dict[str, str] = {}
    plain = value.strip()
    candidates = [("plain", plain), ("lower", plain.lower()), ("upper", plain.upper()),
                  ("compact", compact(plain)), ("compact-lower", compact(plain).lower()),
                  ("compact-upper", compact(plain).upper())]
    if type_id == "phone_number":
        digits = compact(plain).lstrip("+")
        if digits.startswith("0086"):
            digits = digits[4:]
        elif digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        candidates += [("national", digits), ("intl", "86" + digits), ("intl-plus", "+86" + digits),
                       ("intl-space", f"+86 {digits}")]
    if type_id in ("mac_address", "bluetooth_mac", "wifi_bssid"):
        bare = compact(plain).lower()
        if len(bare) == 12:
            pairs = [bare[i:i + 2] for i in range(0, 12, 2)]
            candidates += [("colon", ":".join(pairs)), ("colon-upper", ":".join(pairs).upper()),
                           ("dash", "-".join(pairs)), ("dash-upper", "-".join(pairs).upper())]
    for label, text in candidates:
        if text and text not in forms.values():
            forms[label] = text
    return [(label, text) for label, text in forms.items()]


@dataclass(slots=True)
class ProfileIndex:
    """Lookup tables built once from a profile."""

    exact: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)    # case-sensitive (base64)
    folded: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)   # keys lower-cased
    phrases: list[tuple[str, str, str]] = field(default_factory=list)             # values with spaces/CJK
    phrase_triggers: str = ""                   # characters that ASCII phrases have and tokens do not
    lengths: frozenset[int] = frozenset()
    memos: dict = field(default_factory=dict)  # detection outcomes per value, kept by flowaudit.core.detect
    locations: list[tuple[float, float]] = field(default_factory=list)   # planted (lat, lng) pairs        # lengths of every indexed form: most tokens are ruled out by it
    phrase_pattern: re.Pattern[str] | None = None          # values with spaces or non-ASCII characters
    ascii_phrase_pattern: re.Pattern[str] | None = None    # the ASCII ones only (an ASCII text needs no more)
    min_len: int = 1

    def _add(self, table: dict[str, list[tuple[str, str, str]]], key: str, entry: tuple[str, str, str]) -> None:
        bucket = table.setdefault(key, [])
        if entry[:2] not in {e[:2] for e in bucket}:
            bucket.append(entry)

    @classmethod
    def build(cls, values: Mapping[str, list[str]]) -> ProfileIndex:
        index = cls()
        for type_id, items in values.items():
            for value in items:
                for label, text in value_forms(type_id, value):
                    index._add(index.folded, text.lower(), (type_id, value, "plain" if label == "plain" else label))
                    raw = text.encode("utf-8")
                    for b64 in _b64_forms(raw):
                        index._add(index.exact, b64, (type_id, value, "plain-b64"))
                    for name, algorithm in _HASHES:
                        digest = algorithm(raw).digest()
                        hexdigest = digest.hex()
                        index._add(index.folded, hexdigest, (type_id, value, name))
                        for b64 in _b64_forms(digest):
                            index._add(index.exact, b64, (type_id, value, f"{name}-b64"))
                        for hex_form in (hexdigest, hexdigest.upper()):
                            for b64 in _b64_forms(hex_form.encode()):
                                index._add(index.exact, b64, (type_id, value, f"{name}-hex-b64"))
                text = value.strip()
                # values with spaces or non-ASCII characters (names, models, planted text) are searched as
                # phrases; ASCII ones need the substring length, Chinese ones (2-character names) do not
                if not _TOKEN_CHARS.fullmatch(text) and len(text) >= (2 if not text.isascii() else _MIN_SUBSTRING):
                    index.phrases.append((type_id, value, text))
        for type_id in ("precise_location", "coarse_location"):
            for value in values.get(type_id, ()):
                pair = parse_coordinate_pair(value)
                if pair is not None:
                    index.locations.append((pair[0], pair[1]))
        index.lengths = frozenset(len(k) for table in (index.exact, index.folded) for k in table)
        if index.phrases:
            alternatives = sorted({re.escape(p[2]) for p in index.phrases}, key=len, reverse=True)
            index.phrase_pattern = re.compile("|".join(alternatives), re.IGNORECASE)
            ascii_only = [a for a in alternatives if a.isascii()]
            if ascii_only:
                index.ascii_phrase_pattern = re.compile("|".join(ascii_only), re.IGNORECASE)
                index.phrase_triggers = "".join(sorted({c for _, _, p in index.phrases if p.isascii() for c in p
                                                        if not _TOKEN_CHARS.fullmatch(c)}))
        return index

    def lookup(self, token: str) -> list[ProfileHit]:
        lengths = self.lengths
        exact = folded = None
        if len(token) in lengths:
            exact = self.exact.get(token)
            folded = self.folded.get(token)
            if folded is None:
                lower = token.lower()
                if lower != token:
                    folded = self.folded.get(lower)
        if folded is None and not token.isalnum():
            packed = compact(token)
            if len(packed) in lengths:
                folded = self.folded.get(packed.lower())
        if exact is None and folded is None:
            return []
        hits = [ProfileHit(t, v, f, token) for t, v, f in exact or ()]
        hits.extend(ProfileHit(t, v, f, token) for t, v, f in folded or ())
        return hits

    def search(self, text: str) -> list[ProfileHit]:
        """Every profile value in ``text``: the whole text, then its tokens, then multi-word values."""
        whole = self.lookup(text)
        if whole:
            return whole
        found: list[ProfileHit] = []
        if len(text) > _MIN_SUBSTRING and not text.isalnum():
            lengths = self.lengths
            tokens = _TOKEN.findall(text)
            for token in set(tokens) if len(tokens) > 1 else tokens:
                hits = self.lookup(token) if token != text and len(token) in lengths else []
                if not hits and ("=" in token or ":" in token or "-" in token) and not (
                        len(token) == 36 and token[8] == "-" and token[23] == "-"):     # a UUID is one value
                    hits = self._pieces(token)
                if hits:
                    found.extend(hit for hit in hits
                                 if len(hit.value) >= _MIN_SUBSTRING or hit.form not in ("plain", "lower", "upper"))
        if self.phrase_pattern is not None:
            if not text.isascii():
                pattern = self.phrase_pattern
            elif self.ascii_phrase_pattern is not None and any(c in text for c in self.phrase_triggers):
                pattern = self.ascii_phrase_pattern
            else:
                return found
            for match in pattern.finditer(text):
                found_text = match.group(0).lower()
                for type_id, value, phrase in self.phrases:
                    if phrase.lower() == found_text:
                        found.append(ProfileHit(type_id, value, "plain", match.group(0)))
        return found

    def _pieces(self, token: str) -> list[ProfileHit]:
        """key=value glued into one token, or a value between separators."""
        hits: list[ProfileHit] = []
        if "=" in token.rstrip("="):
            # look at each side of "=" (base64 padding stays attached)
            for part in re.split(r"=(?!=*$)", token):
                if len(part) >= _MIN_SUBSTRING:
                    hits.extend(self.lookup(part))
        if not hits and (":" in token or "-" in token):
            for part in re.split(r"[:\-=]", token):
                if len(part) >= _MIN_SUBSTRING:
                    hits.extend(self.lookup(part))
        return hits


@dataclass(slots=True)
class DeviceProfile:
    values: dict[str, list[str]] = field(default_factory=dict)
    _index: ProfileIndex | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_mapping(cls, data: object) -> DeviceProfile:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ProfileError("a device profile is a mapping of data-type id to value(s)")
        values: dict[str, list[str]] = {}
        for key, raw in data.items():
            if key not in TYPE_IDS:
                raise ProfileError(f"unknown data-type id in device profile: {key!r}")
            if key in ("precise_location", "coarse_location") and isinstance(raw, list) and len(raw) == 2 \
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw):
                raw = [f"{raw[0]},{raw[1]}"]          # [lng, lat] or [lat, lng] written as a YAML list
            if isinstance(raw, dict):
                raise ProfileError(f"device profile value of {key!r} must be a value or a list of values")
            items = raw if isinstance(raw, list) else [raw]
            values[key] = [str(v) for v in items if v is not None and str(v).strip()]
        return cls(values)

    def to_mapping(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.values.items()}

    @property
    def index(self) -> ProfileIndex:
        """The precomputed variant tables (built on first use, rebuilt if ``values`` was replaced)."""
        if self._index is None:
            self._index = ProfileIndex.build(self.values)
        return self._index

    def invalidate(self) -> None:
        self._index = None

    def match(self, text: str) -> list[ProfileHit]:
        """Profile values found in one decoded field value."""
        if not self.values or not text:
            return []
        return self.index.search(text)

    def __bool__(self) -> bool:
        return any(self.values.values())
