"""Personal-data detection over decoded request fields.

Three kinds of evidence, strongest first:
  * a device-profile match (a value the tester planted, in any of its precomputed forms): confidence 1.0;
  * key-name evidence (the attributed SDK's known fields, or a built-in table of key names) plus a value
    that fits the type (checksums, shapes);
  * value shape with validation alone, for shapes that are unambiguous (IMEI with Luhn, ID card with the
    GB 11643 checksum, bank card with Luhn and BIN, MAC with separators, e-mail, mobile numbers, package
    lists), with negative key evidence (time, order, trace, version...) vetoing shape-only matches.
UUID- and hex-shaped identifiers (OAID, GAID, IDFA, Android ID...) are never reported on shape alone:
request and trace ids look the same.

IP addresses: only globally routable ones count (validators.public_ip). Private, loopback, link-local and
CGNAT addresses identify nobody on the internet and are mostly configuration; the request's own Host and
connection headers are not inspected at all (decode.NOISE_HEADERS).

Detections are deduplicated: one per (type, location, key path); the same value seen in an outer and an
inner layer of one field is reported once, at the deepest layer. Array items share a key path (apps[]).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from flowaudit.core import validators as v
from flowaudit.core.decode import Budget, DecodeResult, Field, Recent, decode_observation, exif_gps
from flowaudit.core.model import Detection, Observation
from flowaudit.core.profile import DeviceProfile
from flowaudit.core.redact import preview, value_hash


@dataclass(slots=True)
class DetectionResult:
    detections: list[Detection] = field(default_factory=list)
    opaque: bool = False            # an undecodable high-entropy payload: a coverage gap, not "clean"
    notes: list[str] = field(default_factory=list)   # budget exhausted, decode errors...


# -- key names --------------------------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^a-z0-9]")
_NORM_CACHE: dict[str, str] = {}


def norm_key(name: str) -> str:
    norm = _NORM_CACHE.get(name)
    if norm is None:
        norm = _NON_ALNUM.sub("", name.lower())
        if len(_NORM_CACHE) < 65536:
            _NORM_CACHE[name] = norm
    return norm


_KEYS: dict[str, tuple[str, ...]] = {
    "imei": ("imei", "imei1", "imei2", "deviceimei", "imeinum", "imeino", "phoneimei", "imeiid"),
    "meid": ("meid", "devicemeid", "meidnum"),
    "imsi": ("imsi", "subscriberid", "simimsi", "imsinum", "imsi1", "imsi2"),
    "iccid": ("iccid", "simserial", "simserialnumber", "simsn", "iccid1", "iccid2", "simid"),
    "serial_number": ("serial", "serialno", "serialnumber", "sn", "buildserial", "deviceserial", "hwserial",
                      "rosserialno", "devicesn", "hardwareserial", "serialnum"),
    "android_id": ("androidid", "anid", "adrid", "aid", "ssaid", "andid", "androidids", "openudid"),
    "oaid": ("oaid", "oaidvalue", "msaoaid", "hmsoaid", "deviceoaid"),
    "vaid": ("vaid", "msavaid"),
    "aaid": ("aaid", "msaaaid"),
    "gaid": ("gaid", "gpsadid", "advertiserid", "advertisingid", "googleadid", "gadid", "googleaid",
             "advertisingidentifier", "googleadvertisingid", "gpsadvertisingid", "gaidvalue", "ifagoogle"),
    "idfa": ("idfa", "iosifa", "ifa", "idfavalue", "appleifa", "iosadid", "iosidfa"),
    "idfv": ("idfv", "vendorid", "identifierforvendor", "iosidfv", "idfvvalue"),
    "mac_address": ("mac", "macaddress", "wifimac", "wlanmac", "macaddr", "devicemac", "mc", "localmac",
                    "ethmac", "mac1", "macid"),
    "bluetooth_mac": ("btmac", "bluetoothmac", "bluetoothaddress", "btaddr", "blemac", "btaddress", "bluemac"),
    "wifi_ssid": ("ssid", "wifissid", "wifiname", "apname", "wifissids", "connectedwifi", "wlanname", "wifilist",
                  "wifis", "wifiscan", "scanresults", "nearbywifi", "aplist", "ssidlist", "wifiinfo"),
    "wifi_bssid": ("bssid", "wifibssid", "apmac", "routermac", "wifimacaddress", "bssids"),
    "ip_address": ("ip", "ipaddr", "ipaddress", "clientip", "userip", "publicip", "wanip", "ipv4", "ipv6",
                   "deviceip", "devip", "remoteip", "realip", "ipadd", "netip", "outip", "cip"),
    "phone_number": ("phone", "phonenumber", "phonenum", "mobile", "mobilephone", "mobileno", "msisdn", "tel",
                     "telephone", "cellphone", "phoneno", "usermobile", "linenumber", "mobilenumber",
                     "telnum", "bindphone", "contactphone", "userphone", "shoujihao", "sjh"),
    "email": ("email", "mail", "emailaddress", "useremail", "emailaddr", "contactemail"),
    "real_name": ("realname", "truename", "fullname", "certname", "idname", "xingming", "customername",
                  "personname", "username_real", "legalname", "cardholder", "holdername", "ownername"),
    "id_card_number": ("idcard", "idcardno", "idno", "idnumber", "certno", "certificateno", "identitycard",
                       "sfz", "sfzh", "idcardnumber", "certid", "identityno", "identitynumber", "idcardnum",
                       "certnum", "residentid"),
    "passport_number": ("passport", "passportno", "passportnumber", "huzhao", "passportid", "passportnum"),
    "bank_card_number": ("bankcard", "bankcardno", "cardno", "cardnumber", "bankno", "pan", "creditcard",
                         "bankcardnumber", "bankaccount", "accountno", "cardnum", "debitcard", "creditcardno"),
    "credentials": ("password", "passwd", "pwd", "pass", "passcode", "loginpwd", "paypwd", "otp", "smscode",
                    "verifycode", "verificationcode", "vcode", "checkcode", "yzm", "loginpassword",
                    "userpwd", "userpassword", "oldpassword", "newpassword", "paypassword", "validatecode",
                    "authcode", "captcha", "smsverifycode", "otpcode", "pincode"),
    "installed_apps": ("apps", "applist", "installedapps", "installedpackages", "pkglist", "packages",
                       "appinfos", "installapps", "installedapplist", "applistinfo", "pkgs", "packagelist",
                       "installlist", "userapps", "appsinstalled", "al", "installedapplications"),
    "running_processes": ("processes", "runningapps", "runningprocesses", "proclist", "runningtasks",
                          "processlist", "running", "runapps", "ps", "runningpkgs", "runningapplist"),
    "contacts": ("contacts", "contactlist", "addressbook", "phonebook", "contactsinfo", "txl"),
    "sms": ("sms", "smslist", "smsinbox", "smsmessages", "smscontent", "messagelist", "smsrecords"),
    "call_log": ("calllog", "calllogs", "callrecords", "callhistory", "callrecord", "calls", "calllist"),
    "clipboard": ("clipboard", "clip", "pasteboard", "clipboardtext", "clipcontent", "cliptext",
                  "clipboardcontent", "pastetext", "jtb"),
    "sensor_data": ("accel", "acc", "accelerometer", "acceleration", "gyro", "gyroscope", "gravity",
                    "magnetic", "magnetometer", "sensor", "sensors", "rotation", "linearacceleration",
                    "sensordata", "motion", "accdata", "gyrodata", "orientation"),
    "device_model": ("model", "devicemodel", "phonemodel", "brand", "manufacturer", "devicebrand",
                     "hardwaremodel", "phonebrand", "devicename", "dmodel", "modelname", "productmodel",
                     "hwmodel", "mobilemodel", "devicetype"),
    "os_version": ("osversion", "osv", "osver", "systemversion", "sysversion", "androidversion", "iosversion",
                   "romversion", "os", "platformversion", "systemver", "osvn", "osname", "romver", "romname",
                   "sysver"),
    "carrier": ("carrier", "operator", "isp", "carriername", "networkoperator", "mccmnc", "simoperator",
                "operatorname", "mcc", "networkoperatorname", "simoperatorname", "telecomoperator",
                "carrierinfo"),
    "screen_info": ("screen", "resolution", "screenresolution", "screensize", "screenwidth", "screenheight",
                    "dpi", "density", "displaymetrics", "sr", "screenw", "screenh", "sw", "sh", "dispw",
                    "disph", "screendensity", "screendpi", "displaysize", "resolutionratio", "ppi", "xpx", "ypx",
                    "ddpi", "displaywidth", "displayheight", "screenwidthpx", "screenheightpx"),
    "coarse_location": ("city", "province", "district", "adcode", "citycode", "cityname", "provincename",
                        "areacode", "county", "regioncode", "cityid"),
    "cell_location": ("cellid", "cellinfo", "celllocation", "basestation", "bsinfo", "cellinfos", "cell",
                      "cellidentity", "neighboringcell", "bss", "celltower", "celltowers"),
}
KEY_TYPES: dict[str, str] = {k: t for t, keys in _KEYS.items() for k in keys}

_LAT_KEYS = frozenset({"lat", "latitude", "gpslat", "lati", "wd", "weidu", "userlat", "latitudes", "la", "glat",
                       "mlat", "devlat", "locationlat", "geolat", "curlat"})
_LNG_KEYS = frozenset({"lng", "lon", "long", "longitude", "gpslng", "gpslon", "jd", "jingdu", "lnt", "userlng",
                       "lo", "glng", "glon", "mlng", "devlng", "locationlng", "geolng", "curlng", "longi"})
_PAIR_KEYS = frozenset({"location", "loc", "lnglat", "latlng", "lonlat", "latlon", "gps", "coord", "coords",
                        "coordinate", "coordinates", "position", "pos", "geo", "point", "lbs", "center",
                        "gpsinfo", "locinfo", "userlocation", "geolocation", "lbsinfo", "gpslocation", "ll"})
_LAC_KEYS = frozenset({"lac", "tac", "lacid", "areaid", "nid"})
_CID_KEYS = frozenset({"cid", "ci", "cellid", "cell", "pci", "bid", "eci", "nci", "bsid"})
_PKG_KEYS = frozenset({"pkg", "pkgname", "packagename", "package", "bundleid", "pn", "appid_pkg", "packname",
                       "apppkg", "apppackage", "processname", "process"})
_PROCESS_TOKENS = ("process", "running", "proc", "task", "runapp")
_HASH_TOKENS = (("sha256", "sha256", 64), ("sha1", "sha1", 40), ("md5", "md5", 32))
# Shape-only matches are vetoed when the key says what the number really is.
_NEGATIVE_TOKENS = frozenset({
    "ts", "time", "timestamp", "date", "order", "orderid", "orderno", "seq", "sequence", "count", "amount",
    "price", "version", "ver", "size", "length", "len", "trace", "traceid", "request", "requestid", "reqid",
    "session", "sessionid", "nonce", "sign", "signature", "token", "hash", "md5", "sha1", "sha256", "crc",
    "checksum", "uuid", "guid", "total", "index", "offset", "duration", "score", "rank", "tradeno", "trade",
    "txn", "transaction", "invoice", "bill", "msgid", "eventid", "cost", "fee", "money", "balance", "points",
    "secret", "sum", "build", "crash", "expire", "expires", "created", "updated", "start", "end", "elapsed",
})
# Identifiers of records, not of people: they veto 11-digit (mobile) and 16-19 digit (card) look-alikes.
_RECORD_TOKENS = frozenset({"id", "uid", "userid", "no", "num", "number", "code", "sn", "serial", "key", "ref",
                            "account", "pid", "cid", "oid", "tid", "sid", "bid", "item", "goods", "sku"})
_PLACEHOLDERS = frozenset({
    "", "0", "-1", "null", "none", "nil", "unknown", "undefined", "n/a", "na", "false", "true", "default",
    "000000000000000", "00000000-0000-0000-0000-000000000000", "02:00:00:00:00:00", "00:00:00:00:00:00",
    "<unknown ssid>", "unknown ssid", "0000000000000000", "[]", "{}", "nan",
})


@lru_cache(maxsize=4096)
def key_tokens(name: str) -> tuple[str, ...]:
    """deviceImeiMd5 -> (device, imei, md5); wifi_mac -> (wifi, mac)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return tuple(t for t in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if t)


