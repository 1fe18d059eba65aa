"""One test per finding kind, each with a case that must produce it and one that must not."""

from __future__ import annotations

import itertools

import pytest

from flowaudit.core.compare import SessionView, classify_download, compare
from flowaudit.core.declarations import load_declaration
from flowaudit.core.legal import KINDS
from flowaudit.core.model import Attribution, Detection, Marker, Observation, ObservationKind, Severity
from flowaudit.core.pipeline import Analysis

_ids = itertools.count(1)
APP_HOST = "api.lvxing-weather.example.cn"


def att(sdk_id: str, category: str = "analytics", first_party: bool = False) -> Attribution:
    return Attribution(sdk_id=sdk_id, name=sdk_id.title(), name_zh=None, vendor=sdk_id.split("-")[0],
                       category=category, rule="test", first_party=first_party)


def det(type_: str, key: str | None = None, location: str = "body", confidence: float = 0.95) -> Detection:
    return Detection(type=type_, location=location, key=key or type_, encoding="body>json", confidence=confidence,
                     reason="test", preview="12***89", value_hash="h" + type_)


def req(ts: float, host: str, *, sdk: str | None = None, types: tuple[str, ...] = (), tls: bool = True,
        path: str = "/collect", category: str = "analytics", first_party: bool = False, opaque: bool = False,
        status: int | None = 200, response_headers: list[tuple[str, str]] | None = None,
        response_head: bytes = b"", kind: ObservationKind = ObservationKind.REQUEST) -> Analysis:
    obs = Observation(ts=ts, host=host, method="POST" if types else "GET", scheme="https" if tls else "http",
                      path=path, tls=tls, status=status, response_headers=response_headers or [],
                      response_head=response_head, kind=kind, id=next(_ids))
    attribution = att(sdk, category) if sdk else (att("first-party", "other", True) if first_party else None)
    return Analysis(obs, attribution, [det(t) for t in types], opaque)


def view(*analyses: Analysis, markers: tuple[Marker, ...] = (), first_party: tuple[str, ...] = ()) -> SessionView:
    return SessionView(name="t", app_id="com.example.lvxingweather", analyses=list(analyses), markers=list(markers),
                       first_party_domains=list(first_party))


def declaration(**overrides: object) -> object:
    data: dict = {
        "format_version": 1,
        "app": {"name": "旅行天气", "package": "com.example.lvxingweather", "category": "天气",
                "first_party_domains": ["lvxing-weather.example.cn"]},
        "pi_list": [{"type": "手机号码", "necessary": True, "sensitive": False},
                    {"type": "设备标识符（OAID、Android ID）", "type_ids": ["oaid", "android_id"]}],
        "sdk_list": [{"name": "友盟统计SDK", "sdk_id": "umeng-analytics", "vendor": "友盟", "purpose": "统计",
                      "pi_types": ["OAID", "Android ID"], "type_ids": ["oaid", "android_id"],
                      "privacy_policy_url": "https://example.com/p"}],
    }
    data.update(overrides)
    return load_declaration(data)


def kinds(findings) -> list[str]:
    return [f.kind for f in findings]


def only(findings, kind):
    return [f for f in findings if f.kind == kind]


def test_every_finding_carries_catalogue_text():
    found = compare(view(req(1, "ulogs.umeng.com", sdk="umeng-analytics", types=("imei",))), declaration())
    assert found
    for f in found:
        assert f.legal_basis == KINDS[f.kind].legal_basis_zh and f.title_en and f.explanation_zh


def test_undeclared_sdk():
    v = view(req(1, "mi.gdt.qq.com", sdk="gdt", types=("oaid",)), req(2, "ulogs.umeng.com", sdk="umeng-analytics"))
    found = only(compare(v, declaration()), "undeclared_sdk")
    assert [f.sdk_id for f in found] == ["gdt"]
    assert found[0].severity == Severity.HIGH and found[0].evidence == [v.analyses[0].observation.id]
    # host-only sightings of an undeclared SDK are reported at medium
    sni = req(3, "api-access.pangolin-sdk-toutiao.com", sdk="pangle", kind=ObservationKind.TLS_SNI)
    found = only(compare(view(sni), declaration()), "undeclared_sdk")
    assert found[0].severity == Severity.MEDIUM and found[0].details["host_only"] is True
    # no declaration: nothing to be undeclared against
    assert not only(compare(v, None), "undeclared_sdk")


