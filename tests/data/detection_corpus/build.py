"""Labelled detection corpus, generated from documented request formats with a fixed seed.

Two splits:
  * ``tuning``  (seed 4242): formats modelled on Umeng, JPush, Getui, Bugly, Pangle, GDT, AppsFlyer, Adjust,
    Firebase, AMap and first-party login / real-name / payment / upload APIs, with their snake_case keys;
  * ``heldout`` (seed 9191): other vendors' formats (TalkingData, Sensors Data, Baidu Mobstat, Kuaishou,
    Huawei HMS, Xiaomi push, ShuMei, Tongdun, Alipay, Branch, Facebook...), camelCase and abbreviated key
    names, and other encodings (zlib, form fields holding URL-encoded JSON, JWT, key=value strings,
    protobuf, hex), kept out of the detectors' tuning.
Every value is synthetic (valid checksums, no real person's data). Labels are computed while rendering,
from the same markers that place the values, so a label's key path is where the value really is.

``python tests/data/detection_corpus/build.py`` writes tuning.jsonl and heldout.jsonl next to this file;
``bench/detection_quality.py`` and the tests import ``build()`` directly.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

SEEDS = {"tuning": 4242, "heldout": 9191, "fresh": 31337}
HERE = Path(__file__).resolve().parent


@dataclass
class L:
    """A labelled value inside a template: where it is rendered, a label (type, key path) is recorded."""

    type: str
    value: Any
    profile: bool = False        # only a device-profile match can find it (hashed / encoded form)


@dataclass
class Sample:
    id: str
    split: str
    vendor: str
    method: str
    host: str
    path: str = "/"
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    labels: list[dict[str, Any]] = field(default_factory=list)
    trap: bool = False
    data_fields: dict[str, str] = field(default_factory=dict)   # the attributed SDK's known keys

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "split": self.split, "vendor": self.vendor, "method": self.method,
                "host": self.host, "path": self.path, "query": self.query,
                "headers": [list(h) for h in self.headers], "body_b64": base64.b64encode(self.body).decode(),
                "labels": self.labels, "trap": self.trap, "data_fields": self.data_fields}


def render(obj: Any, prefix: str = "", labels: list[tuple[str, str, bool]] | None = None) -> tuple[Any, list]:
    """Replace L markers by their values; return (plain structure, [(type, key path, profile)])."""
    labels = [] if labels is None else labels
    if isinstance(obj, L):
        # a labelled list is reported at its items' path (apps[]), like the decoder's list fields
        labels.append((obj.type, f"{prefix}[]" if isinstance(obj.value, list) else prefix, obj.profile))
        inner, _ = render(obj.value, prefix, labels)
        return inner, labels
    if isinstance(obj, dict):
        return {k: render(v, f"{prefix}.{k}" if prefix else k, labels)[0] for k, v in obj.items()}, labels
    if isinstance(obj, list):
        return [render(v, f"{prefix}[]", labels)[0] for v in obj], labels
    return obj, labels


def _label_list(labels: list[tuple[str, str, bool]], location: str, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for type_id, key, profile in labels:
        full = f"{prefix}.{key}" if prefix and key else (prefix or key)
        item = {"type": type_id, "location": location, "key": full}
        if profile:
            item["profile"] = True
        if item not in out:
            out.append(item)
    return out


# -- synthetic values -------------------------------------------------------------------------------------

def _luhn_digit(prefix: str) -> str:
    total = 0
    for index, char in enumerate(reversed(prefix + "0")):
        value = int(char)
        if index % 2:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return str((10 - total % 10) % 10)


class Values:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def hex(self, n: int, upper: bool = False) -> str:
        text = "".join(self.rng.choice("0123456789abcdef") for _ in range(n))
        return text.upper() if upper else text

    def imei(self) -> str:
        body = self.rng.choice(["86", "35", "86", "99"]) + self.digits(12)
        return body + _luhn_digit(body)

    def bad_luhn(self, n: int = 15) -> str:
        body = self.rng.choice("123456789") + self.digits(n - 2)
        good = _luhn_digit(body)
        return body + str((int(good) + self.rng.randint(1, 9)) % 10)

    def imsi(self) -> str:
        return "460" + self.rng.choice(["00", "01", "02", "03", "07", "11"]) + self.digits(10)

    def iccid(self) -> str:
        return "8986" + self.rng.choice(["00", "01", "03", "11"]) + self.digits(14)

    def meid(self) -> str:
        return "A" + self.hex(13, upper=True)

    def serial(self) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(self.rng.choice([11, 12, 16])))

    def android_id(self) -> str:
        return self.hex(16)

    def uuid(self, upper: bool = False) -> str:
        text = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return text.upper() if upper else text

    def oaid(self) -> str:
        return self.rng.choice([self.uuid(), self.hex(64), self.hex(16)])

    def mac(self, upper: bool = False, sep: str = ":") -> str:
        octets = [self.rng.randint(0, 255) for _ in range(6)]
        octets[0] &= 0xFC
        if octets[0] == 0:
            octets[0] = 0x3C
        text = sep.join(f"{o:02x}" for o in octets)
        return text.upper() if upper else text

    def ssid(self) -> str:
        return self.rng.choice(["TP-LINK_", "ChinaNet-", "CMCC-", "MERCURY_", "Xiaomi_", "HUAWEI-"]) + self.hex(4, True)

    def lat(self, decimals: int = 6) -> float:
        return round(self.rng.uniform(22.3, 45.7), decimals)

    def lng(self, decimals: int = 6) -> float:
        return round(self.rng.uniform(100.5, 125.9), decimals)

    def ip(self) -> str:
        first = self.rng.choice([36, 58, 111, 112, 117, 120, 183, 218, 221, 223])
        return f"{first}.{self.rng.randint(1, 254)}.{self.rng.randint(1, 254)}.{self.rng.randint(1, 254)}"

    def phone(self) -> str:
        return self.rng.choice(["138", "139", "150", "186", "188", "177", "199", "135", "158", "166"]) + self.digits(8)

    def email(self) -> str:
        user = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(self.rng.randint(5, 10)))
        return f"{user}{self.rng.randint(1, 999)}@{self.rng.choice(['qq.com', '163.com', 'gmail.com', '126.com', 'outlook.com'])}"

    def name(self) -> str:
        return self.rng.choice("王李张刘陈杨黄赵周吴") + "".join(self.rng.choice("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超") for _ in range(self.rng.randint(1, 2)))

    def id_card(self) -> str:
        from flowaudit.core.validators import id_card_checksum
        region = self.rng.choice(["110101", "310104", "440305", "330106", "510107", "420106"])
        birth = f"{self.rng.randint(1960, 2004)}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"
        body = region + birth + self.digits(3)
        return body + id_card_checksum(body)

    def bad_id_card(self) -> str:
        good = self.id_card()
        return good[:17] + ("1" if good[17] != "1" else "2")

    def passport(self) -> str:
        return self.rng.choice("EG") + self.digits(8)

    def bank_card(self) -> str:
        prefix, length = self.rng.choice([("622202", 19), ("621700", 19), ("622848", 19), ("4392", 16),
                                          ("5187", 16), ("2221", 16), ("6259", 16)])
        body = prefix + self.digits(length - len(prefix) - 1)
        return body + _luhn_digit(body)

    def password(self) -> str:
        return self.rng.choice(["Passw0rd!", "qwe123456", "zx" + self.digits(6), "Aa" + self.hex(8)])

    def sms_code(self) -> str:
        return self.digits(self.rng.choice([4, 6]))

    def packages(self, n: int) -> list[str]:
        pool = ["com.tencent.mm", "com.tencent.mobileqq", "com.eg.android.AlipayGphone", "com.taobao.taobao",
                "com.ss.android.ugc.aweme", "com.sina.weibo", "com.jingdong.app.mall", "com.xunmeng.pinduoduo",
                "com.autonavi.minimap", "com.baidu.searchbox", "com.netease.cloudmusic", "tv.danmaku.bili",
                "com.smile.gifmaker", "com.zhihu.android", "com.sankuai.meituan", "com.dianping.v1",
                "com.tencent.qqlive", "com.youku.phone", "com.kugou.android", "com.tencent.tmgp.sgame",
                "com.unionpay", "cn.gov.tax.its", "com.chinamworld.main", "com.icbc", "com.cmbchina.ccd.pluto.cmbActivity"]
        return self.rng.sample(pool, n)

    def model(self) -> str:
        return self.rng.choice(["M2012K11AC", "V2049A", "PEGM00", "SM-G9910", "ELS-AN00", "Redmi K40", "MI 9",
                                "PCLM10", "NOH-AN00", "22081212C"])

    def brand(self) -> str:
        return self.rng.choice(["Xiaomi", "HUAWEI", "OPPO", "vivo", "samsung", "HONOR", "OnePlus"])

    def os_version(self) -> str:
        return self.rng.choice(["10", "11", "12", "13", "14"])

    def carrier(self) -> str:
        return self.rng.choice(["中国移动", "中国联通", "中国电信", "CMCC", "46000", "46001", "46011"])

    def city(self) -> str:
        return self.rng.choice(["北京市", "上海市", "深圳市", "杭州市", "成都市", "武汉市"])

    def ts_ms(self) -> int:
        return 1_700_000_000_000 + self.rng.randint(0, 60_000_000_000)

    def version(self) -> str:
        return f"{self.rng.randint(1, 12)}.{self.rng.randint(0, 20)}.{self.rng.randint(0, 9)}.{self.rng.randint(0, 99)}"

    def ua(self, model: str, os_version: str) -> str:
        return f"Dalvik/2.1.0 (Linux; U; Android {os_version}; {model} Build/RKQ1.{self.digits(6)}.002)"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def jpeg(gps: tuple[float, float] | None, size: int = 600, rng: random.Random | None = None) -> bytes:
    """A small JPEG-framed image, with an EXIF GPS block when ``gps`` is given."""
    rng = rng or random.Random(0)
    segments = b""
    if gps is not None:
        def rational(value: float) -> bytes:
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
            return struct.pack("<6I", degrees, 1, minutes, 1, seconds, 10000)
        # TIFF header, IFD0 with a GPS pointer, GPS IFD with lat/lng refs and rationals.
        ifd0_at, gps_at = 8, 26
        data_at = gps_at + 2 + 4 * 12 + 4
        tiff = b"II*\x00" + struct.pack("<I", ifd0_at)
        tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
        entries = [struct.pack("<HHI", 1, 2, 2) + b"N\x00\x00\x00",
                   struct.pack("<HHII", 2, 5, 3, data_at),
                   struct.pack("<HHI", 3, 2, 2) + b"E\x00\x00\x00",
                   struct.pack("<HHII", 4, 5, 3, data_at + 24)]
        tiff += struct.pack("<H", 4) + b"".join(entries) + struct.pack("<I", 0)
        tiff += rational(gps[0]) + rational(gps[1])
        payload = b"Exif\x00\x00" + tiff
        segments += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    noise = bytes(rng.getrandbits(8) for _ in range(size))
    return b"\xff\xd8" + segments + b"\xff\xdb\x00\x43" + noise[:65] + b"\xff\xda\x00\x08" + noise + b"\xff\xd9"


def wav(size: int = 800, rng: random.Random | None = None) -> bytes:
    rng = rng or random.Random(0)
    data = bytes(rng.getrandbits(8) for _ in range(size))
    return b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", size) + data


def multipart(parts: list[tuple[str, str | None, str | None, bytes]], boundary: str) -> bytes:
    out = b""
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def pb_varint(value: int) -> bytes:
    out = b""
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def pb_field(number: int, value: int | str | bytes) -> bytes:
    if isinstance(value, int):
        return pb_varint(number << 3) + pb_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return pb_varint(number << 3 | 2) + pb_varint(len(data)) + data


# -- the profile used by the corpus -----------------------------------------------------------------------

def make_profile(rng: random.Random) -> dict[str, str]:
    val = Values(rng)
    return {"imei": val.imei(), "oaid": val.uuid(), "android_id": val.android_id(), "mac_address": val.mac(),
            "phone_number": val.phone(), "email": val.email(), "idfa": val.uuid(upper=True),
            "imsi": val.imsi(), "iccid": val.iccid(), "serial_number": val.serial(), "gaid": val.uuid(),
            "wifi_bssid": val.mac(), "bluetooth_mac": val.mac(), "vaid": val.hex(16), "aaid": val.uuid(),
            "id_card_number": val.id_card(), "real_name": "欧阳" + val.name()[1:], "clipboard": "FLOWAUDIT-CLIP-" + val.hex(8),
            "contacts": "FLOWAUDIT-CONTACT-" + val.hex(6), "sms": "FLOWAUDIT-SMS-" + val.hex(6)}


def _encoded_forms(value: str, rng: random.Random) -> tuple[str, str]:
    """(label of the form, encoded text): the ways SDKs obfuscate identifiers without a key saying so."""
    raw = value.encode()
    forms = [
        ("md5", hashlib.md5(raw).hexdigest()), ("MD5", hashlib.md5(raw).hexdigest().upper()),
        ("sha1", hashlib.sha1(raw).hexdigest()), ("sha256", hashlib.sha256(raw).hexdigest()),
        ("SHA256", hashlib.sha256(raw).hexdigest().upper()),
        ("md5-b64", b64(hashlib.md5(raw).digest())), ("sha1-b64", b64(hashlib.sha1(raw).digest())),
        ("sha256-b64url", base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")),
        ("md5-hex-b64", b64(hashlib.md5(raw).hexdigest())), ("plain-b64", b64(raw)),
        ("upper-md5", hashlib.md5(value.upper().encode()).hexdigest()),
        ("compact-md5", hashlib.md5(value.replace(":", "").replace("-", "").encode()).hexdigest()),
    ]
    return rng.choice(forms)


# -- templates --------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, split: str, seed: int) -> None:
        self.split = split
        self.rng = random.Random(seed)
        self.val = Values(self.rng)
        self.profile = make_profile(random.Random(seed + 1))
        self.samples: list[Sample] = []

    def add(self, vendor: str, method: str, host: str, *, path: str = "/", query: str = "",
            headers: list[tuple[str, str]] | None = None, body: bytes = b"", labels: list[dict] | None = None,
            trap: bool = False, data_fields: dict[str, str] | None = None) -> None:
        self.samples.append(Sample(f"{self.split}-{len(self.samples):04d}", self.split, vendor, method, host,
                                   path, query, headers or [], body, labels or [], trap, data_fields or {}))

    def device(self) -> dict[str, str]:
        val = self.val
        if self.rng.random() < 0.3:
            # this request comes from the profiled device: its identifiers are the planted ones
            return {"imei": self.profile["imei"], "oaid": self.profile["oaid"], "android_id": self.profile["android_id"],
                    "mac": self.profile["mac_address"], "imsi": self.profile["imsi"], "model": val.model(),
                    "os": val.os_version(), "brand": val.brand()}
        return {"imei": val.imei(), "oaid": val.oaid(), "android_id": val.android_id(), "mac": val.mac(),
                "imsi": val.imsi(), "model": val.model(), "os": val.os_version(), "brand": val.brand()}

    def ua_header(self, dev: dict[str, str]) -> tuple[tuple[str, str], list[dict]]:
        ua = self.val.ua(dev["model"], dev["os"])
        return ("User-Agent", ua), [{"type": "device_model", "location": "header", "key": "User-Agent"},
                                    {"type": "os_version", "location": "header", "key": "User-Agent"}]

    def json_body(self, template: Any, *, gzip_it: bool = False, prefix: str = "") -> tuple[bytes, list[dict]]:
        plain, labels = render(template)
        body = json.dumps(plain, ensure_ascii=False).encode()
        if gzip_it:
            body = gzip.compress(body)
        return body, _label_list(labels, "body", prefix)

    def query(self, template: dict[str, Any]) -> tuple[str, list[dict]]:
        plain, labels = render(template)
        return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in plain.items()}), _label_list(labels, "query")


def tuning_templates(b: Builder) -> None:
    val, rng = b.val, b.rng

    def umeng() -> None:
        dev = b.device()
        template = {"header": {"appkey": val.hex(24), "imei": L("imei", dev["imei"]), "mc": L("mac_address", dev["mac"]),
                               "android_id": L("android_id", dev["android_id"]), "oaid": L("oaid", dev["oaid"]),
                               "device_model": L("device_model", dev["model"]), "os_version": L("os_version", dev["os"]),
                               "resolution": L("screen_info", "1080*2340"), "carrier": L("carrier", val.carrier()),
                               "sdk_version": val.version(), "timezone": 8, "access": "Wi-Fi"},
                    "content": {"analytics": {"sessions": [{"id": val.uuid(), "start_time": val.ts_ms(),
                                                            "duration": rng.randint(1000, 90000)}]}}}
        body, labels = b.json_body(template, gzip_it=True)
        ua, ua_labels = b.ua_header(dev)
        b.add("umeng", "POST", "ulogs.umeng.com", path="/unify_logs",
              headers=[("Content-Type", "application/json"), ("Msg-Type", "envelope/json"), ("Content-Encoding", "gzip"),
                       ("X-Umeng-Sdk", "Android/9.6.1"), ua],
              body=body, labels=labels + ua_labels)

    def jpush() -> None:
        dev = b.device()
        form = {"platform": "a", "imei": L("imei", dev["imei"]), "imsi": L("imsi", dev["imsi"]),
                "iccid": L("iccid", val.iccid()), "mac": L("mac_address", dev["mac"]), "android_id": L("android_id", dev["android_id"]),
                "model": L("device_model", dev["model"]), "sdk_ver": val.version(),
                "rom_version": L("os_version", "MIUI " + val.version()),
                "appkey": val.hex(24)}
        plain, labels = render(form)
        b.add("jpush", "POST", "tsis.jpush.cn", path="/v3/report",
              headers=[("Content-Type", "application/x-www-form-urlencoded")], body=urlencode(plain).encode(),
              labels=_label_list(labels, "body"))

    def getui() -> None:
        dev = b.device()
        inner = {"action": "addphoneinfo", "id": val.hex(32), "imei": L("imei", dev["imei"]),
                 "mac": L("mac_address", dev["mac"]), "model": L("device_model", dev["model"]),
                 "system_version": L("os_version", "Android " + dev["os"]),
                 "cell": {"mcc": L("carrier", "460"), "mnc": "0", "lac": rng.randint(1000, 65000),
                          "cid": L("cell_location", rng.randint(10000, 268435455))}}
        plain, labels = render(inner)
        body = json.dumps({"action": "addphoneinfo", "data": b64(json.dumps(plain))}).encode()
        b.add("getui", "POST", "sdk.open.phone.igexin.com", path="/api.php",
              headers=[("Content-Type", "application/json")], body=body, labels=_label_list(labels, "body", "data"))

    def bugly() -> None:
        dev = b.device()
        message = (pb_field(1, val.hex(16)) + pb_field(2, dev["imei"]) + pb_field(3, dev["mac"].upper())
                   + pb_field(4, pb_field(1, dev["model"]) + pb_field(2, int(dev["os"]))) + pb_field(5, val.ts_ms()))
        labels = [{"type": "imei", "location": "body", "key": "2"}, {"type": "mac_address", "location": "body", "key": "3"}]
        b.add("bugly", "POST", "android.bugly.qq.com", path="/rqd/async",
              headers=[("Content-Type", "application/x-protobuf")], body=message, labels=labels)

    def pangle() -> None:
        dev = b.device()
        template = {"request_id": val.uuid(), "ts": val.ts_ms(),
                    "app": {"appid": str(rng.randint(5000000, 5999999)), "package_name": "com.example.reader", "version": val.version()},
                    "device": {"did": val.digits(19), "imei": L("imei", dev["imei"]), "oaid": L("oaid", dev["oaid"]),
                               "android_id": L("android_id", dev["android_id"]), "gaid": L("gaid", val.uuid()),
                               "model": L("device_model", dev["model"]), "vendor": dev["brand"],
                               "os_version": L("os_version", dev["os"]), "screen_width": L("screen_info", 1080),
                               "screen_height": L("screen_info", 2400), "ip": L("ip_address", val.ip()),
                               "mac": L("mac_address", dev["mac"]), "conn_type": 1,
                               "carrier": L("carrier", val.carrier())},
                    "geo": {"lat": L("precise_location", val.lat()), "lon": val.lng()},
                    "adslots": [{"id": str(rng.randint(900000000, 999999999)), "adtype": 5, "price": round(rng.uniform(1, 99), 4)}]}
        body, labels = b.json_body(template)
        b.add("pangle", "POST", "api-access.pangolin-sdk-toutiao.com", path="/api/ad/union/sdk/get_ads/",
              headers=[("Content-Type", "application/json; charset=utf-8")], body=body, labels=labels)

    def gdt() -> None:
        dev = b.device()
        ext = {"req": {"muidtype": 1, "muid": L("imei", md5(dev["imei"])), "c_os": "android",
                       "c_osver": L("os_version", dev["os"]), "c_device": L("device_model", dev["model"]),
                       "lat": L("precise_location", val.lat()), "lng": val.lng(), "c_mac": L("mac_address", dev["mac"].upper())}}
        plain, labels = render(ext)
        # GDT's muid is the MD5 of the IMEI under a key that does not say so: only the key name "muid" (an
        # SDK field) or the profile can tell; this template labels it and relies on data_fields.
        query = urlencode({"adposcount": 1, "posid": val.digits(16), "ext": json.dumps(plain), "r": rng.random()})
        b.add("gdt", "GET", "mi.gdt.qq.com", path="/gdt_mview.fcg", query=query,
              labels=_label_list(labels, "query", "ext"),
              data_fields={"muid": "imei", "c_osver": "os_version", "c_device": "device_model", "c_mac": "mac_address"})

    def appsflyer() -> None:
        dev = b.device()
        template = {"advertiserId": L("gaid", val.uuid()), "android_id": L("android_id", dev["android_id"]),
                    "imei": L("imei", dev["imei"]), "brand": L("device_model", dev["brand"]),
                    "model": L("device_model", dev["model"]), "carrier": L("carrier", val.carrier()),
                    "af_timestamp": str(val.ts_ms()), "uid": f"{val.ts_ms()}-{val.digits(19)}",
                    "deviceData": {"cpu_abi": "arm64-v8a", "build_display_id": "RKQ1." + val.digits(6),
                                   "dim": {"x_px": L("screen_info", "1080"), "y_px": L("screen_info", "2400"), "d_dpi": L("screen_info", "440")}},
                    "app_version_name": val.version(), "sdk": dev["os"], "btl": str(rng.randint(10, 100))}
        body, labels = b.json_body(template)
        b.add("appsflyer", "POST", "launches.appsflyer.com", path="/api/v6.9/androidevent",
              query=f"app_id=com.example.reader&buildnumber={val.version()}",
              headers=[("Content-Type", "application/json")], body=body, labels=labels)

    def adjust() -> None:
        dev = b.device()
        form = {"gps_adid": L("gaid", val.uuid()), "android_uuid": val.uuid(), "created_at": "2026-11-27T10:00:00.000Z+0800",
                "device_name": L("device_model", dev["model"]), "device_manufacturer": dev["brand"],
                "os_version": L("os_version", dev["os"]), "app_token": val.hex(12), "session_count": str(rng.randint(1, 99)),
                "mcc": L("carrier", "460"), "mnc": "01", "screen_size": "normal", "screen_density": L("screen_info", "high"),
                "display_width": L("screen_info", "1080"), "display_height": L("screen_info", "2400")}
        # screen_density "high" is not a number: Adjust sends a bucket name; not labelled as screen_info.
        form["screen_density"] = "high"
        plain, labels = render(form)
        b.add("adjust", "POST", "app.adjust.com", path="/session",
              headers=[("Content-Type", "application/x-www-form-urlencoded")], body=urlencode(plain).encode(),
              labels=_label_list(labels, "body"))

    def firebase_negative() -> None:
        template = {"fid": val.hex(22), "appId": f"1:{val.digits(12)}:android:{val.hex(16)}", "authVersion": "FIS_v2",
                    "sdkVersion": "a:17.1.0", "requestId": val.uuid(), "trace_id": val.uuid(upper=True),
                    "timestamp": val.ts_ms()}
        body, labels = b.json_body(template)
        b.add("firebase", "POST", "firebaseinstallations.googleapis.com", path=f"/v1/projects/p{val.digits(6)}/installations",
              headers=[("Content-Type", "application/json"), ("X-Request-ID", val.uuid())], body=body, labels=labels, trap=True)

    def login() -> None:
        if rng.random() < 0.5:
            form = {"mobile": L("phone_number", val.phone()), "sms_code": L("credentials", val.sms_code()),
                    "device_id": L("imei", val.imei()), "t": str(val.ts_ms())}
            plain, labels = render(form)
            b.add("first-party", "POST", "api.example-app.cn", path="/v2/login/sms",
                  headers=[("Content-Type", "application/x-www-form-urlencoded")], body=urlencode(plain).encode(),
                  labels=_label_list(labels, "body"))
        else:
            template = {"account": {"phone": L("phone_number", "+86" + val.phone()), "password": L("credentials", val.password()),
                                    "email": L("email", val.email())}, "client": {"version": val.version(), "ts": val.ts_ms()}}
            body, labels = b.json_body(template)
            b.add("first-party", "POST", "api.example-app.cn", path="/v2/login/password",
                  headers=[("Content-Type", "application/json")], body=body, labels=labels)

    def realname() -> None:
        template = {"real_name": L("real_name", val.name()), "id_card": L("id_card_number", val.id_card()),
                    "passport_no": L("passport_number", val.passport()), "biz_no": val.bad_id_card(),
                    "order_no": val.bad_luhn(15), "request_id": val.uuid()}
        body, labels = b.json_body(template)
        b.add("first-party", "POST", "api.example-app.cn", path="/v1/user/verify",
              headers=[("Content-Type", "application/json")], body=body, labels=labels)

    def payment() -> None:
        template = {"bank_card_no": L("bank_card_number", val.bank_card()), "reserved_phone": L("phone_number", val.phone()),
                    "amount": round(rng.uniform(1, 999), 2), "out_trade_no": val.digits(18), "nonce_str": val.hex(32),
                    "card_holder": L("real_name", val.name())}
        body, labels = b.json_body(template)
        b.add("first-party", "POST", "pay.example-app.cn", path="/v1/bindcard",
              headers=[("Content-Type", "application/json")], body=body, labels=labels)

    def amap() -> None:
        lng, lat = val.lng(), val.lat()
        query = urlencode({"key": val.hex(32), "location": f"{lng:.6f},{lat:.6f}", "extensions": "base", "output": "json"})
        b.add("amap", "GET", "restapi.amap.com", path="/v3/geocode/regeo", query=query,
              labels=[{"type": "precise_location", "location": "query", "key": "location"}])

    def upload_photo() -> None:
        boundary = "----flowaudit" + val.hex(12)
        with_gps = rng.random() < 0.5
        gps = (val.lat(), val.lng()) if with_gps else None
        body = multipart([("token", None, None, val.hex(32).encode()),
                          ("file", "IMG_2026.jpg", "image/jpeg", jpeg(gps, rng=rng))], boundary)
        labels = [{"type": "photos", "location": "body", "key": "file"}]
        if with_gps:
            labels.append({"type": "precise_location", "location": "body", "key": "file"})
        b.add("first-party", "POST", "upload.example-app.cn", path="/v1/avatar",
              headers=[("Content-Type", f"multipart/form-data; boundary={boundary}")], body=body, labels=labels)

    def upload_audio() -> None:
        boundary = "----flowaudit" + val.hex(12)
        body = multipart([("meta", None, "application/json", json.dumps({"lang": "zh", "ts": val.ts_ms()}).encode()),
                          ("voice", "rec.wav", "audio/wav", wav(rng=rng))], boundary)
        b.add("iflytek", "POST", "iat-api.xfyun.cn", path="/v2/iat",
              headers=[("Content-Type", f"multipart/form-data; boundary={boundary}")], body=body,
              labels=[{"type": "audio", "location": "body", "key": "voice"}])

    def contacts_upload() -> None:
        # names and numbers inside contact and call records are part of those records (contacts, call_log);
        # only fields that are themselves typed keys are labelled on their own
        people = [{"name": val.name(), "phone": L("phone_number", val.phone())} for _ in range(rng.randint(2, 4))]
        template = {"uid": val.digits(10), "contacts": L("contacts", people),
                    "call_log": L("call_log", [{"number": val.phone(), "duration": rng.randint(1, 600),
                                                "date": val.ts_ms()} for _ in range(2)]),
                    "sms_list": L("sms", [{"address": L("phone_number", val.phone()), "body": "验证码 " + val.digits(6)}])}
        plain, raw_labels = render(template)
        labels = []
        seen = set()
        for type_id, key, profile in raw_labels:
            if (type_id, key) not in seen:
                seen.add((type_id, key))
                labels.append({"type": type_id, "location": "body", "key": key})
        # sms bodies with a code are free text: the digits are not an identity; the phone fields are.
        body = json.dumps(plain, ensure_ascii=False).encode()
        b.add("loan-risk", "POST", "risk.example-loan.cn", path="/v1/collect",
              headers=[("Content-Type", "application/json")], body=body, labels=labels)

    def risk_sdk() -> None:
        dev = b.device()
        template = {"smid": val.hex(32), "t": val.ts_ms(),
                    "data": {"wifi": {"ssid": L("wifi_ssid", val.ssid()), "bssid": L("wifi_bssid", val.mac())},
                             "bt_mac": L("bluetooth_mac", val.mac(upper=True)),
                             "apps": L("installed_apps", val.packages(rng.randint(4, 9))),
                             "running": L("running_processes", val.packages(3)),
                             "sensor": {"acc": L("sensor_data", [round(rng.uniform(-9.8, 9.8), 4) for _ in range(3)]),
                                        "gyro": L("sensor_data", {"x": round(rng.uniform(-1, 1), 5), "y": round(rng.uniform(-1, 1), 5),
                                                                   "z": round(rng.uniform(-1, 1), 5)})},
                             "serial": L("serial_number", val.serial()), "meid": L("meid", val.meid()),
                             "cell": {"lac": rng.randint(1000, 65000), "cid": L("cell_location", rng.randint(10000, 99999999))},
                             "clipboard": L("clipboard", "复制这段内容打开APP " + val.hex(10)),
                             "imei": L("imei", dev["imei"])}}
        body, labels = b.json_body(template, gzip_it=rng.random() < 0.5)
        headers = [("Content-Type", "application/json")]
        if body[:2] == b"\x1f\x8b" and rng.random() < 0.5:
            headers.append(("Content-Encoding", "gzip"))
        b.add("shumei", "POST", "fp-it.fengkongcloud.com", path="/deviceprofile/v4", headers=headers, body=body, labels=labels)

    def cookie_header_path() -> None:
        dev = b.device()
        phone = val.phone()
        b.add("first-party", "GET", "m.example-app.cn", path=f"/user/{phone}/profile",
              query=f"lat={val.lat():.6f}&lng={val.lng():.6f}&city={quote(val.city())}",
              headers=[("Cookie", f"sid={val.hex(32)}; imei={dev['imei']}; oaid={dev['oaid']}"),
                       ("X-Device-Mac", dev["mac"]), ("X-Request-Id", val.uuid())],
              labels=[{"type": "phone_number", "location": "path", "key": "path[1]"},
                      {"type": "precise_location", "location": "query", "key": "lat"},
                      {"type": "coarse_location", "location": "query", "key": "city"},
                      {"type": "imei", "location": "cookie", "key": "imei"},
                      {"type": "oaid", "location": "cookie", "key": "oaid"},
                      {"type": "mac_address", "location": "header", "key": "X-Device-Mac"}])

    def ios_ads() -> None:
        template = {"idfa": L("idfa", val.uuid(upper=True)), "idfv": L("idfv", val.uuid(upper=True)),
                    "os": L("os_version", "iOS 17.2"), "model": L("device_model", "iPhone15,2"),
                    "session_id": val.uuid(upper=True), "ts": val.ts_ms()}
        body, labels = b.json_body(template)
        b.add("pangle", "POST", "api-access.pangolin-sdk-toutiao.com", path="/api/ad/union/sdk/settings/",
              headers=[("Content-Type", "application/json"),
                       ("User-Agent", "Reader/5.2 (iPhone; iOS 17.2; Scale/3.00)")], body=body,
              labels=labels + [{"type": "device_model", "location": "header", "key": "User-Agent"},
                               {"type": "os_version", "location": "header", "key": "User-Agent"}])

    def profile_encoded() -> None:
        keys = ["u1", "k", "x", "p", "s2", "cd", "q", "zz"]
        types = ["imei", "oaid", "android_id", "mac_address", "phone_number", "email", "idfa", "imsi", "iccid",
                 "serial_number", "gaid", "wifi_bssid", "id_card_number", "real_name", "vaid", "aaid", "bluetooth_mac"]
        chosen = rng.sample(types, 3)
        template = {}
        for key, type_id in zip(rng.sample(keys, 3), chosen, strict=True):
            _, text = _encoded_forms(b.profile[type_id], rng)
            template[key] = L(type_id, text, profile=True)
        template["v"] = val.version()
        template["t"] = val.ts_ms()
        if rng.random() < 0.5:
            body, labels = b.json_body(template)
            b.add("unknown-sdk", "POST", "log.example-sdk.cn", path="/c", headers=[("Content-Type", "application/json")],
                  body=body, labels=labels)
        else:
            query, labels = b.query(template)
            b.add("unknown-sdk", "GET", "log.example-sdk.cn", path="/c", query=query, labels=labels)

    def traps() -> None:
        template = {"order_no": val.bad_luhn(15), "biz_id": val.bad_id_card(), "id_no": val.bad_id_card(),
                    "request_id": val.uuid(), "trace_id": val.uuid(upper=True), "ts": val.ts_ms(), "time": str(val.ts_ms()),
                    "app_version": val.version(), "sdk_ver": val.version(), "file_sha256": sha256(val.hex(40)),
                    "md5": md5(val.hex(20)), "mac": "02:00:00:00:00:00", "wifi_mac": "00:00:00:00:00:00",
                    "price": round(rng.uniform(10, 90), 5), "score": round(rng.uniform(100, 130), 5),
                    "rating": f"{rng.uniform(100, 130):.5f},{rng.uniform(20, 50):.5f}",
                    "goods": {"sku_id": val.digits(11), "weight": round(rng.uniform(1, 50), 4), "height": round(rng.uniform(100, 150), 4)},
                    "imei": val.bad_luhn(15), "session": val.hex(16), "nonce": val.hex(32),
                    "event": {"name": "page_view", "dur": rng.randint(100, 9999), "seq": val.digits(15)}}
        body, labels = b.json_body(template)
        b.add("trap", "POST", "log.example-app.cn", path="/v1/events", headers=[("Content-Type", "application/json"),
              ("X-Trace-Id", val.uuid()), ("X-B3-TraceId", val.hex(32))], body=body, labels=labels, trap=True)

    generators = [umeng, jpush, getui, bugly, pangle, gdt, appsflyer, adjust, firebase_negative, login, realname,
                  payment, amap, upload_photo, upload_audio, contacts_upload, risk_sdk, cookie_header_path, ios_ads,
                  profile_encoded, profile_encoded, traps, traps]
    for _ in range(30):
        for generator in generators:
            generator()


def heldout_templates(b: Builder) -> None:
    val, rng = b.val, b.rng

    def talkingdata() -> None:
        dev = b.device()
        template = {"deviceId": L("imei", dev["imei"]), "deviceImei": L("imei", val.imei()), "macAddr": L("mac_address", dev["mac"].upper()),
                    "androidId": L("android_id", dev["android_id"]), "osVer": L("os_version", dev["os"]),
                    "phoneBrand": L("device_model", dev["brand"]), "phoneModel": L("device_model", dev["model"]),
                    "simOperator": L("carrier", "46000"), "screenResolution": L("screen_info", "1080x2400"),
                    "eventTime": val.ts_ms(), "sessionId": val.uuid()}
        body = zlib.compress(json.dumps(render(template)[0]).encode())
        b.add("talkingdata", "POST", "api.talkingdata.com", path="/g/d", headers=[("Content-Type", "application/octet-stream")],
              body=body, labels=_label_list(render(template)[1], "body"))

    def sensors() -> None:
        dev = b.device()
        event = {"distinct_id": val.uuid(), "type": "track", "event": "$AppStart", "time": val.ts_ms(),
                 "properties": {"$os_version": L("os_version", dev["os"]), "$model": L("device_model", dev["model"]),
                                "$manufacturer": L("device_model", dev["brand"]), "$carrier": L("carrier", "中国联通"),
                                "$screen_width": L("screen_info", 1080), "$screen_height": L("screen_info", 2340),
                                "$ip": L("ip_address", val.ip()), "$latitude": L("precise_location", val.lat()),
                                "$longitude": val.lng(), "$device_id": L("android_id", dev["android_id"]),
                                "$app_version": val.version(), "$lib_version": val.version()}}
        plain, labels = render(event)
        data = b64(gzip.compress(json.dumps([plain]).encode()))
        body = urlencode({"crc": rng.randint(-2**31, 2**31), "gzip": "1", "data_list": data}).encode()
        b.add("sensorsdata", "POST", "sa.example-app.cn", path="/sa", query="project=production",
              headers=[("Content-Type", "application/x-www-form-urlencoded")], body=body,
              labels=_label_list(labels, "body", "data_list[]"))

    def baidu() -> None:
        dev = b.device()
        payload = {"he": {"i": L("imei", dev["imei"]), "m": L("mac_address", dev["mac"]), "a": L("android_id", dev["android_id"]),
                          "dm": dev["model"], "o": dev["os"], "w": 1080, "h": 2400},
                   "ev": [{"id": "launch", "t": val.ts_ms()}]}
        plain, labels = render(payload)
        form = {"data": json.dumps(plain)}
        b.add("baidu-mobstat", "POST", "hmma.baidu.com", path="/app.gif", headers=[("Content-Type", "application/x-www-form-urlencoded")],
              body=urlencode(form).encode(), labels=_label_list(labels, "body", "data"))

    def kuaishou() -> None:
        dev = b.device()
        template = {"deviceInfo": {"imeis": L("imei", [dev["imei"], val.imei()]), "oaid": L("oaid", dev["oaid"]),
                                   "androidId": L("android_id", dev["android_id"]), "deviceModel": L("device_model", dev["model"]),
                                   "osVersion": L("os_version", dev["os"]), "screenSize": {"width": 1080, "height": 2400}},
                    "networkInfo": {"ip": L("ip_address", val.ip()), "operatorType": 1, "connectionType": 100,
                                    "mac": L("mac_address", dev["mac"])},
                    "geoInfo": {"latitude": L("precise_location", val.lat(5)), "longitude": val.lng(5)},
                    "appInfo": {"appId": str(rng.randint(500000, 599999)), "version": val.version()}, "requestId": val.uuid()}
        plain, labels = render(template)
        labels = [(t, k, p) for t, k, p in labels]
        body, _ = b.json_body(plain)
        b.add("kuaishou", "POST", "open.e.kuaishou.com", path="/rest/e/v3/open/univ", headers=[("Content-Type", "application/json")],
              body=body, labels=_label_list(labels, "body"))

    def hms() -> None:
        dev = b.device()
        claims = {"sub": val.hex(24), "mobile": L("phone_number", val.phone()), "deviceUdid": val.hex(64),
                  "exp": int(val.ts_ms() / 1000)}
        plain, labels = render(claims)
        token = ".".join([base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()).decode().rstrip("="),
                          base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("="), val.hex(40)])
        form = {"vaid": L("vaid", val.hex(16)), "aaid": L("aaid", val.uuid()), "oaid": L("oaid", dev["oaid"]),
                "deviceType": "0", "pushToken": val.hex(64)}
        fplain, flabels = render(form)
        b.add("huawei-hms", "POST", "push-api.cloud.huawei.com", path="/v1/token/register",
              headers=[("Authorization", f"Bearer {token}"), ("Content-Type", "application/x-www-form-urlencoded")],
              body=urlencode(fplain).encode(),
              labels=_label_list(flabels, "body") + _label_list(labels, "header", "Authorization"))

    def xiaomi_push() -> None:
        dev = b.device()
        kv = f"imei_md5={md5(dev['imei'])};mac={dev['mac']};model={dev['model']};ts={val.ts_ms()}"
        template = {"devinfo": kv, "appid": val.digits(16), "regid": val.hex(40)}
        body = json.dumps(template).encode()
        b.add("xiaomi-push", "POST", "register.xmpush.xiaomi.com", path="/pass/v2/register",
              headers=[("Content-Type", "application/json")], body=body,
              labels=[{"type": "imei", "location": "body", "key": "devinfo.imei_md5"},
                      {"type": "mac_address", "location": "body", "key": "devinfo.mac"},
                      {"type": "device_model", "location": "body", "key": "devinfo.model"}])

    def tongdun() -> None:
        dev = b.device()
        template = {"blackBox": val.hex(64), "wifiList": L("wifi_ssid", [val.ssid(), val.ssid()]), "wifiBssid": L("wifi_bssid", val.mac(upper=True)),
                    "bluetoothMac": L("bluetooth_mac", val.mac()), "installedPackages": L("installed_apps", ",".join(val.packages(5))),
                    "gpsLat": L("precise_location", val.lat()), "gpsLng": val.lng(), "cellLac": rng.randint(1000, 65000),
                    "simSerial": L("iccid", val.iccid()), "subscriberId": L("imsi", dev["imsi"]),
                    "accelerometer": L("sensor_data", f"{rng.uniform(-9, 9):.4f},{rng.uniform(-9, 9):.4f},{rng.uniform(-9, 9):.4f}"),
                    "buildSerial": L("serial_number", val.serial())}
        plain, labels = render(template)
        data = json.dumps(plain).encode().hex()
        b.add("tongdun", "POST", "fp.fraudmetrix.cn", path="/android/profile.json",
              headers=[("Content-Type", "application/json")], body=json.dumps({"v": "4.2", "payload": data}).encode(),
              labels=_label_list(labels, "body", "payload"))

    def alipay() -> None:
        template = {"userMobile": L("phone_number", val.phone()), "certNo": L("id_card_number", val.id_card()),
                    "certName": L("real_name", val.name()), "cardNo": L("bank_card_number", val.bank_card()),
                    "payPwd": L("credentials", val.digits(6)), "outTradeNo": val.digits(20), "totalAmount": "88.00",
                    "timestamp": "2026-11-27 10:00:00"}
        body, labels = b.json_body(template)
        b.add("alipay", "POST", "mobilegw.alipay.com", path="/mgw.htm", headers=[("Content-Type", "application/json")],
              body=body, labels=labels)

    def branch() -> None:
        template = {"hardware_id": L("android_id", val.android_id()), "is_hardware_id_real": True,
                    "google_advertising_id": L("gaid", val.uuid()), "brand": L("device_model", val.brand()),
                    "model": L("device_model", val.model()), "screen_dpi": L("screen_info", 440), "os_version": L("os_version", 33),
                    "local_ip": "192.168.1." + str(rng.randint(2, 250)), "retryNumber": 0, "instrumentation": {"v1/install-qwt": "0"}}
        body, labels = b.json_body(template)
        b.add("branch", "POST", "api2.branch.io", path="/v1/install", headers=[("Content-Type", "application/json")],
              body=body, labels=labels)

    def facebook() -> None:
        form = {"advertiser_id": L("gaid", val.uuid()), "anon_id": "XZ" + val.uuid(), "application_tracking_enabled": "1",
                "event": "MOBILE_APP_INSTALL", "extinfo": json.dumps(["a2", "com.example", "1", "1.0", "13", "Pixel 7", "en_US", "GMT+08:00", "中国移动", 1080, 2400, "2.75", 8, 100, 20, "Asia/Shanghai"])}
        plain, labels = render(form)
        b.add("facebook", "POST", "graph.facebook.com", path="/v17.0/1234567890/activities",
              headers=[("Content-Type", "application/x-www-form-urlencoded")], body=urlencode(plain).encode(),
              labels=_label_list(labels, "body"))

    def grpc_like() -> None:
        dev = b.device()
        inner = pb_field(1, dev["imei"]) + pb_field(2, val.uuid()) + pb_field(3, val.email()) + pb_field(4, val.ts_ms())
        message = pb_field(1, val.hex(16)) + pb_field(7, inner)
        body = b"\x00" + struct.pack(">I", len(message)) + message
        b.add("grpc-analytics", "POST", "collect.example-cloud.cn", path="/analytics.v1.Collector/Report",
              headers=[("Content-Type", "application/grpc")], body=body,
              labels=[{"type": "imei", "location": "body", "key": "7.1"},
                      {"type": "email", "location": "body", "key": "7.3"}])

    def profile_encoded() -> None:
        keys = ["h1", "dk", "uid2", "sig_v", "fp", "did", "ck"]
        types = ["imei", "oaid", "android_id", "mac_address", "phone_number", "email", "idfa", "imsi", "serial_number",
                 "gaid", "wifi_bssid", "id_card_number", "clipboard", "contacts", "sms"]
        chosen = rng.sample(types, 3)
        template = {}
        for key, type_id in zip(rng.sample(keys, 3), chosen, strict=True):
            _, text = _encoded_forms(b.profile[type_id], rng)
            template[key] = L(type_id, text, profile=True)
        plain, labels = render(template)
        cookie = "; ".join(f"{k}={quote(v)}" for k, v in plain.items())
        b.add("unknown-sdk", "GET", "t.example-track.cn", path="/p.gif", headers=[("Cookie", cookie)],
              labels=_label_list(labels, "cookie"))

    def planted_text() -> None:
        template = {"content": L("clipboard", "share " + b.profile["clipboard"] + " now"),
                    "memo": L("contacts", b.profile["contacts"]), "note": L("sms", b.profile["sms"])}
        for item in template.values():
            item.profile = True
        body, labels = b.json_body(template)
        b.add("unknown-sdk", "POST", "t.example-track.cn", path="/u", headers=[("Content-Type", "application/json")],
              body=body, labels=labels)

    def traps() -> None:
        template = {"orderNumber": val.bad_luhn(15), "transactionId": val.digits(16), "idNumber": val.bad_id_card(),
                    "requestUuid": val.uuid(), "spanId": val.hex(16), "createdAtMs": val.ts_ms(), "buildVersion": val.version(),
                    "apkSha256": sha256(val.hex(30)), "placeholderMac": "02:00:00:00:00:00", "itemPrice": round(rng.uniform(10, 90), 5),
                    "userScore": round(rng.uniform(100, 170), 5), "fileMd5": md5(val.hex(16)),
                    "position": {"x": round(rng.uniform(0, 1000), 4), "y": round(rng.uniform(0, 1000), 4)},
                    "couponCode": val.digits(11), "deviceMac": "00:00:00:00:00:00"}
        body, labels = b.json_body(template)
        b.add("trap", "POST", "api.example-shop.cn", path="/v3/cart", headers=[("Content-Type", "application/json"),
              ("traceparent", f"00-{val.hex(32)}-{val.hex(16)}-01")], body=body, labels=labels, trap=True)

    generators = [talkingdata, sensors, baidu, kuaishou, hms, xiaomi_push, tongdun, alipay, branch, facebook, grpc_like,
                  profile_encoded, profile_encoded, planted_text, traps, traps]
    for _ in range(20):
        for generator in generators:
            generator()


def fresh_templates(b: Builder) -> None:
    """Written after the detectors were frozen and evaluated once, never used to change them."""
    val, rng = b.val, b.rng

    def applog() -> None:
        dev = b.device()
        template = {"magic_tag": "ss_app_log",
                    "header": {"device_id": str(rng.randint(10**18, 10**19 - 1)), "udid": L("imei", dev["imei"]),
                               "openudid": L("android_id", dev["android_id"]), "mc": L("mac_address", dev["mac"]),
                               "build_serial": L("serial_number", val.serial()), "os_api": 30,
                               "device_model": L("device_model", dev["model"]), "device_brand": L("device_model", dev["brand"]),
                               "resolution": L("screen_info", "2340*1080"), "dpi": L("screen_info", 440),
                               "cdid": val.uuid(), "clientudid": val.uuid(), "oaid": L("oaid", dev["oaid"]),
                               "carrier": L("carrier", "China Mobile"), "mcc_mnc": L("carrier", "46000"),
                               "app_version": val.version(), "update_version_code": rng.randint(10**7, 10**8)},
                    "event_v3": [{"event": "app_launch", "local_time_ms": val.ts_ms(), "session_id": val.uuid()}]}
        body, labels = b.json_body(template, gzip_it=True)
        b.add("bytedance-applog", "POST", "log.snssdk.com", path="/service/2/app_log/", query="aid=1128&tt_data=a",
              headers=[("Content-Type", "application/json; charset=utf-8"), ("Content-Encoding", "gzip"),
                       ("X-SS-STUB", md5(val.hex(10)).upper())], body=body, labels=labels)

    def mobtech() -> None:
        dev = b.device()
        form = {"duid": val.hex(40), "imei": L("imei", dev["imei"]), "mac": L("mac_address", dev["mac"]),
                "model": L("device_model", dev["model"]), "sysver": L("os_version", dev["os"]),
                "carrier": L("carrier", "46001"), "ssid": L("wifi_ssid", val.ssid()), "bssid": L("wifi_bssid", val.mac()),
                "lat": L("precise_location", f"{val.lat():.6f}"), "lon": f"{val.lng():.6f}", "plat": "1",
                "appkey": val.hex(16), "networktype": "wifi"}
        plain, labels = render(form)
        b.add("mobtech", "POST", "api.share.mob.com", path="/conf5",
              headers=[("Content-Type", "application/x-www-form-urlencoded")], body=urlencode(plain).encode(),
              labels=_label_list(labels, "body"))

    def oppo_push() -> None:
        dev = b.device()
        template = {"regId": val.hex(32), "imei": L("imei", dev["imei"]), "ouid": val.hex(64), "duid": val.hex(64),
                    "model": L("device_model", dev["model"]), "romVersion": L("os_version", "ColorOS V" + val.version()),
                    "androidVersion": L("os_version", dev["os"]), "appPackage": "com.example.reader",
                    "sdkVersion": val.version(), "timestamp": val.ts_ms()}
        body, labels = b.json_body(template)
        b.add("oppo-push", "POST", "api-push.heytapmobi.com", path="/v1/register",
              headers=[("Content-Type", "application/json")], body=body, labels=labels)

    def pixel() -> None:
        idfa = val.uuid(upper=True)
        params = {"idfa": L("idfa", idfa), "ip": L("ip_address", val.ip()), "os": "ios", "osv": L("os_version", "17.1.2"),
                  "lat": L("precise_location", f"{val.lat():.5f}"), "lon": f"{val.lng():.5f}",
                  "carrier": L("carrier", "China Unicom"), "ts": str(val.ts_ms()), "cb": str(rng.randint(10**8, 10**9)),
                  "devicetype": L("device_model", "iPhone14,5")}
        query, labels = b.query(params)
        b.add("ad-pixel", "GET", "track.example-adx.cn", path="/imp", query=query, labels=labels)

    def multipart_log() -> None:
        dev = b.device()
        boundary = "Boundary+" + val.hex(16).upper()
        log = {"deviceInfo": {"imei": L("imei", dev["imei"]), "androidId": L("android_id", dev["android_id"]),
                              "phoneNumber": L("phone_number", val.phone())},
               "crash": {"thread": "main", "stack": "java.lang.NullPointerException at com.example.a.b(B.java:42)"}}
        plain, labels = render(log)
        part = gzip.compress(json.dumps(plain).encode())
        body = multipart([("appId", None, None, val.hex(8).encode()),
                          ("log", "crash.gz", "application/octet-stream", part)], boundary)
        b.add("crash-sdk", "POST", "crash.example-apm.cn", path="/upload",
              headers=[("Content-Type", f"multipart/form-data; boundary={boundary}")], body=body,
              labels=_label_list(labels, "body", "log"))

    def cookie_b64() -> None:
        dev = b.device()
        inner = {"o": L("oaid", dev["oaid"]), "m": L("mac_address", dev["mac"].upper()), "v": val.version()}
        plain, labels = render(inner)
        cookie = "ucid=" + base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=") + f"; lang=zh; t={val.ts_ms()}"
        b.add("first-party", "GET", "m.example-news.cn", path="/feed", headers=[("Cookie", cookie)],
              labels=_label_list(labels, "cookie", "ucid"))

    def wrapped() -> None:
        inner = {"mobile": L("phone_number", val.phone()), "idNo": L("id_card_number", val.id_card()),
                 "name": "张三", "bankCardNo": L("bank_card_number", val.bank_card())}
        plain, labels = render(inner)
        template = {"payload": {"data": quote(json.dumps(plain, ensure_ascii=False))}, "sign": md5(val.hex(8))}
        body = json.dumps(template).encode()
        b.add("first-party", "POST", "loan.example-fin.cn", path="/api/apply", headers=[("Content-Type", "application/json")],
              body=body, labels=_label_list(labels, "body", "payload.data"))

    def traps() -> None:
        template = {"orderSn": val.bad_luhn(15), "snowflakeId": str(rng.randint(10**18, 10**19 - 1)),
                    "certNoMasked": "110***********1234", "traceId": val.uuid(), "x-request": val.hex(32),
                    "appBuild": val.version(), "patchMd5": md5(val.hex(12)), "bundleSha1": sha1(val.hex(12)),
                    "product": {"longitudeScore": round(rng.uniform(100, 130), 6), "latitudeRank": round(rng.uniform(20, 50), 6),
                                "price": f"{rng.uniform(100, 130):.5f},{rng.uniform(20, 50):.5f}"},
                    "serverTimeMs": val.ts_ms(), "mac": "02:00:00:00:00:00", "imei": "", "oaid": "00000000-0000-0000-0000-000000000000",
                    "invoiceNo": val.digits(16), "version": "4.3.2.1"}
        body, labels = b.json_body(template)
        b.add("trap", "POST", "api.example-mall.cn", path="/v2/order", headers=[("Content-Type", "application/json"),
              ("X-Request-Id", val.uuid())], body=body, labels=labels, trap=True)

    generators = [applog, mobtech, oppo_push, pixel, multipart_log, cookie_b64, wrapped, traps]
    for _ in range(20):
        for generator in generators:
            generator()


def build(split: str = "tuning") -> tuple[list[Sample], dict[str, str]]:
    """(samples, device profile) of one split, generated deterministically from its seed."""
    builder = Builder(split, SEEDS[split])
    if split == "tuning":
        tuning_templates(builder)
    elif split == "heldout":
        heldout_templates(builder)
    else:
        fresh_templates(builder)
    return builder.samples, builder.profile


def main() -> None:
    for split in SEEDS:
        samples, profile = build(split)
        with open(HERE / f"{split}.jsonl", "w", encoding="utf-8") as out:
            out.write(json.dumps({"profile": profile}, ensure_ascii=False) + "\n")
            for sample in samples:
                out.write(json.dumps(sample.to_json(), ensure_ascii=False) + "\n")
        print(f"{split}: {len(samples)} samples")


if __name__ == "__main__":
    main()
