"""Builds the bundled demo: one run of the fictional app 旅行天气 (com.example.lvxingweather).

Everything here is synthetic: identifiers are made up (the IMEI only passes the Luhn check), hosts of the
app itself live under example.cn. Run `python captures/make_demo.py` to regenerate demo.har (and
demo.pcapng when the capture writer is available); the output is deterministic.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC).timestamp()

IMEI = "867530012345672"
OAID = "a1b2c3d4-0000-4e5f-9a8b-c0ffee123456"
ANDROID_ID = "9774d56d682e549c"
MAC = "3c:28:6d:1a:2b:3c"
PHONE = "13812345678"
LNG, LAT = "116.397128", "39.916527"
UA = "Dalvik/2.1.0 (Linux; U; Android 13; PGT-AN10 Build/HONORPGT-AN10)"
APP_HOST = "api.lvxing-weather.example.cn"
CDN_HOST = "cdn.lvxing-weather.example.cn"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zip_with(names: list[str]) -> bytes:
    """First bytes of a ZIP archive whose first entries carry the given names (enough for sniffing)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
            archive.writestr(info, b"\0" * 64)
    return buffer.getvalue()


class Demo:
    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.rng = random.Random(20261120)

    def add(self, t: float, method: str, url: str, *, headers: dict[str, str] | None = None,
            body: bytes | str | None = None, mime: str = "", status: int = 200,
            response_headers: dict[str, str] | None = None, response_body: bytes = b"{}",
            response_mime: str = "application/json") -> None:
        request_headers = {"User-Agent": UA, **(headers or {})}
        entry: dict = {
            "startedDateTime": datetime.fromtimestamp(T0 + t, UTC).isoformat().replace("+00:00", "Z"),
            "time": 42,
            "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1",
                        "headers": [{"name": k, "value": v} for k, v in request_headers.items()],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": status, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Content-Type", "value": response_mime},
                                     *({"name": k, "value": v} for k, v in (response_headers or {}).items())],
                         "cookies": [], "redirectURL": "", "headersSize": -1, "bodySize": len(response_body),
                         "content": {"size": len(response_body), "mimeType": response_mime,
                                     "text": base64.b64encode(response_body).decode(), "encoding": "base64"}},
            "cache": {}, "timings": {"send": 1, "wait": 40, "receive": 1},
        }
        if body is not None:
            raw = body.encode() if isinstance(body, str) else body
            entry["request"]["postData"] = {"mimeType": mime, "text": raw.decode("utf-8")}
            entry["request"]["bodySize"] = len(raw)
        self.entries.append(entry)

    def build(self) -> list[dict]:
        # before consent ----------------------------------------------------------------------------
        envelope = {"header": {"appkey": "5f8d2a1b9c0e7d3a4b6c8e1f", "sdk_version": "9.6.3", "os": "Android",
                               "os_version": "13", "device_model": "PGT-AN10", "channel": "huawei"},
                    "analytics": {"sessions": [{"id": "D41D8CD98F00B204", "start_time": int((T0 + 2) * 1000)}]},
                    "imprint": {"imei": IMEI, "oaid": OAID, "android_id": ANDROID_ID}}
        self.add(2, "POST", "https://ulogs.umeng.com/unify_logs",
                 headers={"Msg-Type": "envelope/json", "Content-Type": "envelope/json",
                          "X-Umeng-Sdk": "a/9.6.3 9.6.3/Android/旅行天气/PGT-AN10/13 5f8d2a1b9c0e7d3a4b6c8e1f",
                          "X-Umeng-UTC": str(int((T0 + 2) * 1000))},
                 body=json.dumps({"content": base64.b64encode(_gzip(json.dumps(envelope).encode())).decode()}),
                 mime="envelope/json")
        self.add(4, "GET", "https://mi.gdt.qq.com/gdt_mview.fcg?" + urlencode({
            "posid": "8041234567890123", "ext": json.dumps({"req": {"m3": hashlib.md5(IMEI.encode()).hexdigest(),  # noqa: S324
                                                                  "oaid": OAID, "lat": LAT, "lng": LNG,
                                                                  "c_device": "PGT-AN10", "c_osver": "13"}})}))
        self.add(6, "POST", "https://sdk.open.api.igexin.com/api.php",
                 headers={"Content-Type": "application/x-www-form-urlencoded"},
                 body=urlencode({"action": "register", "appid": "gt7Xk2Lm9QpR4sTv", "mac": MAC,
                                 "deviceid": ANDROID_ID, "model": "PGT-AN10", "system_version": "13"}),
                 mime="application/x-www-form-urlencoded")
        self.add(9, "POST", f"https://{APP_HOST}/v1/config", headers={"Content-Type": "application/json"},
                 body=json.dumps({"channel": "huawei", "version": "2.0.3"}), mime="application/json")
        # the device opened the magic URL once the user tapped "agree" on the privacy prompt
        self.add(20, "GET", "http://flowaudit.mark/consent?label=agreed%20on%20first-run%20dialog",
                 response_mime="text/html", response_body=b"<p>marked</p>")
        # after consent -------------------------------------------------------------------------------
        for i in range(60):
            lng = f"{float(LNG) + self.rng.uniform(-0.0004, 0.0004):.6f}"
            lat = f"{float(LAT) + self.rng.uniform(-0.0004, 0.0004):.6f}"
            self.add(22 + i * 4.5, "GET", "https://restsdk.amap.com/v3/geocode/regeo?" + urlencode({
                "key": "3f6d1c2b7a9e8d4c5b6a7f8e9d0c1b2a", "location": f"{lng},{lat}", "extensions": "base",
                "output": "json", "platform": "Android", "sdkversion": "9.8.3", "diu": OAID}))
        self.add(24, "POST", "https://android.bugly.qq.com/rqd/async?aid=" + "f3b2a1c0-1d2e-4f50-8a9b-0c1d2e3f4a5b",
                 headers={"Content-Type": "application/octet-stream"},
                 body=json.dumps({"model": "PGT-AN10", "osVer": "Android 13,level 33", "appVer": "2.0.3",
                                  "crashType": "java", "stack": "java.lang.NullPointerException at ..."}),
                 mime="application/json")
        self.add(30, "POST", f"http://{APP_HOST}/v1/login", headers={"Content-Type": "application/x-www-form-urlencoded"},
                 body=urlencode({"phone": PHONE, "sms_code": "482913", "device": ANDROID_ID}),
                 mime="application/x-www-form-urlencoded")
        self.add(45, "POST", "https://collect.adtrack-x.example.com/v2/apps", headers={"Content-Type": "application/json"},
                 body=json.dumps({"did": OAID, "apps": ["com.tencent.mm", "com.eg.android.AlipayGphone",
                                                         "com.ss.android.ugc.aweme", "com.sina.weibo",
                                                         "com.taobao.taobao", "com.jingdong.app.mall"]}),
                 mime="application/json")
        apk = _zip_with(["AndroidManifest.xml", "classes.dex", "resources.arsc"])
        self.add(120, "GET", f"https://{CDN_HOST}/update/lvxing-2.1.0.apk", response_body=apk[:4096],
                 response_mime="application/vnd.android.package-archive")
        patch = _zip_with(["classes.dex", "META-INF/MANIFEST.MF", "assets/dex_meta.txt"])
        self.add(150, "GET", f"https://{CDN_HOST}/patch/patch_signed_7zip.apk?tinker_id=2.0.3-base",
                 response_body=patch[:4096], response_mime="application/octet-stream")
        events = [{"distinct_id": OAID, "event": "$AppStart", "properties": {"$os": "Android", "$os_version": "13",
                                                                              "$model": "PGT-AN10", "$oaid": OAID}}]
        self.add(60, "POST", f"https://{APP_HOST}/sa?project=production",
                 headers={"Content-Type": "application/x-www-form-urlencoded"},
                 body=urlencode({"data_list": base64.b64encode(_gzip(json.dumps(events).encode())).decode(),
                                 "gzip": "1", "crc": "-1183937311"}),
                 mime="application/x-www-form-urlencoded")
        opaque = bytes(self.rng.getrandbits(8) for _ in range(768))
        self.add(70, "POST", "https://fp-it.fengkongcloud.com/deviceprofile/v4",
                 headers={"Content-Type": "application/json"},
                 body=json.dumps({"organization": "RlokQwRlVjUrTUlkIqOg", "os": "android",
                                  "data": base64.b64encode(opaque).decode(), "encrypt": 1}),
                 mime="application/json")
        self.entries.sort(key=lambda e: e["startedDateTime"])
        return self.entries


