from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowaudit.core.taxonomy import (
    GROUPS,
    TYPE_IDS,
    TYPES,
    immutable_device_ids,
    map_type_name,
    sensitive_types,
)

STABLE_IDS = (
    "imei meid imsi iccid serial_number android_id oaid vaid aaid gaid idfa idfv mac_address bluetooth_mac "
    "wifi_ssid wifi_bssid cell_location precise_location coarse_location ip_address phone_number email "
    "real_name id_card_number passport_number bank_card_number credentials installed_apps running_processes "
    "contacts sms call_log clipboard photos audio sensor_data device_model os_version carrier screen_info"
).split()


def test_type_ids_are_the_stable_interface() -> None:
    assert list(TYPE_IDS) == STABLE_IDS
    assert list(TYPES) == STABLE_IDS


@pytest.mark.parametrize("type_id", STABLE_IDS)
def test_every_type_has_metadata(type_id: str) -> None:
    data_type = TYPES[type_id]
    assert data_type.name_en and data_type.name_zh
    assert data_type.cls in ("device", "personal", "sensitive")
    assert data_type.synonyms, "published lists need a name to map onto this type"
    assert data_type.sensitive == (data_type.cls == "sensitive")


def test_classes_follow_the_standards() -> None:
    assert immutable_device_ids() == {"imei", "meid", "serial_number", "mac_address", "bluetooth_mac"}
    assert {"id_card_number", "precise_location", "contacts", "bank_card_number", "credentials",
            "sms", "call_log"} <= sensitive_types()
    assert "coarse_location" not in sensitive_types()
    for resettable in ("android_id", "oaid", "vaid", "aaid", "gaid", "idfa", "idfv"):
        assert TYPES[resettable].permanence == "resettable"
    assert TYPES["device_model"].permanence is None


def test_group_members_are_known_ids() -> None:
    for ids in GROUPS.values():
        assert set(ids) <= set(TYPE_IDS)


@pytest.mark.parametrize(("text", "ids", "rest"), [
    ("设备标识符（IMEI、Android ID、OAID）", ["imei", "android_id", "oaid"], ""),
    ("设备MAC地址", ["mac_address"], ""),
    ("位置信息", ["precise_location", "coarse_location"], ""),
    ("位置信息（可选）", ["precise_location", "coarse_location"], ""),
    ("精确位置信息", ["precise_location"], ""),
    ("软件安装列表", ["installed_apps"], ""),
    ("已安装APP信息", ["installed_apps"], ""),
    ("手机号码", ["phone_number"], ""),
    ("IMEI/MEID/IMSI", ["imei", "meid", "imsi"], ""),
    ("剪切板", ["clipboard"], ""),
    ("剪贴板信息", ["clipboard"], ""),
    ("通讯录", ["contacts"], ""),
    ("设备信息", ["device_model", "os_version", "screen_info"], ""),
    ("手机号、验证码、密码、邮箱", ["phone_number", "credentials", "email"], ""),
    ("IP 地址、运营商信息", ["ip_address", "carrier"], ""),
    ("设备传感器信息(含陀螺仪传感器,加速度传感器,重力传感器)", ["sensor_data"], ""),
    ("SIM 卡 IMSI 信息", ["imsi"], ""),
])
def test_map_type_name(text: str, ids: list[str], rest: str) -> None:
    assert map_type_name(text) == (ids, rest)


def test_umbrella_with_details_keeps_only_the_details_and_reports_the_rest() -> None:
    ids, rest = map_type_name("设备信息（IMEI、IMSI、Android ID、设备型号、操作系统版本和语言）")
    assert ids == ["imei", "imsi", "android_id", "device_model", "os_version"]
    assert rest == "语言"


def test_unmapped_text_is_returned_not_dropped() -> None:
    ids, rest = map_type_name("设备信息（IMEI/MAC/Android ID/OpenUDID/GUID）、网络信息、应用列表（可选）")
    assert ids == ["imei", "mac_address", "android_id", "installed_apps"]
    assert rest.split("、") == ["openudid", "guid", "网络信息"]
    assert map_type_name("头像、昵称") == ([], "头像、昵称")
    assert map_type_name("") == ([], "")


def test_latin_synonyms_do_not_match_inside_words() -> None:
    assert map_type_name("machine learning")[0] == []
    assert map_type_name("zip code")[0] == []


def test_real_published_lists() -> None:
    ids, rest = map_type_name(
        "设备MAC地址、唯一设备标识码(DFA、IMEI、OAID、Android ID、IVSI)、App内用户操作记录、获取已安装APP运行中进程信息")
    assert ids == ["mac_address", "idfa", "imei", "oaid", "android_id", "imsi", "running_processes"]
    assert rest == "app内用户操作记录"
    ids, _ = map_type_name("终端设备唯一标识符(Android_ID、IDFV、OAID)、操作系统版本、设备品牌及型号、运营商类型、"
                           "位置信息、应用安装列表、剪贴板信息")
    assert ids == ["android_id", "idfv", "oaid", "os_version", "device_model", "carrier", "precise_location",
                   "coarse_location", "installed_apps", "clipboard"]


@pytest.mark.parametrize(("text", "ids", "rest"), [
    ("Device identifiers (IMEI, Android ID)", ["imei", "android_id"], ""),
    ("device information", ["device_model", "os_version", "screen_info"], ""),
    ("Location information, IP address", ["precise_location", "coarse_location", "ip_address"], ""),
    ("email address and phone number", ["email", "phone_number"], ""),
    ("advertising identifier", ["gaid", "idfa", "oaid"], ""),
    ("approximate location", ["coarse_location"], ""),
    ("camera, microphone, nickname", ["photos", "audio"], "nickname"),
])
def test_english_declarations(text: str, ids: list[str], rest: str) -> None:
    assert map_type_name(text) == (ids, rest)


@given(st.text(max_size=120))
def test_map_type_name_never_raises_and_returns_known_ids(text: str) -> None:
    ids, rest = map_type_name(text)
    assert set(ids) <= set(TYPE_IDS) and len(ids) == len(set(ids))
    assert isinstance(rest, str)