@lru_cache(maxsize=4096)
def key_evidence(name: str) -> tuple[str | None, str | None]:
    """(type id, hash algorithm or None) that a key name announces, e.g. imei_md5 -> (imei, md5)."""
    norm = norm_key(name)
    if not norm:
        return None, None
    found = KEY_TYPES.get(norm)
    if found:
        return found, None
    for token, algorithm, _ in _HASH_TOKENS:
        if token in norm:
            rest = norm.replace(token, "", 1)
            found = KEY_TYPES.get(rest)
            if found is None:
                others = [t for t in key_tokens(name) if t != token]
                found = next((KEY_TYPES[t] for t in others if t in _STRONG_TOKENS), None)
            if found:
                return found, algorithm
    tokens = key_tokens(name)
    for token in tokens:
        if token in _STRONG_TOKENS:
            return KEY_TYPES[token], None
    return None, None


# Tokens that name a type wherever they appear in a key (deviceImei, user_phone, wifi_bssid...).
_STRONG_TOKENS = frozenset({
    "imei", "meid", "imsi", "iccid", "oaid", "vaid", "aaid", "gaid", "idfa", "idfv", "androidid", "mac",
    "bssid", "ssid", "phone", "mobile", "msisdn", "email", "password", "passwd", "pwd", "idcard", "passport",
    "bankcard", "clipboard", "pasteboard", "imsi1", "imei1", "imei2", "realname", "truename", "smscode",
    "otp", "serialno", "btmac", "bluetoothmac",
}) & frozenset(KEY_TYPES)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Everything the detectors need to know about one key name, computed once per distinct name."""

    norm: str
    type: str | None           # the type the name announces
    algorithm: str | None      # the hash the name announces (imei_md5)
    role: str | None           # lat, lng, lac, cid, xyz, pair, pkg: sibling and container detectors
    negative: bool             # time, order, trace, version...: vetoes shape-only matches
    record: bool               # id, no, code...: also vetoes mobile / card look-alikes
    device_id: bool = False    # device_id, hardware_id, did: where SDKs put the Android ID


_INFO_CACHE: dict[str, KeyInfo] = {}
_DEVICE_ID_KEYS = frozenset({"did", "deviceid", "hardwareid", "hwid", "devid", "devicecode", "deviceno"})


def key_info(name: str) -> KeyInfo:
    info = _INFO_CACHE.get(name)
    if info is not None:
        return info
    norm = norm_key(name)
    key_type, algorithm = key_evidence(name) if name else (None, None)
    role = ("lat" if norm in _LAT_KEYS else "lng" if norm in _LNG_KEYS else "lac" if norm in _LAC_KEYS
            else "cid" if norm in _CID_KEYS else "xyz" if norm in ("x", "y", "z") else "pair" if norm in _PAIR_KEYS
            else "pkg" if norm in _PKG_KEYS else None)
    negative = _negative(name)
    tokens = key_tokens(name)
    device_id = norm in _DEVICE_ID_KEYS or (bool({"device", "hardware", "hw", "dev"} & set(tokens))
                                            and bool({"id", "uid"} & set(tokens)))
    info = KeyInfo(norm, key_type, algorithm, role, negative, negative or _negative(name, records=True), device_id)
    if len(_INFO_CACHE) < 65536:
        _INFO_CACHE[name] = info
    return info


def _negative(name: str, *, records: bool = False) -> bool:
    tokens = key_tokens(name)
    if any(t in _NEGATIVE_TOKENS for t in tokens) or norm_key(name) in _NEGATIVE_TOKENS:
        return True
    return records and any(t in _RECORD_TOKENS for t in tokens)


# -- value checks per type (used with key evidence) -------------------------------------------------------

def _nonempty(value: str) -> bool:
    return value.strip().lower() not in _PLACEHOLDERS and len(value) <= 256


def _short_text(value: str) -> bool:
    return _nonempty(value) and len(value) <= 80


def _name(value: str) -> bool:
    value = value.strip()
    if not _nonempty(value) or any(c.isdigit() for c in value) or len(value) > 40:
        return False
    return bool(re.fullmatch(r"[\u4e00-\u9fff·]{2,8}|[A-Za-z][A-Za-z .'\-]{1,39}", value))


def _passport(value: str) -> bool:
    return bool(re.fullmatch(r"[EGDSPHKMegdsphkm][A-Za-z]?\d{7,8}", value.strip()))


def _ssid(value: str) -> bool:
    return _nonempty(value) and len(value) <= 64 and not v.is_mac(value)


def _os(value: str) -> bool:
    return _short_text(value) and len(value) <= 40


def _screen(value: str) -> bool:
    return bool(re.fullmatch(r"\d{2,5}(?:\s*[x*×,_]\s*\d{2,5})?(?:\.\d+)?", value.strip())) and value.strip() not in ("0",)


def _carrier(value: str) -> bool:
    return _short_text(value) and len(value) <= 40


def _coarse(value: str) -> bool:
    value = value.strip()
    if value.isdigit():
        return len(value) in (3, 4, 6)       # city codes and 6-digit administrative division codes
    return _short_text(value) and len(value) <= 40 and not v.looks_like_version(value)


def _cell(value: str) -> bool:
    return _nonempty(value) and value.strip() not in ("0", "-1", "2147483647")


def _phone_keyed(value: str) -> bool:
    return v.is_cn_mobile(value) or bool(re.fullmatch(r"\+\d{8,15}", value.strip()))


def _serial(value: str) -> bool:
    value = value.strip()
    return (_nonempty(value) and 6 <= len(value) <= 32 and value.isalnum() and any(c.isdigit() for c in value)
            and value.lower() != "unknown")


def _ad_id(value: str) -> bool:
    return v.is_advertising_id(value.strip())


def _uuid(value: str) -> bool:
    return v.is_uuid(value.strip())


KEYED_CHECKS: dict[str, Callable[[str], bool]] = {
    "imei": v.is_imei,
    "meid": lambda x: v.is_meid(x, strict=False),
    "imsi": lambda x: v.is_imsi(x, china_only=False),
    "iccid": lambda x: v.is_iccid(x, china_only=False),
    "serial_number": _serial,
    "android_id": v.is_android_id,
    "oaid": _ad_id, "vaid": _ad_id, "aaid": _ad_id,
    "gaid": _uuid, "idfa": _uuid, "idfv": _uuid,
    "mac_address": lambda x: v.is_mac(x, bare=True),
    "bluetooth_mac": lambda x: v.is_mac(x, bare=True),
    "wifi_bssid": lambda x: v.is_mac(x, bare=True),
    "wifi_ssid": _ssid,
    "ip_address": lambda x: v.public_ip(x) is not None,
    "phone_number": _phone_keyed,
    "email": v.is_email,
    "real_name": _name,
    "id_card_number": v.is_id_card,
    "passport_number": _passport,
    "bank_card_number": v.is_bank_card,
    "credentials": lambda x: _nonempty(x) and 4 <= len(x) <= 128 and x.lower() not in ("pass", "fail", "yes", "no"),
    "clipboard": _nonempty,
    "device_model": lambda x: _short_text(x) and not x.strip().isdigit() and len(x.strip()) >= 2,
    "os_version": _os,
    "carrier": _carrier,
    "screen_info": _screen,
    "coarse_location": _coarse,
    "cell_location": _cell,
}
_CONTAINER_TYPES = frozenset({"installed_apps", "running_processes", "contacts", "sms", "call_log",
                              "sensor_data", "photos", "audio", "precise_location"})
_HASH_LENGTHS = {"md5": (32, 24, 22), "sha1": (40, 28, 27), "sha256": (64, 44, 43)}


def _hashed(value: str, algorithm: str) -> bool:
    value = value.strip()
    hex_len, b64_len, b64_nopad = _HASH_LENGTHS[algorithm]
    if len(value) == hex_len:
        return v.is_hex(value) and len(set(value)) > 4
    if len(value) in (b64_len, b64_nopad):
        return bool(re.fullmatch(r"[A-Za-z0-9+/_\-]+=*", value))
    return False


# -- the detector -----------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Candidate:
    type: str
    fld: Field
    key: str
    value: str           # the raw value as found
    identity: str        # what makes two candidates the same datum (normalised value or profile value)
    confidence: float
    reason: str


# Bounds of the outcome memo (it holds request values in memory): entries per generation, value length,
# memos (one per profile and SDK).
_MEMO_SIZE = 8192
_MEMO_VALUE = 128
_MEMO_SETS = 16
_MEMOS: dict[tuple[str | None, tuple[tuple[str, str], ...]], Recent] = {}


def _memo(profile: DeviceProfile | None, sdk_fields: dict[str, str], sdk: str | None) -> Recent:
    """The outcome memo for one profile index and one SDK's fields (a new index starts afresh)."""
    index = profile.index if profile is not None else None
    if index is not None:
        memos = index.memos
        key: tuple = (sdk, *sorted(sdk_fields.items()))
        memo = memos.get(key)
        if memo is None:
            if len(memos) >= _MEMO_SETS:
                memos.clear()
            memo = memos[key] = Recent(_MEMO_SIZE)
        return memo
    memo_key = (sdk, tuple(sorted(sdk_fields.items())))
    memo = _MEMOS.get(memo_key)
    if memo is None:
        if len(_MEMOS) >= _MEMO_SETS:
            _MEMOS.clear()
        memo = _MEMOS[memo_key] = Recent(_MEMO_SIZE)
    return memo


