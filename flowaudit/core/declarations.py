"""The declaration model: what an app says it does (its SDK list and collected-personal-information list).

A declaration is a versioned YAML/JSON document (docs/declaration-format.md, docs/declaration.schema.json).
This module is pure: it validates mappings, resolves free-text type names onto taxonomy ids and SDK names
onto signature ids, and never reads files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flowaudit.core.necessary import find_category
from flowaudit.core.signature_schema import Signature
from flowaudit.core.taxonomy import TYPE_IDS

FORMAT_VERSION: Literal[1] = 1
FIRST_PARTY = "first_party"

_taxonomy_map_type_name: Callable[[str], tuple[list[str], str]] | None
try:  # the taxonomy's synonym dictionary; the small table below stands in where it is missing
    from flowaudit.core.taxonomy import map_type_name as _taxonomy_map_type_name
except ImportError:  # pragma: no cover - depends on the taxonomy module's version
    _taxonomy_map_type_name = None


class DeclarationError(ValueError):
    """A declaration that cannot be used; the message is one line for the user."""


# --- type names -------------------------------------------------------------------------------------

_FALLBACK_SYNONYMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("国际移动设备识别码", ("imei",)), ("imei", ("imei",)), ("meid", ("meid",)), ("imsi", ("imsi",)),
    ("iccid", ("iccid",)), ("sim卡号", ("iccid",)), ("硬件序列号", ("serial_number",)), ("设备序列号", ("serial_number",)),
    ("序列号", ("serial_number",)), ("serial", ("serial_number",)), ("androidid", ("android_id",)),
    ("安卓id", ("android_id",)), ("oaid", ("oaid",)), ("vaid", ("vaid",)), ("aaid", ("aaid",)), ("gaid", ("gaid",)),
    ("idfa", ("idfa",)), ("idfv", ("idfv",)), ("蓝牙mac", ("bluetooth_mac",)), ("蓝牙地址", ("bluetooth_mac",)),
    ("mac地址", ("mac_address",)), ("mac", ("mac_address",)), ("bssid", ("wifi_bssid",)), ("ssid", ("wifi_ssid",)),
    ("基站", ("cell_location",)), ("精准定位", ("precise_location",)), ("精确位置", ("precise_location",)),
    ("粗略位置", ("coarse_location",)), ("位置信息", ("precise_location", "coarse_location")),
    ("地理位置", ("precise_location", "coarse_location")), ("经纬度", ("precise_location",)),
    ("定位", ("precise_location", "coarse_location")), ("gps", ("precise_location",)), ("ip地址", ("ip_address",)),
    ("手机号码", ("phone_number",)), ("手机号", ("phone_number",)), ("电话号码", ("phone_number",)),
    ("邮箱", ("email",)), ("电子邮件", ("email",)), ("姓名", ("real_name",)), ("身份证", ("id_card_number",)),
    ("护照", ("passport_number",)), ("银行卡", ("bank_card_number",)), ("密码", ("credentials",)),
    ("验证码", ("credentials",)), ("软件安装列表", ("installed_apps",)), ("应用列表", ("installed_apps",)),
    ("已安装应用", ("installed_apps",)), ("安装列表", ("installed_apps",)), ("运行中进程", ("running_processes",)),
    ("进程", ("running_processes",)), ("通讯录", ("contacts",)), ("联系人", ("contacts",)), ("短信", ("sms",)),
    ("通话记录", ("call_log",)), ("剪切板", ("clipboard",)), ("剪贴板", ("clipboard",)), ("相册", ("photos",)),
    ("照片", ("photos",)), ("图片", ("photos",)), ("录音", ("audio",)), ("麦克风", ("audio",)),
    ("传感器", ("sensor_data",)), ("设备型号", ("device_model",)), ("机型", ("device_model",)),
    ("设备品牌", ("device_model",)), ("系统版本", ("os_version",)), ("操作系统", ("os_version",)),
    ("运营商", ("carrier",)), ("屏幕", ("screen_info",)), ("分辨率", ("screen_info",)),
    ("设备标识符", ("imei", "android_id", "oaid", "idfa", "idfv")),
    ("设备标识", ("imei", "android_id", "oaid", "idfa", "idfv")),
    ("设备识别码", ("imei", "android_id", "oaid", "idfa", "idfv")),
)
_SEPARATORS = re.compile(r"[\s、，,；;/（）()【】\[\]：:。.&和及与或等]+")


def _fallback_map_type_name(text: str) -> tuple[list[str], str]:
    """Small stand-in for the taxonomy's synonym dictionary: longest synonym first, leftovers returned."""
    rest = unicodedata.normalize("NFKC", text).lower().replace(" ", "")
    ids: list[str] = []
    for synonym, mapped in sorted(_FALLBACK_SYNONYMS, key=lambda item: -len(item[0])):
        if synonym in rest:
            rest = rest.replace(synonym, " ")
            ids.extend(t for t in mapped if t not in ids)
    remainder = _SEPARATORS.sub(" ", rest).strip()
    return ids, remainder


