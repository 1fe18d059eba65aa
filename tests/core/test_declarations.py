from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flowaudit.core.declarations import (
    Declaration,
    DeclarationError,
    Frequency,
    declaration_json_schema,
    load_declaration,
    map_type_name,
    match_sdk,
    parse_frequency,
)
from flowaudit.core.signature_schema import Signature

REPO = Path(__file__).resolve().parents[2]


def sig(id_: str, name: str, name_zh: str | None = None, vendor: str = "v", vendor_zh: str | None = None,
        aliases: tuple[str, ...] = (), packages: tuple[str, ...] = ()) -> Signature:
    return Signature.model_validate({
        "id": id_, "name": name, "name_zh": name_zh, "vendor": {"id": vendor, "name": vendor.title() + " Inc.",
                                                                "name_zh": vendor_zh},
        "category": "analytics", "aliases": list(aliases), "android_packages": list(packages),
        "provenance": [{"source": "curated"}]})


SIGS = [
    sig("umeng-analytics", "Umeng Analytics", "友盟统计分析SDK", "umeng", "北京锐讯灵通科技有限公司",
        ("友盟统计SDK", "友盟+", "Umeng"), ("com.umeng.analytics", "com.umeng.commonsdk")),
    sig("amap-location", "AMap Location", "高德定位SDK", "amap", "高德软件有限公司", ("高德地图", "高德"), ("com.amap.api",)),
    sig("pangle", "Pangle", "穿山甲", "bytedance", "北京巨量引擎网络科技有限公司", ("穿山甲广告SDK",),
        ("com.bytedance.sdk.openadsdk",)),
    sig("tencent-bugly", "Bugly", "腾讯Bugly", "tencent", "深圳市腾讯计算机系统有限公司", ("Bugly",), ("com.tencent.bugly",)),
    sig("tencent-gdt", "GDT", "优量汇", "tencent", "深圳市腾讯计算机系统有限公司", ("广点通", "腾讯优量汇"), ("com.qq.e",)),
]


def minimal(**extra: object) -> dict:
    return {"format_version": 1, "app": {"name": "x"}, **extra}


def test_minimal_declaration_and_defaults():
    d = load_declaration(minimal())
    assert d.consent.marker == "consent" and d.pi_list == [] and d.app.platform == "android"


def test_unknown_keys_are_errors():
    with pytest.raises(DeclarationError, match="app.colour"):
        load_declaration({"app": {"name": "x", "colour": "red"}})
    with pytest.raises(DeclarationError, match="format_version"):
        load_declaration(minimal(format_version=7))
    with pytest.raises(DeclarationError, match="mapping"):
        load_declaration(["not", "a", "mapping"])


def test_category_normalised_and_validated():
    assert load_declaration(minimal(app={"name": "x", "category": "天气"})).app.category == "utility_tools"
    with pytest.raises(DeclarationError, match="unknown app category"):
        load_declaration(minimal(app={"name": "x", "category": "宠物"}))


def test_type_ids_are_checked():
    with pytest.raises(DeclarationError, match="unknown data-type"):
        load_declaration(minimal(pi_list=[{"type": "x", "type_ids": ["shoe_size"]}]))
    d = load_declaration(minimal(pi_list=[{"type": "imei"}, {"type": "设备MAC地址"}]))
    assert d.pi_list[0].resolved_types() == ["imei"]
    assert "mac_address" in d.pi_list[1].resolved_types()


def test_bad_consent_regex_is_one_line_error():
    with pytest.raises(DeclarationError, match="path_regex"):
        load_declaration(minimal(consent={"requests": [{"host": "a.example", "path_regex": "("}]}))


def test_consent_request_matching():
    d = load_declaration(minimal(consent={"requests": [{"host": "example.cn", "path_regex": "^/agree", "method": "post"}]}))
    rule = d.consent.requests[0]
    assert rule.matches("api.example.cn", "/agree/v1", "POST")
    assert not rule.matches("api.example.cn", "/agree/v1", "GET")
    assert not rule.matches("evilexample.cn", "/agree", "POST")


@pytest.mark.parametrize(("text", "expected"), [
    ("每次启动一次", (1, "launch", 1)), ("每天1次", (1, "day", 1)), ("每日两次", (2, "day", 1)),
    ("每5分钟一次", (1, "minute", 5)), ("每小时不超过十次", (10, "hour", 1)), ("once per launch", (1, "launch", 1)),
    ("3 times per hour", (3, "hour", 1)), ("实时", (None, None, 1)), ("按需收集", (None, None, 1)), ("", (None, None, 1)),
])
def test_parse_frequency(text, expected):
    assert parse_frequency(text) == expected


def test_frequency_from_string_and_window_seconds():
    f = Frequency.model_validate("每5分钟一次")
    assert f.max_count == 1 and f.window_seconds == 300
    assert Frequency.model_validate({"text": "x", "max_count": 4}).window == "launch"


def test_map_type_name_reports_remainder():
    ids, rest = map_type_name("设备信息（IMEI、Android ID、OAID）、网络类型")
    assert {"imei", "android_id", "oaid"} <= set(ids)
    assert rest  # 网络类型 is not a taxonomy type and must come back
    assert map_type_name("oaid") == (["oaid"], "")


def test_match_sdk_by_alias_name_package_vendor():
    assert match_sdk("友盟统计SDK", SIGS).sdk_id == "umeng-analytics"
    assert match_sdk("友盟统计分析SDK", SIGS).sdk_id == "umeng-analytics"
    assert match_sdk("穿山甲广告SDK(com.bytedance)", SIGS).sdk_id == "pangle"
    assert match_sdk("com.amap.api(高德)", SIGS).sdk_id == "amap-location"
    assert match_sdk("定位", SIGS, package="com.amap.api.location").how == "package"
    m = match_sdk("腾讯优量汇(广点通)", SIGS)
    assert m.sdk_id == "tencent-gdt"
    assert match_sdk("某某SDK", SIGS, vendor="高德软件有限公司").sdk_id == "amap-location"
    # a vendor with two SDKs alone is ambiguous, never guessed
    amb = match_sdk("腾讯SDK", SIGS, vendor="深圳市腾讯计算机系统有限公司")
    assert amb.sdk_id is None
    assert match_sdk("完全未知的SDK", SIGS).sdk_ids == []
    assert match_sdk("x", SIGS, sdk_id="tencent-bugly").how == "explicit"


def test_schema_export_is_json_schema_of_the_model():
    schema = declaration_json_schema()
    assert schema["$schema"].endswith("2020-12/schema") and "app" in schema["properties"]
    assert schema["additionalProperties"] is False
    json.dumps(schema)


def test_committed_schema_is_current():
    committed = json.loads((REPO / "docs" / "declaration.schema.json").read_text(encoding="utf-8"))
    assert committed == declaration_json_schema(), (
        "docs/declaration.schema.json is stale: run: flowaudit declare schema -o docs/declaration.schema.json")


def test_demo_declaration_validates():
    path = REPO / "captures" / "demo-declaration.yaml"
    d = load_declaration(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert isinstance(d, Declaration) and d.app.category == "utility_tools"
    assert any(e.privacy_policy_url is None for e in d.sdk_list)