def test_attribution_tie_with_a_declared_sdk_is_declared():
    tied = req(1, "shared.example.com", sdk="other-analytics", types=("oaid",))
    tied.attribution = Attribution("other-analytics", "Other", None, "other", "analytics", "test",
                                   ties=("umeng-analytics",))
    found = compare(view(tied), declaration())
    assert not only(found, "undeclared_sdk") and not only(found, "undeclared_recipient")
    assert not [f for f in only(found, "declared_not_observed") if f.details["what"] == "sdk"]


def test_sdk_entry_incomplete():
    decl = declaration(sdk_list=[{"name": "华为推送", "vendor": "华为", "purpose": "推送", "pi_types": ["设备标识符"]}])
    found = only(compare(view(), decl), "sdk_entry_incomplete")
    assert len(found) == 1 and found[0].details["missing"] == ["privacy_policy_url"]
    assert not only(compare(view(), declaration()), "sdk_entry_incomplete")


def test_undeclared_data_type():
    v = view(req(1, "collect.adtrack-x.example.com", types=("installed_apps",)),
             req(2, APP_HOST, types=("phone_number",)))
    found = only(compare(v, declaration()), "undeclared_data_type")
    assert [f.data_type for f in found] == ["installed_apps"]
    assert found[0].details["recipients"] == ["collect.adtrack-x.example.com"]


def test_coarse_location_is_covered_by_declared_location():
    decl = declaration(pi_list=[{"type": "位置信息", "type_ids": ["precise_location"], "sensitive": True}])
    v = view(req(1, APP_HOST, types=("coarse_location",)))
    assert not only(compare(v, decl), "undeclared_data_type")