def map_type_name(text: str) -> tuple[list[str], str]:
    """Taxonomy ids a free-text type name stands for, and the part of the text nothing matched."""
    text = (text or "").strip()
    if text in TYPE_IDS:
        return [text], ""
    if _taxonomy_map_type_name is not None:
        ids, remainder = _taxonomy_map_type_name(text)
        return [t for t in ids if t in TYPE_IDS], remainder
    return _fallback_map_type_name(text)


# --- frequency --------------------------------------------------------------------------------------

Window = Literal["launch", "second", "minute", "hour", "day"]
WINDOW_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(\d+|[零一二两三四五六七八九十百]+)"
_UNIT = {"秒": "second", "秒钟": "second", "分": "minute", "分钟": "minute", "小时": "hour", "时": "hour",
         "天": "day", "日": "day", "second": "second", "seconds": "second", "minute": "minute", "minutes": "minute",
         "hour": "hour", "hours": "hour", "day": "day", "days": "day"}


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "百" in text:
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(text) if len(text) == 1 else None


def parse_frequency(text: str) -> tuple[int | None, Window | None, int]:
    """(max_count, window, window_size) from a published frequency such as 每次启动一次, 每天1次,
    每5分钟一次, once per launch, 3 times per hour; (None, None, 1) when it sets no bound (实时, 按需...)."""
    t = unicodedata.normalize("NFKC", text or "").strip().lower()
    if not t:
        return None, None, 1
    count = None
    m = re.search(_NUM + r"\s*(?:次|条|times?)", t)
    if m:
        count = _number(m.group(1))
    elif re.search(r"once|一次", t):
        count = 1
    elif re.search(r"twice", t):
        count = 2
    if count is None:
        return None, None, 1
    m = re.search(r"(?:每|every|per)\s*" + _NUM + r"?\s*(秒钟|秒|分钟|分|小时|时|天|日|seconds?|minutes?|hours?|days?)", t)
    if m:
        size = _number(m.group(1)) if m.group(1) else 1
        return count, _UNIT[m.group(2)], size or 1  # type: ignore[return-value]
    if re.search(r"启动|打开|登录|launch|start|open|首次|仅|只|安装|install|first", t):
        return count, "launch", 1
    return None, None, 1


# --- the model --------------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Frequency(_Strict):
    """How often an item is collected. A plain string is accepted and parsed."""

    text: str = ""
    max_count: int | None = Field(default=None, ge=0)
    window: Window | None = None       # launch: from one app start (foreground marker) to the next
    window_size: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            count, window, size = parse_frequency(value)
            return {"text": value, "max_count": count, "window": window, "window_size": size}
        if isinstance(value, Mapping) and "max_count" not in value and value.get("text"):
            count, window, size = parse_frequency(str(value["text"]))
            return {**value, "max_count": count, "window": value.get("window", window),
                    "window_size": value.get("window_size", size)}
        return value

    @model_validator(mode="after")
    def _window_with_count(self) -> Frequency:
        if self.max_count is not None and self.window is None:
            self.window = "launch"
        return self

    @property
    def window_seconds(self) -> int | None:
        return WINDOW_SECONDS[self.window] * self.window_size if self.window in WINDOW_SECONDS else None