def har(entries: list[dict]) -> dict:
    return {"log": {"version": "1.2", "creator": {"name": "flowaudit demo generator", "version": "1"},
                    "pages": [], "entries": entries}}


PINNED_HOST = "api-access.pangolin-sdk-toutiao.com"   # the Pangle SDK pins its certificate: only its SNI is seen
QUIC_HOST = "dns.weixin.qq.com"


def capture_items(entries: list[dict]) -> list:
    """The same run as seen by a packet capture on the phone's Wi-Fi: cleartext HTTP in full, DNS queries,
    and for HTTPS only the TLS ClientHello's server name (no key log for the demo)."""
    from urllib.parse import urlsplit

    from flowaudit.readers.capture_synth import DnsQuery, HttpExchange, QuicHello, TlsHello

    phone, resolved = "192.168.31.57", set()
    items: list = []
    for number, entry in enumerate(entries):
        ts = datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00")).timestamp()
        url = urlsplit(entry["request"]["url"])
        host = url.hostname or ""
        server = f"203.0.113.{10 + number % 200}"
        if host not in resolved and host != "flowaudit.mark":
            items.append(DnsQuery(ts - 0.05, phone, host, answer=server))
            resolved.add(host)
        if url.scheme == "https":
            items.append(TlsHello(ts, phone, f"{server}:443", host))
            continue
        request = entry["request"]
        body = request.get("postData", {}).get("text", "").encode()
        response = base64.b64decode(entry["response"]["content"].get("text", ""))
        items.append(HttpExchange(ts, phone, f"{server}:80", host, request["method"],
                                  url.path + (f"?{url.query}" if url.query else ""),
                                  [(h["name"], h["value"]) for h in request["headers"]], body,
                                  entry["response"]["status"],
                                  [(h["name"], h["value"]) for h in entry["response"]["headers"]], response))
    items.append(DnsQuery(T0 + 3.0, phone, PINNED_HOST, answer="203.0.113.250"))
    items.append(TlsHello(T0 + 3.1, phone, "203.0.113.250:443", PINNED_HOST))
    items.append(QuicHello(T0 + 40.0, phone, "203.0.113.251:443", QUIC_HOST))
    return sorted(items, key=lambda item: item.ts)


def main() -> None:
    entries = Demo().build()
    (HERE / "demo.har").write_text(json.dumps(har(entries), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'demo.har'} ({len(entries)} requests)", file=sys.stderr)
    from flowaudit.readers.capture_synth import write_capture

    packets = write_capture(HERE / "demo.pcapng", capture_items(entries), fmt="pcapng")
    print(f"wrote {HERE / 'demo.pcapng'} ({packets} packets)", file=sys.stderr)


if __name__ == "__main__":
    main()
