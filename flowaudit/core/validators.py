"""Value validators: checksums and structural rules that tell a real identifier from a look-alike.

Every function takes a string and returns a bool (or a normalised value / None); none of them raises.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import math
import re
from collections import Counter

_DIGITS = re.compile(r"\d+")
_HEX = re.compile(r"[0-9a-fA-F]+")


_LUHN_DOUBLE = {str(d): (2 * d if d < 5 else 2 * d - 9) for d in range(10)}


def luhn_ok(digits: str) -> bool:
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    reverse = digits[::-1]
    total = sum(map(int, reverse[0::2])) + sum(map(_LUHN_DOUBLE.__getitem__, reverse[1::2]))
    return total % 10 == 0


def _low_variety(value: str) -> bool:
    """All one character, or a run like 123456789012345: test data and placeholders, not identifiers."""
    if len(set(value)) <= 1:
        return True
    return value in "01234567890123456789" or value in "98765432109876543210"


def is_imei(value: str) -> bool:
    """15 digits with a valid Luhn check digit and a plausible type allocation code."""
    return (len(value) == 15 and value.isascii() and value.isdigit() and not value.startswith("00")
            and not _low_variety(value) and luhn_ok(value))


# Reporting-body identifiers (first two digits of the TAC) that allocate IMEIs in practice: GSMA-appointed
# bodies such as 01 (PTCRB), 35 (BABT), 86 (TAF China), 99 (GHA, MEID-derived) and the others still seen.
_TAC_BODIES = frozenset({"01", "10", "30", "33", "35", "44", "45", "49", "50", "51", "52", "53", "54", "86", "91",
                         "98", "99"})


def plausible_tac(imei: str) -> bool:
    return imei[:2] in _TAC_BODIES


def is_meid(value: str, *, strict: bool = True) -> bool:
    """14 hex digits. Hex MEIDs have a regional code A0-FF; ``strict`` requires it (shape-only use)."""
    if len(value) != 14 or not value.isascii() or not _HEX.fullmatch(value) or _low_variety(value):
        return False
    if strict:
        return value[0] in "ABCDEFabcdef" and any(c.isdigit() for c in value)
    return True


# MNCs of the mainland Chinese carriers (China Mobile, Unicom, Telecom, Tietong, Broadnet).
CN_MNC = frozenset({"00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "11", "15", "20"})


def is_imsi(value: str, *, china_only: bool = True) -> bool:
    if len(value) != 15 or not value.isascii() or not value.isdigit() or _low_variety(value):
        return False
    if value.startswith("460"):
        return value[3:5] in CN_MNC
    if china_only:
        return False
    return 200 <= int(value[:3]) <= 799


def is_iccid(value: str, *, china_only: bool = True) -> bool:
    """19-20 characters starting 89 (telecom); 8986 for China, whose carriers use some letters."""
    value = value.upper()
    if len(value) not in (19, 20) or not value.isascii() or not value.isalnum() or _low_variety(value):
        return False
    if value.startswith("8986"):
        return value[4:].isalnum() and sum(c.isdigit() for c in value) >= 17
    if china_only or not value.isdigit() or not value.startswith("89"):
        return False
    return luhn_ok(value)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
})


def id_card_checksum(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_id_card(value: str, *, today: _dt.date | None = None) -> bool:
    """Resident identity number (GB 11643-1999): region, valid birth date, ISO 7064 MOD 11-2 check."""
    if len(value) != 18 or not value.isascii():
        return False
    body, check = value[:17], value[17].upper()
    if not body.isdigit() or not (check.isdigit() or check == "X") or body[:2] not in _PROVINCES:
        return False
    try:
        birth = _dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    today = today or _dt.date.today()
    if birth.year < 1900 or birth > today:
        return False
    return id_card_checksum(body) == check


def card_network(digits: str) -> str | None:
    """Card network from the BIN: UnionPay 62, Visa 4, Mastercard 51-55 and 2221-2720."""
    if digits.startswith("62"):
        return "unionpay"
    if digits.startswith("4"):
        return "visa"
    if "51" <= digits[:2] <= "55":
        return "mastercard"
    if "2221" <= digits[:4] <= "2720":
        return "mastercard"
    return None


def is_bank_card(value: str) -> bool:
    value = value.replace(" ", "").replace("-", "")
    return (16 <= len(value) <= 19 and value.isascii() and value.isdigit() and not _low_variety(value)
            and card_network(value) is not None and luhn_ok(value))


# Mainland mobile number segments (MIIT numbering plan): 13x, 145-149, 15x (not 154), 16[2567], 17[0-8],
# 18x, 19x.
_CN_MOBILE = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9\d)\d{8}")
_CN_MOBILE_PREFIXED = re.compile(r"(?:\+|00)?86[\s-]?(1\d{2})[\s-]?(\d{4})[\s-]?(\d{4})")


def normalize_cn_mobile(value: str) -> str | None:
    """The 11-digit number of a mainland mobile number written plainly or with +86 / 0086 / 86 and spaces."""
    value = value.strip()
    if len(value) == 11:
        return value if _CN_MOBILE.fullmatch(value) else None
    match = _CN_MOBILE_PREFIXED.fullmatch(value)
    if match:
        number = "".join(match.groups())
        return number if _CN_MOBILE.fullmatch(number) else None
    if 13 <= len(value) <= 14 and (value[3] in " -" or value[8] in " -"):
        compact = value.replace(" ", "").replace("-", "")
        if len(compact) == 11 and _CN_MOBILE.fullmatch(compact):
            return compact
    return None


def is_cn_mobile(value: str) -> bool:
    return normalize_cn_mobile(value) is not None


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}")
_EMAIL_FALSE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg", "js", "css", "so", "json", "html"})


def is_email(value: str) -> bool:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        return False
    local, _, domain = value.rpartition("@")
    return domain.rsplit(".", 1)[-1].lower() not in _EMAIL_FALSE_TLDS and not local.startswith(".")


_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}")
_MAC_PLACEHOLDERS = frozenset({"000000000000", "020000000000", "ffffffffffff", "010000000000"})


def normalize_mac(value: str, *, bare: bool = False) -> str | None:
    """aa:bb:cc:dd:ee:ff (lower case) for a real MAC address, None for placeholders and non-MACs.

    ``bare`` accepts 12 hex digits without separators (only with key evidence)."""
    if len(value) == 17 and _MAC.fullmatch(value):
        compact = value.replace(":", "").replace("-", "").lower()
    elif bare and len(value) == 12 and _HEX.fullmatch(value):
        compact = value.lower()
    else:
        return None
    if compact in _MAC_PLACEHOLDERS or len(set(compact)) <= 1:
        return None
    return ":".join(compact[i:i + 2] for i in range(0, 12, 2))


def is_mac(value: str, *, bare: bool = False) -> bool:
    return normalize_mac(value, bare=bare) is not None


_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def is_uuid(value: str) -> bool:
    return len(value) == 36 and bool(_UUID.fullmatch(value)) and value.strip("0-") != ""


def uuid_version(value: str) -> int | None:
    return int(value[14], 16) if is_uuid(value) else None


def is_hex(value: str, length: int | None = None) -> bool:
    return (length is None or len(value) == length) and value.isascii() and bool(_HEX.fullmatch(value))


def is_advertising_id(value: str) -> bool:
    """UUID-shaped or 16/64-hex resettable identifier (OAID, VAID, AAID, GAID, IDFA, IDFV); not all zeros."""
    if is_uuid(value):
        return True
    return len(value) in (16, 32, 64) and is_hex(value) and not _low_variety(value)


def is_android_id(value: str) -> bool:
    return len(value) in (15, 16) and is_hex(value) and not _low_variety(value)


def public_ip(value: str) -> str | None:
    """The address when ``value`` is a globally routable IPv4/IPv6 address, else None.

    Private, loopback, link-local, CGNAT, multicast and documentation ranges are skipped: they do not
    identify a subscriber on the internet, and LAN addresses are mostly configuration noise."""
    if not value or len(value) > 45 or not (value[0].isdigit() or ":" in value):
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if not address.is_global or address.is_multicast:
        return None
    return str(address)


def looks_like_version(value: str) -> bool:
    """1.2.3, 10.0.1.15, v2.3: dotted small numbers."""
    parts = value.lstrip("vV").split(".")
    return 2 <= len(parts) <= 5 and all(p.isdigit() and len(p) <= 3 for p in parts) and all(
        int(p) < 64 for p in parts[:2])


def parse_coordinate(value: object) -> tuple[float, int] | None:
    """(value, number of decimals) of a decimal number written as text or float, else None."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else None
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > 24 or not re.fullmatch(r"-?\d{1,3}\.\d+", text):
        return None
    return float(text), len(text.split(".", 1)[1])