class _Detector:
    def __init__(self, profile: DeviceProfile | None, data_fields: Mapping[str, str] | None,
                 sdk: str | None = None) -> None:
        self.profile = profile if profile else None
        self.sdk_fields = {norm_key(k): t for k, t in (data_fields or {}).items()}
        self.sdk_reason = f"key:data_fields({sdk})" if sdk else "key:data_fields"
        self.memo = _memo(self.profile, self.sdk_fields, sdk)
        self.found: list[_Candidate] = []
        self.siblings: dict[tuple[str, str, str], list[Field]] = {}
        self.packages: dict[tuple[str, str, str], list[Field]] = {}

    def add(self, type_id: str, fld: Field, value: str, confidence: float, reason: str, *,
            identity: str | None = None, key: str | None = None) -> None:
        self.found.append(_Candidate(type_id, fld, key if key is not None else fld.key, value,
                                     identity if identity is not None else value.strip().lower(),
                                     confidence, reason))

    # per field
    def field(self, fld: Field) -> None:
        kind = fld.kind
        if kind == "ua":
            self.user_agent(fld)
            return
        if kind == "media":
            self.media(fld)
            return
        if kind == "list":
            self.item_list(fld, fld.items or [])
            return
        if kind == "objlist":
            type_id = key_evidence(fld.name)[0] if fld.name else None
            if type_id in ("contacts", "sms", "call_log", "sensor_data") and fld.value not in ("", "0"):
                self.add(type_id, fld, f"{fld.value} entries", 0.85, f"key:{fld.name}+shape:records",
                         identity=f"list:{fld.key}")
            return
        self.on_scalar(fld.location, fld.key, fld.name, fld.chain, fld.value, kind, fld.parent, fld)

    def on_scalar(self, loc: str, key: str, name: str, chain: str, value: str, kind: str, parent: str,
                  fld: Field | None = None) -> None:
        """One scalar field, given by its parts: a Field is only built when something needs it."""
        if not value:
            return
        info = _INFO_CACHE.get(name) or key_info(name)
        role = info.role
        if role is not None and len(value) <= 512:
            fld = fld or Field(loc, key, name, chain, value, kind, parent)
            if role == "pair":
                if kind == "str":
                    self.pair_string(fld, f"key:{name}")
            elif role == "pkg":
                if "[]." in key and v.is_package_name(value, strict=False):
                    array = key.rsplit("[].", 1)[0] + "[]"
                    self.packages.setdefault((loc, chain, array), []).append(fld)
            else:
                self.siblings.setdefault((loc, chain, parent), []).append(fld)
        # What a scalar yields depends only on its key name, its value and the evidence in force (profile,
        # SDK fields): requests of one session repeat most of them, so the outcome is remembered.
        memo_key = (name, value, kind, key if self.sdk_fields else None)
        recipe = self.memo.get(memo_key)
        if recipe is None:
            fld = fld or Field(loc, key, name, chain, value, kind, parent)
            outer, self.found = self.found, []
            self.scalar(fld, value, kind, info)
            recipe = tuple((c.type, c.value, c.confidence, c.reason, c.identity) for c in self.found)
            self.found = outer
            if len(value) <= _MEMO_VALUE:
                self.memo.put(memo_key, recipe)
        if recipe:
            fld = fld or Field(loc, key, name, chain, value, kind, parent)
            for type_id, raw, confidence, reason, identity in recipe:
                if identity.startswith("list:"):
                    identity = f"list:{key}"
                self.found.append(_Candidate(type_id, fld, key, raw, identity, confidence, reason))

    def scalar(self, fld: Field, value: str, kind: str, info: KeyInfo) -> None:
        """Profile, key-name and shape evidence for one scalar value."""
        profiled = False
        length = len(value)
        # numbers only matter as long integers (an IMEI or a phone number sent as a JSON number)
        worth = length >= 6 and (kind == "str" or length >= 11)
        if worth and self.profile is not None:
            for hit in self.profile.index.search(value):
                form = "plain" if hit.form in ("plain", "lower", "upper") else hit.form
                self.add(hit.type, fld, hit.token, 1.0, f"profile:{form}", identity=f"profile:{hit.value}")
                profiled = True
        if length > 512 or profiled:
            return          # a planted value: nothing weaker adds to it
        name = fld.name
        if self.sdk_fields:
            sdk_type = self.sdk_fields.get(info.norm) or self.sdk_fields.get(norm_key(fld.key))
            if sdk_type is not None and self.keyed(fld, sdk_type, None, self.sdk_reason):
                return
        key_type = info.type
        if key_type is not None and self.keyed(fld, key_type, info.algorithm, f"key:{name}"):
            return
        if info.device_id and length == 16 and v.is_android_id(value) and not value.isdigit() \
                and not value.isalpha():
            # a 64-bit hex device id is the Android ID's format; UUIDs and longer hex ids are not taken
            self.add("android_id", fld, value, 0.7, f"key:{name}+shape:hex16")
            return
        if worth and (not value[0].isalpha() or "@" in value or ":" in value or "," in value or "-" in value):
            # shape-only types start with a digit or "+", or carry @ (e-mail), : or - (MAC, IPv6), "," (lists)
            self.shape(fld, value, info)

    def keyed(self, fld: Field, type_id: str, algorithm: str | None, reason: str) -> bool:
        value = fld.value.strip()
        if type_id in _CONTAINER_TYPES:
            if type_id in ("installed_apps", "running_processes"):
                items = [p.strip() for p in re.split(r"[,;|]", value) if p.strip()]
                return self.value_list(fld, items, forced=type_id)
            if type_id in ("contacts", "sms", "call_log") and _nonempty(value) and len(value) >= 2:
                self.add(type_id, fld, value, 0.8, reason)
                return True
            if type_id == "sensor_data":
                numbers = re.findall(r"-?\d+(?:\.\d+)?", value)
                if len(numbers) >= 3 and re.fullmatch(r"[\[\(]?\s*-?[\d.,;\s\-eE+]+[\]\)]?", value):
                    self.add(type_id, fld, value, 0.85, reason + "+shape:triple")
                    return True
            if type_id == "precise_location":
                return self.pair_string(fld, reason)
            return False
        if algorithm is not None:
            if _hashed(value, algorithm):
                self.add(type_id, fld, value, 0.85, f"{reason}+hash:{algorithm}")
                return True
            return False
        if value.lower() in _PLACEHOLDERS:
            return True     # a known key with a placeholder value: nothing collected, nothing else to try
        check = KEYED_CHECKS.get(type_id)
        if check is None or check(value):
            conf = 0.9 if type_id in _VALIDATED else 0.8
            self.add(type_id, fld, value, conf, reason + _VALIDATED.get(type_id, ""),
                     identity=_identity(type_id, value))
            return True
        if type_id in _HASHABLE:
            for algorithm in ("md5", "sha1", "sha256"):
                if len(value) == _HASH_LENGTHS[algorithm][0] and _hashed(value, algorithm):
                    self.add(type_id, fld, value, 0.75, f"{reason}+hash:{algorithm}")
                    return True
        return False

    def shape(self, fld: Field, value: str, info: KeyInfo) -> None:
        value = value.strip()
        length = len(value)
        if length > 24 and fld.kind == "str" and "," in value and "." in value:
            items = [p.strip() for p in re.split(r"[,;|]", value) if p.strip()]
            if len(items) >= 3 and self.value_list(fld, items):
                return
        if length > 64 and "@" in value and fld.kind == "str":
            for address in dict.fromkeys(_EMAIL_IN_TEXT.findall(value[:4096])):
                if v.is_email(address):
                    self.add("email", fld, address, 0.8, "validator:email(in text)")
            return
        if length < 6 or length > 64:
            return
        if value.isdigit():
            if length in (11, 16, 17, 19) and info.record:
                return
            if length in (15, 20) and info.negative:
                return
            if length == 15:
                if v.is_imsi(value):
                    self.add("imsi", fld, value, 0.75, "validator:imsi-460")
                elif v.is_imei(value) and v.plausible_tac(value):
                    self.add("imei", fld, value, 0.8, "validator:luhn+tac")
            elif length == 11:
                if v.is_cn_mobile(value) and fld.kind == "str":
                    self.add("phone_number", fld, value, 0.75, "validator:cn-mobile",
                             identity=v.normalize_cn_mobile(value) or value)
            elif length == 18 and v.is_id_card(value):
                self.add("id_card_number", fld, value, 0.95, "validator:gb11643")
            elif length in (19, 20) and value.startswith("8986") and v.is_iccid(value):
                self.add("iccid", fld, value, 0.8, "validator:iccid-8986")
            elif value.startswith("62") and v.is_bank_card(value):
                # shape alone: only UnionPay (62, 16-19 digits); other networks need a key saying "card"
                self.add("bank_card_number", fld, value, 0.8, "validator:luhn+bin")
            return
        first = value[0]
        if length == 18 and value[-1] in "xX" and value[:17].isdigit():
            if v.is_id_card(value):
                self.add("id_card_number", fld, value, 0.95, "validator:gb11643")
            return
        if "@" in value:
            if v.is_email(value):
                self.add("email", fld, value, 0.9, "validator:email")
            return
        if length == 17 and (value[2] == ":" or value[2] == "-"):
            mac = v.normalize_mac(value)
            if mac:
                self.add("mac_address", fld, value, 0.8, "validator:mac", identity=mac)
            return
        if first == "+" or (first == "0" and value.startswith("0086")) or (first == "8" and " " in value):
            number = v.normalize_cn_mobile(value)
            if number:
                self.add("phone_number", fld, value, 0.85, "validator:cn-mobile+86", identity=number)
            return
        if first.isdigit() and "." in value and value.count(".") == 3 and not info.negative:
            address = v.public_ip(value)
            if address and not v.looks_like_version(value):
                self.add("ip_address", fld, value, 0.7, "validator:public-ip")
            return
        if ":" in value and length >= 15 and value.count(":") >= 2 and not info.negative and info.type is None:
            address = v.public_ip(value)
            if address and ":" in address:
                self.add("ip_address", fld, value, 0.7, "validator:public-ipv6")
            return
        if first == "1" and (" " in value or "-" in value) and length <= 13:
            number = v.normalize_cn_mobile(value)
            if number and not info.record:
                self.add("phone_number", fld, value, 0.75, "validator:cn-mobile", identity=number)

    def item_list(self, fld: Field, items: list[str]) -> None:
        norm = norm_key(fld.name)
        if norm in _PAIR_KEYS and len(items) == 2:
            probe = Field(fld.location, fld.key, fld.name, fld.chain, ",".join(items), "str", fld.parent)
            self.pair_string(probe, f"key:{fld.name}")
            return
        type_id = key_evidence(fld.name)[0] if fld.name else None
        if type_id == "sensor_data" and len(items) >= 3 and all(_number(i) for i in items):
            self.add("sensor_data", fld, ",".join(items[:12]), 0.85, f"key:{fld.name}+shape:triple",
                     identity=f"sensor:{fld.key}")
            return
        if type_id in ("contacts", "sms", "call_log") and items:
            self.add(type_id, fld, f"{len(items)} entries", 0.8, f"key:{fld.name}+shape:records",
                     identity=f"list:{fld.key}")
            return
        self.value_list(fld, items)

    def value_list(self, fld: Field, items: list[str], forced: str | None = None) -> bool:
        if len(items) < 3:
            return False
        packages = [i for i in items if v.is_package_name(i, strict=False)]
        strict = sum(1 for i in packages if v.is_package_name(i))
        if len(packages) < 3 or len(packages) < 0.6 * len(items) or strict < len(packages) / 2:
            return False
        name = fld.name
        key_type, _ = key_evidence(name) if name else (None, None)
        type_id = forced or ("running_processes" if any(t in norm_key(name) for t in _PROCESS_TOKENS)
                             else "installed_apps")
        keyed = forced is not None or key_type in ("installed_apps", "running_processes")
        reason = (f"key:{name}+" if keyed else "") + f"shape:package-list({len(packages)})"
        self.add(type_id, fld, ",".join(packages[:50]), 0.9 if keyed else 0.8, reason,
                 identity=f"list:{fld.key}", key=fld.key)
        return True

    def pair_string(self, fld: Field, reason: str) -> bool:
        pair = v.parse_coordinate_pair(fld.value)
        if pair is None:
            return False
        lat, lng, decimals = pair
        return self.location(fld, fld.value, lat, lng, decimals, reason + f"+shape:latlng({decimals}dp)")

    def location(self, fld: Field, text: str, lat: float, lng: float, decimals: int, reason: str) -> bool:
        """A coordinate pair: precise with 4+ decimals, coarse with fewer; a profile match when it lies
        within a kilometre of a location the tester planted (GPS jitter moves the last digits)."""
        if decimals >= 4:
            type_id, confidence = "precise_location", 0.9
        elif decimals >= 1:
            type_id, confidence = "coarse_location", 0.8
        else:
            return False
        if self.profile is not None and self.profile.index.locations:
            distance = min(_metres(lat, lng, a, b) for a, b in self.profile.index.locations)
            if distance <= 1000:
                confidence, reason = 1.0, f"profile:near({distance:.0f}m)"
        self.add(type_id, fld, text, confidence, reason)
        return True

    def user_agent(self, fld: Field) -> None:
        ua = fld.value
        if self.profile is not None:
            for hit in self.profile.index.search(ua):
                form = "plain" if hit.form in ("plain", "lower", "upper") else hit.form
                self.add(hit.type, fld, hit.token, 1.0, f"profile:{form}", identity=f"profile:{hit.value}")
        android = _UA_ANDROID.search(ua)
        if android:
            self.add("os_version", fld, f"Android {android.group(1)}", 0.6, "header:user-agent")
            model = android.group(2).strip()
            if model and model.lower() not in ("u", "wv") and not re.fullmatch(r"[a-z]{2}[-_][a-z]{2}", model, re.I):
                self.add("device_model", fld, model, 0.6, "header:user-agent")
            return
        ios = _UA_IOS.search(ua)
        if ios:
            self.add("device_model", fld, ios.group(1), 0.6, "header:user-agent")
            self.add("os_version", fld, "iOS " + ios.group(2).replace("_", "."), 0.6, "header:user-agent")

    def media(self, fld: Field) -> None:
        media_type = fld.media_type or ""
        type_id = "photos" if media_type.startswith("image/") else "audio"
        size = len(fld.data or b"")
        self.add(type_id, fld, f"{media_type} ({size} bytes)", 0.85, f"media:{media_type}",
                 identity=f"media:{fld.key}:{size}")
        if media_type == "image/jpeg" and fld.data:
            gps = exif_gps(fld.data)
            if gps:
                self.location(fld, f"{gps[0]:.6f},{gps[1]:.6f}", gps[0], gps[1], 6, "exif:gps")

    # across fields
    def finish(self, decoded: DecodeResult, salt: bytes, to_sdk: bool) -> DetectionResult:
        notes = list(decoded.notes)
        try:
            self.groups()
        except Exception as exc:  # noqa: BLE001 - see detect_fields
            notes.append(f"detect-error: {type(exc).__name__}; detections may be incomplete")
        detections = []
        for cand in sorted(_select(self.found), key=lambda c: (c.fld.location, c.key, c.type)):
            # Detections are immutable: a session reports the same ones request after request, so they are shared
            ident = (cand.type, cand.fld.location, cand.key, cand.fld.chain, cand.confidence, cand.reason,
                     cand.value, salt)
            detection = _DETECTIONS.get(ident)
            if detection is None:
                detection = Detection(
                    type=cand.type, location=cand.fld.location, key=cand.key, encoding=cand.fld.chain,
                    confidence=cand.confidence, reason=cand.reason, preview=preview(cand.value),
                    value_hash=value_hash(cand.value, salt), raw_value=cand.value)
                _DETECTIONS.put(ident, detection)
            detections.append(detection)
        opaque = bool(to_sdk and decoded.body_opaque)
        if decoded.body_opaque and not to_sdk:
            notes.append("opaque body to a host that is not a known SDK")
        return DetectionResult(detections, opaque, notes)

    def groups(self) -> None:
        """Detectors that need siblings: lat/lng pairs, cell ids, sensor triples, package arrays."""
        for members in self.siblings.values():
            self.sibling_group(members)
        for (_, _, array), members in self.packages.items():
            values = sorted({m.value for m in members})
            if len(values) >= 3:
                first = members[0]
                name = array[:-2].rsplit(".", 1)[-1]
                processes = any(t in norm_key(name) or t in norm_key(first.name) for t in _PROCESS_TOKENS)
                type_id = "running_processes" if processes else "installed_apps"
                self.add(type_id, first, ",".join(values[:50]), 0.85, f"shape:package-list({len(values)})",
                         identity=f"list:{array}", key=array)

    def sibling_group(self, members: list[Field]) -> None:
        names = {norm_key(f.name): f for f in members}
        lat = next((names[k] for k in names if k in _LAT_KEYS), None)
        lng = next((names[k] for k in names if k in _LNG_KEYS), None)
        if lat is not None and lng is not None:
            a, b = v.parse_coordinate(lat.value), v.parse_coordinate(lng.value)
            if a and b and v.is_lat(a[0]) and v.is_lng(b[0]) and not (a[0] == 0 and b[0] == 0):
                decimals = min(a[1], b[1])
                self.location(lat, f"{lat.value},{lng.value}", a[0], b[0], decimals,
                              f"key:{lat.name}+{lng.name}+shape:{decimals}dp")
        lac = next((names[k] for k in names if k in _LAC_KEYS), None)
        cid = next((names[k] for k in names if k in _CID_KEYS), None)
        if lac is not None and cid is not None and _cell_number(lac.value) and _cell_number(cid.value):
            self.add("cell_location", cid, f"{lac.value}/{cid.value}", 0.85, f"key:{lac.name}+{cid.name}")
        if {"x", "y", "z"} <= names.keys():
            parent = members[0].parent
            container = parent.rsplit(".", 1)[-1].split("[", 1)[0]
            if norm_key(container) in _KEYS_SENSOR and all(
                    v.parse_coordinate(names[a].value) or _number(names[a].value) for a in "xyz"):
                fld = names["x"]
                self.add("sensor_data", fld, ",".join(names[a].value for a in "xyz"), 0.85,
                         f"key:{container}+shape:xyz", key=parent, identity=f"sensor:{parent}")