def _type_ids(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in TYPE_IDS]
    if unknown:
        raise ValueError(f"unknown data-type id(s) {', '.join(unknown)}; use ids from the taxonomy")
    return values


class App(_Strict):
    name: str = Field(min_length=1)
    package: str | None = None
    version: str | None = None
    platform: Literal["android", "ios", "harmonyos", "other"] = "android"
    category: str | None = None       # one of the 39 categories of the 2021 necessary-information rules
    first_party_domains: list[str] = Field(default_factory=list)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        cat = find_category(value)
        if cat is None:
            raise ValueError(f"unknown app category {value!r}; use one of the 39 categories (id or Chinese name)")
        return cat.id

    @field_validator("first_party_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            domain = item.strip().lower().rstrip(".").removeprefix("*.").removeprefix(".")
            if not domain or "/" in domain or " " in domain:
                raise ValueError(f"not a domain name: {item!r}")
            out.append(domain)
        return out


class ConsentRequest(_Strict):
    """A request that marks the consent moment, such as the app's own consent API call."""

    host: str                          # exact host or a parent domain
    path_regex: str = ".*"
    method: str | None = None
    means: Literal["consent", "refusal"] = "consent"

    @field_validator("path_regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        if len(value) > 500:
            raise ValueError("path_regex longer than 500 characters")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid path_regex: {exc}") from None
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return value.lower().rstrip(".")

    def matches(self, host: str, path: str, method: str | None) -> bool:
        host = host.lower()
        if host != self.host and not host.endswith("." + self.host):
            return False
        if self.method and (method or "").upper() != self.method.upper():
            return False
        return re.search(self.path_regex, path or "/") is not None


class Consent(_Strict):
    marker: str = "consent"            # marker kind that records consent given
    refusal_marker: str = "refusal"
    requests: list[ConsentRequest] = Field(default_factory=list)


class PIEntry(_Strict):
    """One row of the collected-personal-information list (已收集个人信息清单)."""

    type: str = Field(min_length=1)    # taxonomy id or the published name (信息名称)
    type_ids: list[str] = Field(default_factory=list)   # explicit ids; otherwise derived from `type`
    category: str | None = None        # 类型 column: 设备信息, 用户基本信息...
    purpose: str | None = None
    scene: str | None = None
    frequency: Frequency | None = None
    necessary: bool | None = None
    sensitive: bool | None = None
    recipients: list[str] = Field(default_factory=list)  # first_party, SDK names or ids, other companies

    _ids = field_validator("type_ids")(_type_ids)

    def resolved_types(self) -> list[str]:
        return list(self.type_ids) if self.type_ids else map_type_name(self.type)[0]


class SDKEntry(_Strict):
    """One row of the third-party SDK list (第三方SDK共享清单)."""

    name: str = Field(min_length=1)
    sdk_id: str | None = None          # signature id; otherwise matched by name, vendor and package
    vendor: str | None = None
    package: str | None = None
    version: str | None = None
    purpose: str | None = None
    scene: str | None = None
    sharing: str | None = None         # 处理方式 / 共享方式
    pi_types: list[str] = Field(default_factory=list)    # as published; free text or taxonomy ids
    type_ids: list[str] = Field(default_factory=list)    # explicit ids; otherwise derived from pi_types
    frequency: Frequency | None = None
    privacy_policy_url: str | None = None
    hosts: list[str] = Field(default_factory=list)       # recipient hosts, for partners without a signature

    _ids = field_validator("type_ids")(_type_ids)

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        return [h.strip().lower().rstrip(".").removeprefix("*.") for h in value if h.strip()]

    def resolved_types(self) -> list[str]:
        if self.type_ids:
            return list(self.type_ids)
        ids: list[str] = []
        for text in self.pi_types:
            ids.extend(t for t in map_type_name(text)[0] if t not in ids)
        return ids

    def missing_fields(self) -> list[str]:
        """Required information the entry lacks (26号文 二(一)3 / 二(三)7)."""
        missing = []
        if not self.vendor:
            missing.append("vendor")
        if not self.purpose:
            missing.append("purpose")
        if not self.pi_types and not self.type_ids:
            missing.append("pi_types")
        if not self.privacy_policy_url:
            missing.append("privacy_policy_url")
        return missing


class Declaration(_Strict):
    """An app's published SDK list and collected-personal-information list, as one document."""

    format_version: Literal[1] = FORMAT_VERSION
    app: App
    consent: Consent = Field(default_factory=Consent)
    pi_list: list[PIEntry] = Field(default_factory=list)
    sdk_list: list[SDKEntry] = Field(default_factory=list)

    def first_party_domains(self) -> list[str]:
        return list(self.app.first_party_domains)


def load_declaration(data: object) -> Declaration:
    """Validate a parsed YAML/JSON document; errors become one DeclarationError line."""
    if not isinstance(data, Mapping):
        raise DeclarationError("a declaration is a mapping with app, consent, pi_list and sdk_list")
    version = data.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise DeclarationError(f"unsupported declaration format_version {version!r} (this flowaudit reads {FORMAT_VERSION})")
    try:
        return Declaration.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "declaration"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DeclarationError(f"invalid declaration at {where}: {first.get('msg', 'invalid')}{more}") from None


def declaration_json_schema() -> dict[str, Any]:
    """The JSON Schema published as docs/declaration.schema.json and served by the API."""
    schema = Declaration.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://flowaudit.invalid/schemas/declaration-v1.json"
    schema["title"] = "flowaudit declaration"
    return schema


# --- SDK names onto signature ids -------------------------------------------------------------------

_PACKAGE = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b")
_BRACKETS = re.compile(r"[（(【\[]([^）)】\]]*)[）)】\]]")
_NOISE = re.compile(r"sdk|软件开发工具包|android端?|ios端?|安卓端?|[\s()（）【】\[\]\-_·.,，、/:：+＋&|\"'“”]")


def _norm(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass(slots=True)
class SdkMatch:
    """Which signature a declared SDK entry is, and how sure the match is."""

    name: str
    sdk_ids: list[str] = field(default_factory=list)    # one id when mapped; several when ambiguous
    how: str = ""                                        # explicit, package, name, alias, contains, vendor
    exact: bool = False

    @property
    def sdk_id(self) -> str | None:
        return self.sdk_ids[0] if len(self.sdk_ids) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.sdk_ids) > 1


def signature_packages(sig: Signature) -> list[str]:
    return [p.lower() for p in sig.android_packages] + [m.split(":")[0].lower() for m in sig.maven]


def match_sdk(name: str, signatures: Iterable[Signature], *, vendor: str | None = None,
              package: str | None = None, sdk_id: str | None = None) -> SdkMatch:
    """Map a published SDK name onto signature ids through ids, names, aliases, package prefixes and
    vendor names. Never guesses between equals: several candidates come back as an ambiguous match."""
    sigs = list(signatures)
    by_id = {s.id: s for s in sigs}
    if sdk_id:  # trusted even when no loaded signature has it; the lint reports unknown ids
        return SdkMatch(name, [sdk_id], "explicit" if sdk_id in by_id else "explicit, unknown id", True)
    raw = unicodedata.normalize("NFKC", name or "")
    packages = _PACKAGE.findall(raw.lower()) + ([package.strip().lower()] if package and package.strip() else [])
    pkg_ids, pkg_exact = _package_candidates(packages, sigs)
    name_ids, name_how, name_exact = _name_candidates(_PACKAGE.sub(" ", raw), sigs)
    if pkg_ids and name_ids and set(pkg_ids) & set(name_ids):
        both = sorted(set(pkg_ids) & set(name_ids))
        return _narrow(name, both, "package+" + name_how, pkg_exact or name_exact, sigs, vendor)
    if pkg_ids:
        return _narrow(name, pkg_ids, "package", pkg_exact, sigs, vendor)
    if name_ids:
        return _narrow(name, name_ids, name_how, name_exact, sigs, vendor)
    # the vendor alone: mapped when it makes exactly one SDK, ambiguous when it makes several
    if vendor:
        vkey = _norm(vendor)
        ids = sorted(s.id for s in sigs if vkey and vkey in {_norm(s.vendor.name), _norm(s.vendor.name_zh or ""), s.vendor.id})
        if ids:
            return SdkMatch(name, ids, "vendor", False)
    return SdkMatch(name, [], "", False)


def _package_candidates(packages: list[str], sigs: list[Signature]) -> tuple[list[str], bool]:
    """Signatures whose package is the declared one or its longest parent (exact), else whose package
    lies under a declared prefix such as com.bytedance (not exact)."""
    best, ids, exact = 0, set(), False
    for sig in sigs:
        for declared in packages:
            for pkg in signature_packages(sig):
                if declared == pkg or declared.startswith(pkg + "."):
                    score, strong = 2 * len(pkg) + 1, True
                elif pkg.startswith(declared + "."):
                    score, strong = 2 * len(declared), False
                else:
                    continue
                if score > best:
                    best, ids, exact = score, {sig.id}, strong
                elif score == best:
                    ids.add(sig.id)
    return sorted(ids), exact


def _name_candidates(text: str, sigs: list[Signature]) -> tuple[list[str], str, bool]:
    """Signatures whose id, name or alias equals the published name or a bracketed part of it (exact),
    else the ones with the longest known name contained in it (友盟统计 in 友盟统计分析服务)."""
    variants = [_norm(text)] + [_norm(v) for v in _BRACKETS.findall(text)] + [_norm(_BRACKETS.sub("", text))]
    variants = [v for v in dict.fromkeys(variants) if v]
    keys: dict[str, set[str]] = {}
    for sig in sigs:
        for key in (sig.id, sig.name, sig.name_zh or "", *sig.aliases):
            k = _norm(key)
            if k:
                keys.setdefault(k, set()).add(sig.id)
    for variant in variants:
        if variant in keys:
            return sorted(keys[variant]), "name", True
    best_len, best_ids = 0, set()
    for key, ids in keys.items():
        if len(key) < (2 if re.search(r"[\u4e00-\u9fff]", key) else 4):
            continue
        if any(key in v for v in variants):
            if len(key) > best_len:
                best_len, best_ids = len(key), set(ids)
            elif len(key) == best_len:
                best_ids |= ids
    return sorted(best_ids), "contains", False


def _narrow(name: str, ids: list[str], how: str, exact: bool, sigs: list[Signature], vendor: str | None) -> SdkMatch:
    if len(ids) > 1 and vendor:
        vkey = _norm(vendor)
        same_vendor = [s.id for s in sigs if s.id in ids and vkey in {_norm(s.vendor.name), _norm(s.vendor.name_zh or "")}]
        if len(same_vendor) == 1:
            return SdkMatch(name, same_vendor, how + "+vendor", exact)
    return SdkMatch(name, ids, how, exact)


def package_family(entry: SDKEntry, match: SdkMatch, signatures: Mapping[str, Signature]) -> list[str]:
    """Signature ids a matched entry also covers through its package prefix: an entry published as
    com.amap.api (高德) names the vendor's location, map and search packages alike. Only the matched
    SDK's own vendor counts, so a prefix never declares another company's SDK."""
    sig = signatures.get(match.sdk_id or "")
    prefixes = [p.lower() for p in _PACKAGE.findall(unicodedata.normalize("NFKC", entry.name).lower())]
    if entry.package:
        prefixes.append(entry.package.strip().lower())
    if sig is None or not prefixes:
        return []
    return sorted(other.id for other in signatures.values()
                  if other.vendor.id == sig.vendor.id and other.id != sig.id and any(
                      pkg == prefix or pkg.startswith(prefix + ".") for pkg in signature_packages(other) for prefix in prefixes))


def resolve_sdk_ids(declaration: Declaration, signatures: Iterable[Signature]) -> dict[int, SdkMatch]:
    """Match of every SDK-list entry, by position in the list."""
    sigs = list(signatures)
    return {i: match_sdk(e.name, sigs, vendor=e.vendor, package=e.package, sdk_id=e.sdk_id)
            for i, e in enumerate(declaration.sdk_list)}