def is_lat(value: float) -> bool:
    return -90.0 <= value <= 90.0


def is_lng(value: float) -> bool:
    return -180.0 <= value <= 180.0


_LNG_LAT = re.compile(r"\s*(-?\d{1,3}\.\d{1,12})\s*[,;| ]\s*(-?\d{1,3}\.\d{1,12})\s*")


def parse_coordinate_pair(value: str) -> tuple[float, float, int] | None:
    """(lat, lng, min decimals) from "116.40739,39.90421" (lng first, as AMap and Baidu write it) or
    "39.90421,116.40739" (lat first); None when neither order is in range or both are 0."""
    match = _LNG_LAT.fullmatch(value)
    if not match:
        return None
    first, second = match.group(1), match.group(2)
    a, b = float(first), float(second)
    decimals = min(len(first.split(".")[1]), len(second.split(".")[1]))
    if a == 0 and b == 0:
        return None
    if abs(a) > 90 and is_lng(a) and is_lat(b):
        return b, a, decimals
    if is_lat(a) and is_lng(b):
        return a, b, decimals
    return None


_PACKAGE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)+")
_NOT_PACKAGE_ENDINGS = frozenset({
    "com", "cn", "net", "org", "io", "gov", "edu", "png", "jpg", "jpeg", "gif", "js", "css", "html", "htm",
    "json", "xml", "txt", "so", "jar", "dex", "apk", "zip", "mp4", "mp3", "webp", "java", "kt", "class",
})


def is_package_name(value: str, *, strict: bool = True) -> bool:
    """An Android application id such as com.tencent.mm (not a host name or file name).

    ``strict`` also rejects a capitalised last segment (com.example.MainActivity: a class name); real
    application ids sometimes have one (com.eg.android.AlipayGphone), so lists are judged leniently."""
    if not (3 <= len(value) <= 150) or not _PACKAGE.fullmatch(value):
        return False
    parts = value.split(".")
    last = parts[-1]
    if last.lower() in _NOT_PACKAGE_ENDINGS or parts[0].lower() == "www":
        return False
    return not (strict and last[:1].isupper())


def shannon_entropy(data: bytes) -> float:
    """Bits per byte."""
    if not data:
        return 0.0
    counts = Counter(data)
    total = len(data)
    return -sum(c / total * math.log2(c / total) for c in counts.values())