def test_data_type_not_declared_for_sdk():
    v = view(req(1, "ulogs.umeng.com", sdk="umeng-analytics", types=("imei", "oaid")))
    found = only(compare(v, declaration()), "data_type_not_declared_for_sdk")
    assert [(f.sdk_id, f.data_type) for f in found] == [("umeng-analytics", "imei")]
    v2 = view(req(1, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid", "android_id")))
    assert not only(compare(v2, declaration()), "data_type_not_declared_for_sdk")


def test_user_agent_device_model_is_not_counted():
    a = req(1, "ulogs.umeng.com", sdk="umeng-analytics")
    a.detections.append(det("device_model", key="User-Agent", location="header"))
    assert not only(compare(view(a), declaration()), "data_type_not_declared_for_sdk")
    b = req(1, "ulogs.umeng.com", sdk="umeng-analytics", types=("device_model",))
    assert only(compare(view(b), declaration()), "data_type_not_declared_for_sdk")


def test_undeclared_recipient():
    v = view(req(1, "collect.adtrack-x.example.com", types=("oaid",)),
             req(2, APP_HOST, types=("phone_number",)),
             req(3, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid",)),
             req(4, "mi.gdt.qq.com", sdk="gdt", types=("oaid",)))
    found = only(compare(v, declaration()), "undeclared_recipient")
    assert sorted(f.host for f in found) == ["collect.adtrack-x.example.com", "mi.gdt.qq.com"]
    # a partner declared by host is a declared recipient
    decl = declaration(sdk_list=[{"name": "AdTrack", "hosts": ["adtrack-x.example.com"]}])
    found = only(compare(view(v.analyses[0]), decl), "undeclared_recipient")
    assert not found
    # weak detections and generic device info do not make a recipient undeclared
    weak = req(5, "collect.adtrack-x.example.com")
    weak.detections.append(det("oaid", confidence=0.2))
    assert not only(compare(view(weak, req(6, "x.example.org", types=("device_model",))), declaration()),
                    "undeclared_recipient")


def test_collected_before_consent():
    before = req(1, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid",))
    after = req(30, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid",))
    consent = Marker(ts=20, kind="consent")
    found = only(compare(view(before, after, markers=(consent,)), declaration()), "collected_before_consent")
    assert len(found) == 1 and found[0].evidence == [before.observation.id]
    assert not only(compare(view(after, markers=(consent,)), declaration()), "collected_before_consent")
    # without any consent moment there is no "before"
    assert not only(compare(view(before), declaration()), "collected_before_consent")


def test_consent_recognised_by_request_pattern():
    consent_call = req(10, APP_HOST, path="/v1/privacy/agree", types=("oaid",))
    before = req(5, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid",))
    after = req(15, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid",))
    decl = declaration(consent={"requests": [{"host": "lvxing-weather.example.cn", "path_regex": "^/v1/privacy/agree"}]})
    found = only(compare(view(before, consent_call, after), decl), "collected_before_consent")
    assert [f.evidence for f in found] == [[before.observation.id]]


def test_collected_after_refusal():
    refusal = Marker(ts=10, kind="refusal")
    after = req(15, "mi.gdt.qq.com", sdk="gdt", types=("oaid",))
    before = req(5, "mi.gdt.qq.com", sdk="gdt", types=("oaid",))
    found = only(compare(view(before, after, markers=(refusal,)), declaration()), "collected_after_refusal")
    assert len(found) == 1 and found[0].evidence == [after.observation.id]
    # consent given later ends the refusal window
    later = req(40, "mi.gdt.qq.com", sdk="gdt", types=("oaid",))
    found = only(compare(view(later, markers=(refusal, Marker(ts=30, kind="consent"))), declaration()),
                 "collected_after_refusal")
    assert not found


def test_cleartext_transmission_of_pi():
    plain = req(1, APP_HOST, path="/v1/login", types=("phone_number",), tls=False)
    found = only(compare(view(plain), declaration()), "cleartext_transmission_of_pi")
    assert len(found) == 1 and found[0].host == APP_HOST and found[0].data_type == "phone_number"
    assert not only(compare(view(req(1, APP_HOST, types=("phone_number",))), declaration()),
                    "cleartext_transmission_of_pi")
    assert not only(compare(view(req(1, APP_HOST, tls=False)), declaration()), "cleartext_transmission_of_pi")


def test_excessive_frequency():
    decl = declaration(sdk_list=[{"name": "高德定位SDK", "sdk_id": "amap-location", "vendor": "高德", "purpose": "定位",
                                  "pi_types": ["位置信息"], "type_ids": ["precise_location"],
                                  "frequency": "每次启动一次", "privacy_policy_url": "https://lbs.amap.com/p"}])
    many = [req(21 + i * 5, "restsdk.amap.com", sdk="amap-location", types=("precise_location",)) for i in range(60)]
    found = only(compare(view(*many), decl), "excessive_frequency")
    assert len(found) == 1
    assert found[0].details["observed_count"] == 60 and found[0].details["max_count"] == 1
    # one per launch, with a foreground marker between the two requests
    two = [req(21, "restsdk.amap.com", sdk="amap-location", types=("precise_location",)),
           req(500, "restsdk.amap.com", sdk="amap-location", types=("precise_location",))]
    assert not only(compare(view(*two, markers=(Marker(ts=400, kind="foreground"),)), decl), "excessive_frequency")
    assert only(compare(view(*two), decl), "excessive_frequency")


def test_excessive_frequency_sliding_window_from_pi_list():
    decl = declaration(pi_list=[{"type": "手机号码", "frequency": "每小时2次"}])
    spread = [req(i * 2000, APP_HOST, types=("phone_number",)) for i in range(4)]
    assert not only(compare(view(*spread), decl), "excessive_frequency")
    burst = [req(i * 60, APP_HOST, types=("phone_number",)) for i in range(3)]
    found = only(compare(view(*burst), decl), "excessive_frequency")
    assert found and found[0].details["observed_count"] == 3


APK_HEAD = b"PK\x03\x04\x14\x00\x08\x08AndroidManifest.xml..."


def test_silent_apk_download():
    apk = req(100, "cdn.lvxing-weather.example.cn", path="/update/lvxing-2.1.0.apk",
              response_headers=[("Content-Type", "application/vnd.android.package-archive")], response_head=APK_HEAD)
    found = only(compare(view(apk), declaration()), "silent_apk_download")
    assert len(found) == 1 and found[0].evidence == [apk.observation.id]
    # by ZIP content alone
    sniffed = req(100, "dl.example.org", path="/x", response_head=APK_HEAD)
    assert only(compare(view(sniffed), None), "silent_apk_download")
    # a user action shortly before: not silent
    assert not only(compare(view(apk, markers=(Marker(ts=90, kind="user_action"),)), declaration()),
                    "silent_apk_download")
    # a signed APK whose first entries are META-INF files: the .apk path and the ZIP magic suffice
    signed = req(100, "dl.example.org", path="/app-release.apk", response_head=b"PK\x03\x04\x14\x00META-INF/MANIFEST.MF")
    assert only(compare(view(signed), None), "silent_apk_download")
    # a failed download is no download
    failed = req(100, "dl.example.org", path="/x.apk", status=404, response_head=APK_HEAD)
    assert not only(compare(view(failed), None), "silent_apk_download")


def test_hot_update_payload():
    patch = req(120, "cdn.lvxing-weather.example.cn", path="/patch/patch_signed_7zip.apk",
                response_head=b"PK\x03\x04\x14\x00classes.dex")
    found = compare(view(patch), declaration())
    assert kinds(found).count("hot_update_payload") == 1 and "silent_apk_download" not in kinds(found)
    dex = req(1, "x.example.org", path="/a", response_head=b"dex\n035\x00")
    rn = req(2, "x.example.org", path="/main.jsbundle", response_head=b"var __BUNDLE_START_TIME__=this.nativ")
    assert len(only(compare(view(dex, rn), None), "hot_update_payload")) == 2
    plain_js = req(3, "x.example.org", path="/app.js", response_head=b"function a(){return 1}")
    image = req(4, "x.example.org", path="/logo.png", response_head=b"\x89PNG\r\n")
    assert not only(compare(view(plain_js, image), None), "hot_update_payload")
    assert classify_download(image) is None


def test_beyond_necessary_scope():
    v = view(req(1, "restsdk.amap.com", sdk="amap-location", types=("precise_location", "device_model")))
    found = only(compare(v, declaration()), "beyond_necessary_scope")
    assert [f.data_type for f in found] == ["precise_location"]
    assert found[0].severity == Severity.LOW and found[0].details["category"] == "utility_tools"
    assert found[0].details["declared_necessary"] is False
    claims = declaration(pi_list=[{"type": "位置信息", "type_ids": ["precise_location"], "necessary": True}])
    assert only(compare(v, claims), "beyond_necessary_scope")[0].details["declared_necessary"] is True
    decl = declaration(app={"name": "地图", "category": "地图导航"})
    assert not only(compare(v, decl), "beyond_necessary_scope")


def test_sensitive_pi_not_marked():
    decl = declaration(pi_list=[{"type": "位置信息", "type_ids": ["precise_location"]}])
    v = view(req(1, "restsdk.amap.com", types=("precise_location",)))
    found = only(compare(v, decl), "sensitive_pi_not_marked")
    assert len(found) == 1 and found[0].data_type == "precise_location" and found[0].evidence
    marked = declaration(pi_list=[{"type": "位置信息", "type_ids": ["precise_location"], "sensitive": True}])
    assert not only(compare(v, marked), "sensitive_pi_not_marked")


def test_immutable_device_id():
    v = view(req(1, "sdk-open-phone.getui.com", sdk="getui-push", types=("mac_address",)),
             req(2, "ulogs.umeng.com", sdk="umeng-analytics", types=("imei", "oaid")))
    found = only(compare(v, None), "immutable_device_id")
    assert sorted(f.data_type for f in found) == ["imei", "mac_address"]
    assert not only(compare(view(req(1, "x.example.org", types=("oaid", "android_id"))), None), "immutable_device_id")


def test_opaque_payload():
    v = view(req(1, "fp-it.fengkongcloud.com", sdk="shumei", opaque=True))
    found = only(compare(v, declaration()), "opaque_payload")
    assert len(found) == 1 and found[0].severity == Severity.INFO
    assert not only(compare(view(req(1, "fp-it.fengkongcloud.com", sdk="shumei")), declaration()), "opaque_payload")
    assert not only(compare(view(req(1, APP_HOST, opaque=True)), declaration()), "opaque_payload")


def test_declared_not_observed():
    decl = declaration(sdk_list=[
        {"name": "友盟", "sdk_id": "umeng-analytics"}, {"name": "华为推送", "sdk_id": "huawei-push"}])
    v = view(req(1, "ulogs.umeng.com", sdk="umeng-analytics", types=("oaid",)))
    found = [f for f in compare(v, decl) if f.kind == "declared_not_observed" and f.details["what"] == "sdk"]
    assert [f.details["entry"] for f in found] == ["华为推送"]
    assert found[0].details["reason"] == "no traffic attributed to this SDK"
    unmapped = declaration(sdk_list=[{"name": "某未知SDK"}])
    found = [f for f in compare(v, unmapped) if f.kind == "declared_not_observed" and f.details["what"] == "sdk"]
    assert "no signature" in found[0].details["reason"]
    types = [f for f in compare(v, decl) if f.kind == "declared_not_observed" and f.details["what"] == "data_type"]
    assert [f.details["entry"] for f in types] == ["手机号码"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_catalogue_kind_is_produced_by_some_rule(kind):
    # every catalogued kind has a test above
    assert f"def test_{kind}" in open(__file__, encoding="utf-8").read()


def test_findings_sorted_by_severity():
    v = view(req(1, "fp-it.fengkongcloud.com", sdk="shumei", opaque=True),
             req(2, "mi.gdt.qq.com", sdk="gdt", types=("imei",)))
    ranks = [f.severity.rank for f in compare(v, declaration())]
    assert ranks == sorted(ranks, reverse=True)