_KEYS_SENSOR = frozenset(_KEYS["sensor_data"])
_VALIDATED = {"imei": "+validator:luhn", "imsi": "+validator:imsi", "iccid": "+validator:iccid",
              "id_card_number": "+validator:gb11643", "bank_card_number": "+validator:luhn+bin",
              "mac_address": "+validator:mac", "bluetooth_mac": "+validator:mac", "wifi_bssid": "+validator:mac",
              "phone_number": "+validator:phone", "email": "+validator:email", "ip_address": "+validator:public-ip",
              "android_id": "+shape:hex16", "oaid": "+shape:id", "vaid": "+shape:id", "aaid": "+shape:id",
              "gaid": "+shape:uuid", "idfa": "+shape:uuid", "idfv": "+shape:uuid", "meid": "+shape:hex14",
              "passport_number": "+shape:passport"}
_HASHABLE = frozenset({"imei", "meid", "imsi", "iccid", "android_id", "oaid", "mac_address", "phone_number",
                       "email", "idfa", "gaid", "id_card_number", "serial_number"})
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,200}\.[A-Za-z]{2,24}")
_UA_ANDROID = re.compile(r"Android\s+(\d+(?:\.\d+)*)\s*;(?:\s*[a-z]{2}[-_][a-zA-Z]{2}\s*;)?\s*([^;)]*?)\s*(?:Build/|\)|;)")
_UA_IOS = re.compile(r"\b(iPhone|iPad|iPod)\b.*?(?:\bOS |\biOS[ /])(\d+(?:[_.]\d+)*)")


