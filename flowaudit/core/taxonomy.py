"""The personal-data taxonomy: fixed ids shared by detectors, signatures, declarations and findings.

Each type carries its English and Chinese names, its class (device information, personal, sensitive per
GB/T 35273-2020 Appendix B and PIPL art. 28), whether it is a permanent or a resettable identifier
(GB/T 41391-2022 Appendix F) and the names used for it in published Chinese lists, so that a declaration
written in Chinese maps onto the same ids as the detectors (``map_type_name``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

TYPE_IDS: tuple[str, ...] = (
    "imei", "meid", "imsi", "iccid", "serial_number", "android_id", "oaid", "vaid", "aaid", "gaid",
    "idfa", "idfv", "mac_address", "bluetooth_mac", "wifi_ssid", "wifi_bssid", "cell_location",
    "precise_location", "coarse_location", "ip_address", "phone_number", "email", "real_name",
    "id_card_number", "passport_number", "bank_card_number", "credentials", "installed_apps",
    "running_processes", "contacts", "sms", "call_log", "clipboard", "photos", "audio", "sensor_data",
    "device_model", "os_version", "carrier", "screen_info",
)

TypeClass = Literal["device", "personal", "sensitive"]
# "sim": fixed for the SIM card, not resettable by the user, but not a device identifier either.
Permanence = Literal["permanent", "resettable", "sim"]


@dataclass(frozen=True, slots=True)
class DataType:
    id: str
    name_en: str
    name_zh: str
    cls: TypeClass
    permanence: Permanence | None = None      # None: not an identifier
    synonyms: tuple[str, ...] = ()            # names used in published lists (Chinese and English)

    @property
    def sensitive(self) -> bool:
        """Sensitive personal information (GB/T 35273 App. B, PIPL art. 28)."""
        return self.cls == "sensitive"

    @property
    def identifier(self) -> bool:
        return self.permanence is not None

    @property
    def immutable_device_id(self) -> bool:
        """An identifier the user cannot reset (GB/T 41391 App. F): IMEI, MEID, MAC, serial number."""
        return self.permanence == "permanent"


def _t(id: str, en: str, zh: str, cls: TypeClass, perm: Permanence | None, *syn: str) -> DataType:
    return DataType(id, en, zh, cls, perm, syn)


TYPES: dict[str, DataType] = {t.id: t for t in (
    _t("imei", "IMEI", "国际移动设备识别码（IMEI）", "device", "permanent",
       "IMEI", "IMEI号", "IMEI码", "国际移动设备识别码", "国际移动设备身份码", "手机串号", "设备串号", "串号",
       "移动设备识别码"),
    _t("meid", "MEID", "移动设备识别码（MEID）", "device", "permanent", "MEID", "MEID号"),
    _t("imsi", "IMSI", "国际移动用户识别码（IMSI）", "device", "sim",
       "IMSI", "IMSI号", "SIM卡IMSI", "SIM卡IMSI信息", "SIM 卡 IMSI 信息", "SIM卡 IMSI", "国际移动用户识别码",
       "用户识别码", "IVSI"),
    _t("iccid", "ICCID (SIM card number)", "SIM卡号（ICCID）", "device", "sim",
       "ICCID", "SIM卡号", "SIM卡序列号", "SIM卡识别码", "集成电路卡识别码", "SIM卡/ICCID", "SIM卡ICCID"),
    _t("serial_number", "Hardware serial number", "硬件序列号", "device", "permanent",
       "硬件序列号", "设备序列号", "序列号", "Serial", "SN", "SN码", "build_serial", "Serial Number",
       "serial number", "设备SN", "设备SN号"),
    _t("android_id", "Android ID", "安卓ID（Android ID）", "device", "resettable",
       "Android ID", "AndroidID", "Android_ID", "ANDROID ID", "安卓ID", "SSAID", "Andriod ID", "android id",
       "android device id", "android identifier"),
    _t("oaid", "OAID (open anonymous device identifier)", "匿名设备标识符（OAID）", "device", "resettable",
       "OAID", "匿名设备标识符", "开放匿名设备标识符", "匿名设备标识"),
    _t("vaid", "VAID (developer anonymous device identifier)", "开发者匿名设备标识符（VAID）", "device",
       "resettable", "VAID", "开发者匿名设备标识符"),
    _t("aaid", "AAID (application anonymous device identifier)", "应用匿名设备标识符（AAID）", "device",
       "resettable", "AAID", "应用匿名设备标识符", "应用匿名标识"),
    _t("gaid", "Google advertising ID", "谷歌广告标识符（GAID）", "device", "resettable",
       "GAID", "Google广告ID", "Google 广告 ID", "谷歌广告ID", "谷歌广告标识符", "Google Advertising ID",
       "Android广告ID", "android advertising id", "google ad id", "AdID"),
    _t("idfa", "IDFA (identifier for advertisers)", "广告标识符（IDFA）", "device", "resettable",
       "IDFA", "广告标识符", "苹果广告标识符", "identifier for advertising", "DFA"),
    _t("idfv", "IDFV (identifier for vendor)", "开发商标识符（IDFV）", "device", "resettable",
       "IDFV", "开发商标识符", "供应商标识符", "应用开发商标识符", "identifier for vendor"),
    _t("mac_address", "Wi-Fi MAC address", "设备MAC地址", "device", "permanent",
       "MAC地址", "MAC 地址", "设备MAC地址", "设备的MAC地址", "mac地址", "MAC", "Wi-Fi MAC地址", "WiFi MAC地址",
       "WLAN MAC地址", "设备WI-FI地址", "设备Wi-Fi地址", "网卡地址", "物理地址", "MAC address", "wifi mac address",
       "media access control address"),
    _t("bluetooth_mac", "Bluetooth MAC address", "蓝牙MAC地址", "device", "permanent",
       "蓝牙MAC地址", "蓝牙地址", "设备蓝牙地址", "蓝牙MAC", "Bluetooth MAC", "Bluetooth address", "蓝牙设备地址"),
    _t("wifi_ssid", "Wi-Fi network name (SSID)", "WLAN名称（SSID）", "personal", None,
       "SSID", "WiFi名称", "Wi-Fi名称", "WLAN名称", "无线网络名称", "WiFi SSID", "Wi-Fi SSID", "WLAN接入点",
       "Wi-Fi 参数", "Wi-Fi参数", "WiFi列表", "Wi-Fi列表", "WLAN列表", "WiFi信息", "Wi-Fi信息", "WLAN信息",
       "附近的WiFi", "附近WiFi列表"),
    _t("wifi_bssid", "Wi-Fi access point MAC (BSSID)", "WLAN接入点MAC（BSSID）", "personal", None,
       "BSSID", "路由器MAC地址", "WiFi BSSID", "Wi-Fi BSSID", "无线路由器MAC地址", "接入点MAC地址"),
    _t("cell_location", "Cell tower information", "基站信息", "personal", None,
       "基站信息", "基站", "基站位置", "基站定位", "小区信息", "cell id", "Cell ID", "LAC", "CID", "基站ID",
       "蜂窝网络信息", "周边基站信息"),
    _t("precise_location", "Precise location", "精确位置信息", "sensitive", None,
       "精确位置", "精准定位", "精确位置信息", "精准位置", "精确定位", "精准定位信息", "GPS位置", "GPS信息", "GPS定位",
       "GPS", "经纬度", "经纬度信息", "地理坐标", "行踪轨迹", "精确地理位置", "precise location", "行程信息"),
    _t("coarse_location", "Coarse location", "粗略位置信息", "personal", None,
       "粗略位置", "粗略位置信息", "大致位置", "城市信息", "所在城市", "IP地址解析的位置信息", "网络位置",
       "coarse location", "城市", "区域信息"),
    _t("ip_address", "IP address", "IP地址", "personal", None,
       "IP地址", "IP 地址", "网络IP地址", "IP", "IP address", "公网IP", "设备IP地址", "internet protocol address"),
    _t("phone_number", "Mobile phone number", "手机号码", "personal", None,
       "手机号码", "手机号", "电话号码", "联系电话", "移动电话号码", "本机号码", "手机号码信息", "phone number",
       "收票人手机", "注册电话", "联系方式", "mobile number", "telephone number", "mobile phone number"),
    _t("email", "Email address", "电子邮箱", "personal", None,
       "电子邮箱", "电子邮件地址", "电子邮箱地址", "邮箱", "邮箱地址", "Email", "E-mail", "email address",
       "收票人邮箱", "e-mail address"),
    _t("real_name", "Real name", "真实姓名", "personal", None,
       "真实姓名", "姓名", "用户姓名", "实名信息", "名字", "real name", "full name", "收票人姓名", "person name",
       "first and last name", "legal name"),
    _t("id_card_number", "Resident ID card number", "身份证号码", "sensitive", None,
       "身份证号码", "身份证号", "身份证", "身份证件号码", "居民身份证号码", "证件号码", "证件号", "身份证信息",
       "ID card number", "身份证件信息"),
    _t("passport_number", "Passport number", "护照号码", "sensitive", None,
       "护照号码", "护照号", "护照", "护照信息", "passport number"),
    _t("bank_card_number", "Bank card number", "银行卡号", "sensitive", None,
       "银行卡号", "银行卡号码", "银行卡", "银行卡信息", "银行账号", "银行账户", "信用卡号", "储蓄卡号", "卡号",
       "银行账户信息", "bank card number", "credit card number"),
    _t("credentials", "Passwords and verification codes", "账号口令及验证码", "sensitive", None,
       "密码", "登录密码", "账号密码", "口令", "账号口令", "验证码", "短信验证码", "动态验证码", "支付密码", "password",
       "verification code", "OTP", "credential", "credentials", "login credentials"),
    _t("installed_apps", "Installed applications list", "软件安装列表", "personal", None,
       "软件安装列表", "应用安装列表", "已安装应用列表", "已安装APP信息", "已安装应用信息", "应用列表", "应用列表信息",
       "安装列表", "已安装的应用列表", "已安装软件列表", "软件列表", "App列表", "APP列表", "安装应用列表",
       "安装的应用信息", "应用程序列表", "已安装应用", "installed apps", "app list", "已安装APP列表"),
    _t("running_processes", "Running processes", "运行中进程信息", "personal", None,
       "运行中进程", "运行中进程信息", "运行中的进程", "进程信息", "运行中的应用信息", "运行中的应用", "正在运行的进程",
       "正在运行的应用", "APP运行中进程信息", "已安装APP运行中进程信息", "running processes", "后台进程"),
    _t("contacts", "Contacts (address book)", "通讯录", "sensitive", None,
       "通讯录", "通讯录信息", "联系人", "联系人信息", "手机通讯录", "通信录", "contacts", "address book"),
    _t("sms", "Text messages", "短信", "sensitive", None,
       "短信", "短信信息", "短信内容", "短消息", "SMS", "短信记录", "text messages"),
    _t("call_log", "Call log", "通话记录", "sensitive", None,
       "通话记录", "通话信息", "通话记录信息", "通讯记录", "通信记录", "呼叫记录", "call log"),
    _t("clipboard", "Clipboard content", "剪切板信息", "sensitive", None,
       "剪切板", "剪贴板", "剪切板信息", "剪贴板信息", "剪切板内容", "剪贴板内容", "粘贴板", "clipboard"),
    _t("photos", "Photos and images", "图片（相册）", "personal", None,
       "相册", "照片", "图片", "相册信息", "图片信息", "相片", "photos", "images", "相册内容", "头像照片", "camera",
       "photo library", "pictures"),
    _t("audio", "Audio and video recordings", "音视频信息", "personal", None,
       "音频", "录音", "语音", "语音信息", "音频信息", "音视频", "视频", "麦克风", "录音信息", "audio", "voice",
       "microphone", "voice recordings", "video"),
    _t("sensor_data", "Motion sensor data", "传感器信息", "device", None,
       "传感器信息", "传感器", "设备传感器信息", "陀螺仪传感器", "加速度传感器", "重力传感器", "陀螺仪", "加速度计",
       "方向传感器", "磁力传感器", "传感器数据", "sensor data", "accelerometer", "gyroscope"),
    _t("device_model", "Device model and brand", "设备型号", "device", None,
       "设备型号", "手机型号", "终端型号", "设备品牌", "设备品牌及型号", "设备品牌和型号", "品牌", "型号", "手机品牌",
       "设备制造商", "设备厂商", "制造商", "产品品牌", "机型", "设备类型", "device model", "手机类型", "设备名称",
       "device manufacturer", "manufacturer", "model", "brand"),
    _t("os_version", "Operating system and version", "操作系统版本", "device", None,
       "操作系统版本", "系统版本", "操作系统", "手机系统的版本", "软件系统版本", "系统版本号", "操作系统版本号", "OS版本",
       "手机操作系统", "Android版本", "iOS版本", "系统信息", "系统基本信息", "os version", "安卓版本", "operating system",
       "operating system version", "system version"),
    _t("carrier", "Mobile carrier", "运营商信息", "device", None,
       "运营商", "运营商信息", "运营商类型", "电信运营商", "网络运营商", "SIM卡运营商", "运营商名称", "carrier",
       "sim卡信息(mcc&mnc)", "SIM卡信息", "mcc&mnc", "SIM卡制造商"),
    _t("screen_info", "Screen size and resolution", "屏幕信息", "device", None,
       "屏幕分辨率", "屏幕信息", "屏幕尺寸", "屏幕大小", "屏幕密度", "分辨率", "屏幕高宽", "屏幕宽高", "屏幕方向",
       "设备分辨率", "screen resolution", "屏幕参数"),
)}

assert tuple(TYPES) == TYPE_IDS, "TYPES must list every id of TYPE_IDS, in order"

# Umbrella terms of published lists that stand for several types. When followed by a parenthetical that
# names types ("设备标识符（IMEI、Android ID、OAID）"), the parenthetical wins and the umbrella adds nothing.
_DEVICE_IDS = ("imei", "meid", "imsi", "iccid", "serial_number", "android_id", "oaid", "vaid", "aaid",
               "gaid", "idfa", "idfv", "mac_address")
_RESETTABLE_IDS = ("android_id", "oaid", "vaid", "aaid", "gaid", "idfa", "idfv")
GROUPS: dict[str, tuple[str, ...]] = {
    "设备标识符": _DEVICE_IDS, "设备标识": _DEVICE_IDS, "设备标识信息": _DEVICE_IDS, "设备识别码": _DEVICE_IDS,
    "设备识别信息": _DEVICE_IDS, "唯一设备标识码": _DEVICE_IDS, "唯一设备识别码": _DEVICE_IDS,
    "设备唯一标识符": _DEVICE_IDS, "设备唯一标识": _DEVICE_IDS, "终端设备唯一标识符": _DEVICE_IDS,
    "终端设备标识符": _DEVICE_IDS, "设备ID": _DEVICE_IDS, "设备id": _DEVICE_IDS, "硬件标识符": _DEVICE_IDS,
    "唯一标识符": _DEVICE_IDS, "应用内设备标识符": _RESETTABLE_IDS, "广告标识符类": _RESETTABLE_IDS,
    "设备信息": ("device_model", "os_version", "screen_info"),
    "设备属性信息": ("device_model", "os_version", "screen_info"),
    "设备硬件信息": ("device_model", "screen_info"),
    "设备相关信息": ("device_model", "os_version", "screen_info"),
    "基础设备信息": ("device_model", "os_version", "screen_info"),
    "设备基本信息": ("device_model", "os_version", "screen_info"),
    "位置信息": ("precise_location", "coarse_location"),
    "地理位置": ("precise_location", "coarse_location"),
    "地理位置信息": ("precise_location", "coarse_location"),
    "位置": ("precise_location", "coarse_location"),
    "定位信息": ("precise_location", "coarse_location"),
    "设备所在位置相关信息": ("precise_location", "coarse_location"),
    "location": ("precise_location", "coarse_location"),
    "device identifiers": _DEVICE_IDS, "device identifier": _DEVICE_IDS, "device ids": _DEVICE_IDS,
    "device id": _DEVICE_IDS, "unique device identifiers": _DEVICE_IDS,
    "advertising identifier": ("gaid", "idfa", "oaid"), "advertising identifiers": ("gaid", "idfa", "oaid"),
    "advertising id": ("gaid", "idfa", "oaid"), "广告标识": ("gaid", "idfa", "oaid"),
    "device information": ("device_model", "os_version", "screen_info"),
    "device info": ("device_model", "os_version", "screen_info"),
    "hardware information": ("device_model", "screen_info"),
    "location information": ("precise_location", "coarse_location"),
    "geolocation": ("precise_location", "coarse_location"),
    "geographical location": ("precise_location", "coarse_location"),
    "approximate location": ("coarse_location",),
    "WLAN接入点信息": ("wifi_ssid", "wifi_bssid"),
    "WiFi状态": ("wifi_ssid", "wifi_bssid"),
    "Wi-Fi 状态": ("wifi_ssid", "wifi_bssid"),
    "Wi-Fi状态": ("wifi_ssid", "wifi_bssid"),
    "通讯信息": ("contacts", "sms", "call_log"),
    "通信信息": ("contacts", "sms", "call_log"),
    "个人身份信息": ("real_name", "id_card_number"),
    "身份核验信息": ("real_name", "id_card_number"),
    "身份信息": ("real_name", "id_card_number"),
    "实名认证信息": ("real_name", "id_card_number"),
}

# Words that carry no type of their own inside a declared type name: connectors, qualifiers, list noise.
_FILLER = frozenset({
    "如", "例如", "等", "等等", "和", "及", "以及", "或", "与", "含", "包括", "包含", "其中", "信息", "可选", "必选",
    "可选信息", "必选信息", "仅android", "仅ios", "双端", "android", "ios", "android端", "ios端", "具体字段因软硬件版本不同而存在差异",
    "针对android q以及q以下版本", "安卓10以下版本获取", "仅gms服务", "的", "字段", "数据", "相关信息", "获取", "收集",
    "android如", "ios如", "设备", "地址", "号码", "等信息", "收集个人信息类型", "个人信息", "类型",
    "and", "or", "and/or", "such as", "including", "e.g.", "e.g", "eg", "etc", "etc.", "the", "your", "of", "other",
    "information", "info", "data", "optional", "including but not limited to", "as well as", "with",
})

_NORMALIZE_TABLE = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")", "、": ",",
                                  "，": ",", "；": ";", "：": ":", "／": "/", "　": " ", "＆": "&"})
_SEPARATORS = re.compile(r"[(),;:/&|\[\]{}<>\"'“”‘’\n\t*·•]+|\s{2,}|(?<=[\u4e00-\u9fff])\s+|\s+(?=[\u4e00-\u9fff])")


_CJK_SPACE = re.compile(r"\s*([\u4e00-\u9fff])\s*")
_CONNECTORS = re.compile(r"^(?:以及|和|及|或|与|如|包括|包含|含|例如)+|(?:等等|等)$")


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_NORMALIZE_TABLE).lower()
    # "IP 地址", "Wi-Fi 列表": spacing next to Chinese characters is not significant.
    return _CJK_SPACE.sub(r"\1", text)


@lru_cache(maxsize=1)
def _phrase_index() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]], frozenset[str]]:
    phrases: dict[str, tuple[str, ...]] = {}
    for data_type in TYPES.values():
        for name in (data_type.id, data_type.name_zh, data_type.name_en, *data_type.synonyms):
            key = _normalize(name)
            phrases[key] = tuple(dict.fromkeys((*phrases.get(key, ()), data_type.id)))
    groups = {_normalize(k) for k in GROUPS}
    for name, ids in GROUPS.items():
        phrases.setdefault(_normalize(name), ids)
    alternatives = []
    for phrase in sorted(phrases, key=len, reverse=True):
        escaped = re.escape(phrase)
        # Latin phrases must not match inside a longer Latin word (``mac`` in ``machine``, ``ip`` in ``zip``).
        if re.match(r"[a-z0-9]", phrase):
            escaped = r"(?<![a-z0-9])" + escaped
        if re.search(r"[a-z0-9]$", phrase):
            escaped += r"(?![a-z0-9])"
        alternatives.append(escaped)
    return re.compile("|".join(alternatives)), phrases, frozenset(groups)


def _close_paren(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


def map_type_name(text: str) -> tuple[list[str], str]:
    """Map a free-text type name from a declaration onto taxonomy ids.

    Returns the ids (in order of first appearance) and the part of the text that could not be mapped
    (fragments joined by "、", empty when everything was understood). Nothing is guessed: a fragment that
    names no known type is returned, never dropped, except connectors and qualifiers (如, 等, 可选...).
    Umbrella terms (设备标识符, 设备信息, 位置信息) expand to their members unless a following parenthetical
    names the members precisely.
    """
    pattern, phrases, groups = _phrase_index()
    norm = _normalize(text or "")
    ids: list[str] = []
    covered = [False] * len(norm)
    matches = list(pattern.finditer(norm))
    for match in matches:
        phrase = match.group(0)
        for index in range(match.start(), match.end()):
            covered[index] = True
        if phrase in groups:
            rest = norm[match.end():]
            stripped = rest.lstrip()
            if stripped.startswith("("):
                open_at = match.end() + len(rest) - len(stripped)
                inner = norm[open_at + 1:_close_paren(norm, open_at)]
                if any(m.group(0) not in groups for m in pattern.finditer(inner)):
                    continue
        for type_id in phrases[phrase]:
            if type_id not in ids:
                ids.append(type_id)
    remainder_chars = "".join(ch if not covered[i] else "\x00" for i, ch in enumerate(norm))
    fragments = []
    for piece in re.split(r"\x00+", remainder_chars):
        for part in _SEPARATORS.split(piece):
            part = _CONNECTORS.sub("", part.strip(" .,-_")).strip(" .,-_")
            if part and part not in _FILLER and not re.fullmatch(r"[\d\s.]+", part):
                fragments.append(part)
    return ids, "、".join(dict.fromkeys(fragments))


def get(type_id: str) -> DataType:
    return TYPES[type_id]


def sensitive_types() -> frozenset[str]:
    return frozenset(t.id for t in TYPES.values() if t.sensitive)


def immutable_device_ids() -> frozenset[str]:
    return frozenset(t.id for t in TYPES.values() if t.immutable_device_id)