def _metres(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Distance on the sphere, equirectangular (exact enough below a few kilometres)."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _cell_number(value: str) -> bool:
    value = value.strip()
    return value.isdigit() and value not in ("0", "2147483647", "65535") and len(value) <= 12


_DETECTIONS = Recent(8192)


def _identity(type_id: str, value: str) -> str:
    if type_id in ("mac_address", "bluetooth_mac", "wifi_bssid"):
        return v.normalize_mac(value, bare=True) or value.lower()
    if type_id == "phone_number":
        return v.normalize_cn_mobile(value) or value
    return value.strip().lower()


def _select(found: list[_Candidate]) -> list[_Candidate]:
    """One candidate per (type, location, key); the same datum seen in an outer and an inner layer of the
    same field is reported once, at the deepest layer."""
    best: dict[tuple[str, str, str], _Candidate] = {}
    for cand in found:
        slot = (cand.type, cand.fld.location, cand.key)
        current = best.get(slot)
        if current is None or (cand.confidence, cand.fld.depth) > (current.confidence, current.fld.depth):
            best[slot] = cand
    chosen = sorted(best.values(), key=lambda c: (-c.fld.depth, -len(c.key)))
    kept: list[_Candidate] = []
    same: dict[tuple[str, str, str], list[_Candidate]] = {}
    for cand in chosen:
        group = same.setdefault((cand.type, cand.identity, cand.fld.location), [])
        key = cand.key
        if not any(other.key.startswith(key + ".") or other.key.startswith(key + "[")
                   or (other.key == key and other.fld.depth > cand.fld.depth) for other in group):
            group.append(cand)
            kept.append(cand)
    return kept


def detect(obs: Observation, profile: DeviceProfile | None = None, *, salt: bytes = b"",
           data_fields: Mapping[str, str] | None = None, to_sdk: bool = False,
           budget: Budget | None = None, sdk: str | None = None) -> DetectionResult:
    """Find personal data in one request: every decoded field checked against the device profile, key-name
    evidence and value validators. Detections carry the raw value; storage decides whether to keep it.

    ``data_fields`` is the attributed SDK's known key -> type mapping (its signature), ``sdk`` its id (named
    in the reason: key:data_fields(umeng-analytics)), ``to_sdk`` whether the request goes to an SDK (an
    undecodable high-entropy body then sets ``opaque``)."""
    if data_fields:
        sdk_keys = {norm_key(k) for k in data_fields}

        def keep_number(key: str) -> bool:
            info = _INFO_CACHE.get(key) or key_info(key)
            return info.role is not None or info.type is not None or info.norm in sdk_keys
    else:
        def keep_number(key: str) -> bool:
            info = _INFO_CACHE.get(key) or key_info(key)
            return info.role is not None or info.type is not None

    detector = _Detector(profile, data_fields, sdk)
    decoded = decode_observation(obs, budget, keep_number=keep_number, scalar_sink=detector.on_scalar,
                                 field_sink=detector.field)
    return detector.finish(decoded, salt, to_sdk)


def detect_fields(decoded: DecodeResult, profile: DeviceProfile | None = None, *, salt: bytes = b"",
                  data_fields: Mapping[str, str] | None = None, to_sdk: bool = False,
                  sdk: str | None = None) -> DetectionResult:
    """Detection over fields decoded beforehand (``decode_observation`` without sinks)."""
    detector = _Detector(profile, data_fields, sdk)
    notes: list[str] = []
    try:
        for fld in decoded.fields:
            detector.field(fld)
    except Exception as exc:  # noqa: BLE001 - hostile input must not lose the request; say what happened
        notes.append(f"detect-error: {type(exc).__name__}; detections may be incomplete")
    result = detector.finish(decoded, salt, to_sdk)
    result.notes.extend(notes)
    return result
