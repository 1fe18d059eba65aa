"""Importers on every published example in shared/reference/declared-examples/, in the formats they come
in (Markdown as published; CSV, XLSX and HTML written from them by code), and on hostile input."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from flowaudit.core.declarations import load_declaration
from flowaudit.core.signature_schema import Signature
from flowaudit.declare_import import (
    ImportError_,
    default_signatures,
    import_files,
    lint,
    markdown_tables,
    schema_text,
    split_items,
    to_yaml,
)

REPO = Path(__file__).resolve().parents[1]


def _shared() -> Path | None:
    for candidate in (Path("/work/shared"), REPO.parent / "shared"):
        if (candidate / "reference" / "declared-examples").is_dir():
            return candidate / "reference" / "declared-examples"
    return None


EXAMPLES = _shared()
needs_examples = pytest.mark.skipif(EXAMPLES is None, reason="shared/reference/declared-examples not beside the repo")
MD_FILES = sorted(p.name for p in EXAMPLES.glob("*.md")) if EXAMPLES else []


def sig(id_: str, name: str, name_zh: str, vendor_zh: str, aliases: tuple[str, ...] = (),
        packages: tuple[str, ...] = ()) -> Signature:
    return Signature.model_validate({
        "id": id_, "name": name, "name_zh": name_zh, "vendor": {"id": id_.split("-")[0], "name": name + " vendor",
                                                                "name_zh": vendor_zh},
        "category": "other", "aliases": list(aliases), "android_packages": list(packages),
        "provenance": [{"source": "curated"}]})


# A fixed signature set, so these tests do not depend on how complete sdk_signatures/ is today.
SIGS = [
    sig("jiguang-push", "JPush", "极光推送SDK", "深圳市和讯华谷信息技术有限公司", ("极光推送", "JPush"), ("cn.jpush.android",)),
    sig("alipay-sdk", "Alipay SDK", "支付宝SDK", "支付宝（中国）网络技术有限公司", ("支付宝", "支付宝客户端SDK"), ("com.alipay.sdk",)),
    sig("huawei-push", "HUAWEI Push Kit", "华为推送SDK", "华为软件技术有限公司", ("华为推送", "华为通道SDK", "HMS PUSH SDK"),
        ("com.huawei.hms.push",)),
    sig("xiaomi-push", "Mi Push", "小米推送SDK", "北京小米移动软件有限公司", ("小米推送", "小米通道SDK"), ("com.xiaomi.mipush.sdk",)),
    sig("vivo-push", "vivo Push", "vivo推送SDK", "维沃移动通信有限公司", ("VIVO PUSH SDK", "vivo通道SDK"), ("com.vivo.push",)),
    sig("oppo-push", "OPPO Push", "OPPO推送SDK", "广东欢太科技有限公司", ("OPPO PUSH SDK", "OPPO通道SDK"), ("com.heytap.msp",)),
    sig("meizu-push", "Meizu Push", "魅族推送SDK", "珠海市魅族通讯设备有限公司", ("魅族推送", "魅族通道SDK"), ("com.meizu.cloud.pushsdk",)),
    sig("weibo-sdk", "Weibo SDK", "微博SDK", "北京微梦创科网络技术有限公司", ("新浪微博开放平台", "新浪微博SDK"), ("com.sina.weibo.sdk",)),
    sig("amap-location", "AMap Location", "高德定位SDK", "高德软件有限公司", ("高德地图", "高德"), ("com.amap.api",)),
    sig("umeng-analytics", "Umeng Analytics", "友盟统计SDK", "北京锐讯灵通科技有限公司", ("友盟统计", "友盟+"), ("com.umeng.analytics",)),
    sig("tencent-bugly", "Bugly", "腾讯Bugly", "深圳市腾讯计算机系统有限公司", ("Bugly", "腾讯Bugly SDK"), ("com.tencent.bugly",)),
    sig("tencent-gdt", "GDT", "腾讯优量汇", "深圳市腾讯计算机系统有限公司", ("优量汇", "广点通"), ("com.qq.e",)),
    sig("pangle", "Pangle", "穿山甲", "北京巨量引擎网络科技有限公司", ("穿山甲广告SDK",), ("com.bytedance.sdk.openadsdk",)),
    sig("wechat-open", "WeChat Open SDK", "微信开放平台SDK", "深圳市腾讯计算机系统有限公司", ("微信SDK", "微信开放平台"),
        ("com.tencent.mm.opensdk",)),
]

# published name -> signature id, per example file (a sample: every file has at least one)
EXPECTED_SDKS = {
    "kirohuji_hope-front_jiamai_sdklist.md": {"极光推送SDK": "jiguang-push", "支付宝客户端 SDK": "alipay-sdk",
                                              "华为通道SDK": "huawei-push", "OPPO通道SDK": "oppo-push"},
    "saveweb_qq_android_third_party_sharing_list.md": {"OPPO推送SDK": "oppo-push", "华为推送SDK": "huawei-push",
                                                       "微博SDK": "weibo-sdk"},
    "saveweb_tencent_tpns_sdk_privacy_guide.md": {"VIVO PUSH SDK": "vivo-push", "OPPO PUSH SDK": "oppo-push",
                                                  "华为推送 SDK": "huawei-push"},
    "saveweb_xuexiqiangguo_third_party_sdk_list.md": {"高德地图": "amap-location", "支付宝SDK": "alipay-sdk",
                                                      "新浪微博开放平台": "weibo-sdk", "OPPO推送SDK": "oppo-push"},
}
# a published type fragment that is not a taxonomy type and must be reported back
EXPECTED_UNMAPPED = {
    "kirohuji_hope-front_jiamai_sdklist.md": "网络类型",
    "kirohuji_hope-front_jiamai_collect-info-list.md": "头像",
    "saveweb_qq_android_third_party_sharing_list.md": "系统语言类型",
    "saveweb_tencent_tpns_sdk_privacy_guide.md": "推送sdk版本号",
    "saveweb_xuexiqiangguo_third_party_sdk_list.md": "是否前台运行",
}
NOT_A_LIST = {"saveweb_tencent_identifiers.md"}

SDK_COLUMNS = ["SDK名称", "第三方名称", "使用目的", "使用场景", "收集个人信息类型", "处理方式", "隐私政策链接"]
PI_COLUMNS = ["类型", "信息名称", "收集目的", "收集场景", "收集频次"]


def _rows(report):
    d = report.declaration
    sdk = [[e.name, e.vendor or "", e.purpose or "", e.scene or "", "、".join(e.pi_types), e.sharing or "",
            e.privacy_policy_url or ""] for e in d.sdk_list]
    pi = [[e.category or "", e.type, e.purpose or "", e.scene or "", e.frequency.text if e.frequency else ""]
          for e in d.pi_list]
    return sdk, pi


def _summary(report):
    d = report.declaration
    return ([(e.name, e.vendor, e.sdk_id, tuple(e.type_ids)) for e in d.sdk_list],
            [(e.type, tuple(e.type_ids)) for e in d.pi_list])


def _write(fmt: str, path: Path, tables: list[tuple[list[str], list[list[str]]]]) -> list[Path]:
    out = []
    for n, (header, rows) in enumerate(tables):
        if not rows:
            continue
        target = path.with_name(f"{path.stem}-{n}.{fmt}")
        if fmt == "csv":
            with target.open("w", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh).writerows([header, *rows])
        elif fmt == "xlsx":
            wb = Workbook()
            ws = wb.active
            ws.append(["第三方信息共享清单"])  # a title row above the header, as in real workbooks
            for row in [header, *rows]:
                ws.append(row)
            wb.save(target)
        else:
            cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c).replace(chr(10), '<br>')}</td>" for c in row) + "</tr>"
                           for row in rows)
            target.write_text(f"<html><head><script>var x='<td>evil</td>'</script></head><body><h1>清单</h1>"
                              f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></body></html>",
                              encoding="utf-8")
        out.append(target)
    return out


@needs_examples
@pytest.mark.parametrize("name", MD_FILES)
def test_every_published_example_in_every_format(name, tmp_path):
    source = EXAMPLES / name
    if name in NOT_A_LIST:
        with pytest.raises(ImportError_, match="no SDK list or collected-information list found"):
            import_files([source], signatures=SIGS)
        return
    report = import_files([source], signatures=SIGS)
    d = report.declaration
    assert d.sdk_list or d.pi_list
    names = {e.name: e.sdk_id for e in d.sdk_list}
    for published, sdk_id in EXPECTED_SDKS.get(name, {}).items():
        assert names.get(published) == sdk_id, (published, names.get(published))
    # every entry that resolved nothing is listed as unmapped
    assert set(report.unmapped_sdks) == {e.name for e in d.sdk_list if e.sdk_id is None} - {
        m.name for m in report.ambiguous_sdks}
    remainders = " ".join(u.remainder for u in report.unmapped_types)
    assert EXPECTED_UNMAPPED[name] in remainders
    # the same lists as CSV, XLSX and HTML tables import to the same entries
    sdk_rows, pi_rows = _rows(report)
    tables = [(SDK_COLUMNS, sdk_rows), (PI_COLUMNS, pi_rows)]
    expected = _summary(report)
    for fmt in ("csv", "xlsx", "html"):
        files = _write(fmt, tmp_path / name, tables)
        again = import_files(files, signatures=SIGS)
        got = _summary(again)
        assert [s[:3] for s in got[0]] == [s[:3] for s in expected[0]], fmt
        assert got[1] == expected[1], fmt
        assert got[0] == expected[0], fmt


@needs_examples
def test_published_excerpts_jsonl(tmp_path):
    """The header rows and excerpts of twelve more published lists, as tables or "名称：值" blocks."""
    lines = (EXAMPLES / "published_list_excerpts.jsonl").read_text(encoding="utf-8").splitlines()
    mapped: dict[str, str | None] = {}
    for n, line in enumerate(lines):
        item = json.loads(line)
        excerpt = item["excerpt"]
        if " | " in excerpt:
            rows = [[c.strip() for c in row.strip().strip("|").split("|")] for row in excerpt.splitlines() if "|" in row]
            rows = [r for r in rows if r != item["columns"] and r[: len(item["columns"])] != item["columns"]]
            path = tmp_path / f"excerpt{n}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerows([item["columns"], *rows])
        else:
            path = tmp_path / f"excerpt{n}.md"
            path.write_text(excerpt, encoding="utf-8")
        try:
            report = import_files([path], signatures=SIGS)
        except ImportError_ as exc:
            # an excerpt cut before its first complete row; the error must be one line
            assert "\n" not in str(exc)
            continue
        for e in report.declaration.sdk_list:
            mapped[e.name] = e.sdk_id
        assert report.declaration.sdk_list or report.declaration.pi_list, item["url"]
    assert mapped.get("穿山甲广告SDK(com.bytedance)") == "pangle"
    assert mapped.get("腾讯优量汇(广点通)") == "tencent-gdt"
    assert mapped.get("友盟统计SDK") == "umeng-analytics"
    assert mapped.get("com.amap.api(高德)") == "amap-location"
    assert mapped.get("微信 SDK") == "wechat-open"


def test_demo_tables_match_the_demo_declaration():
    tables = import_files([REPO / "captures" / "demo-sdk-list.md", REPO / "captures" / "demo-pi-list.csv"],
                          app_name="旅行天气", signatures=SIGS)
    yaml_doc = import_files([REPO / "captures" / "demo-declaration.yaml"], signatures=SIGS)
    assert [e.name for e in tables.declaration.sdk_list] == [e.name for e in yaml_doc.declaration.sdk_list]
    assert [e.sdk_id for e in tables.declaration.sdk_list] == [e.sdk_id for e in yaml_doc.declaration.sdk_list]
    assert [e.type_ids for e in tables.declaration.sdk_list] == [e.type_ids for e in yaml_doc.declaration.sdk_list]
    assert [e.type_ids for e in tables.declaration.pi_list] == [e.type_ids for e in yaml_doc.declaration.pi_list]
    shumei = tables.declaration.sdk_list[5]
    assert shumei.privacy_policy_url is None and "privacy_policy_url" in shumei.missing_fields()


def test_demo_lists_resolve_against_shipped_signatures():
    sigs = default_signatures()
    if not {"umeng-analytics"} <= {s.id for s in sigs}:
        pytest.skip("shipped signatures not loaded")
    report = import_files([REPO / "captures" / "demo-sdk-list.md"], signatures=sigs)
    assert report.declaration.sdk_list[0].sdk_id == "umeng-analytics"
    known = {s.id for s in sigs}
    assert all(e.sdk_id is None or e.sdk_id in known for e in report.declaration.sdk_list)


def test_lint_reports_unknown_sdks_unmapped_types_and_unmarked_sensitive(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(to_yaml(load_declaration({
        "app": {"name": "x"},
        "pi_list": [{"type": "精准定位"}, {"type": "身份证号", "sensitive": True}, {"type": "鞋码"}],
        "sdk_list": [{"name": "完全未知SDK"}, {"name": "腾讯SDK", "vendor": "深圳市腾讯计算机系统有限公司"},
                     {"name": "x", "sdk_id": "no-such-sdk"}, {"name": "友盟统计SDK"}],
    })), encoding="utf-8")
    report = import_files([path], signatures=SIGS)
    issues = {(i.kind, i.where.split(" ")[0]) for i in lint(report, SIGS)}
    assert ("unknown_sdk", "sdk_list[0]") in issues
    assert ("ambiguous_sdk", "sdk_list[1]") in issues
    assert ("unknown_sdk_id", "sdk_list[2]") in issues
    assert not any(w == "sdk_list[3]" for _, w in issues)
    assert ("unmapped_type", "pi_list[2]") in issues
    assert ("sensitive_not_marked", "pi_list[0]") in issues
    assert ("sensitive_not_marked", "pi_list[1]") not in issues


def test_hostile_html_is_data(tmp_path):
    page = tmp_path / "list.html"
    page.write_text(
        "<table><tr><th>SDK名称</th><th>第三方名称</th><th>收集个人信息类型</th><th>隐私政策链接</th></tr>"
        "<tr><td><img src=x onerror=alert(1)>友盟统计SDK<script>document.write('<td>x</td>')</script></td>"
        "<td>北京锐讯灵通科技有限公司</td><td>IMEI、OAID</td>"
        "<td><a href='javascript:alert(1)'>policy</a> <a href='https://www.umeng.com/page/policy'>link</a></td></tr>"
        "</table><table><tr><td>unclosed", encoding="utf-8")
    report = import_files([page], signatures=SIGS)
    entry = report.declaration.sdk_list[0]
    assert entry.name == "友盟统计SDK" and entry.sdk_id == "umeng-analytics"
    assert entry.type_ids == ["imei", "oaid"]
    assert entry.privacy_policy_url == "https://www.umeng.com/page/policy"
    assert "alert" not in json.dumps(report.declaration.model_dump(mode="json"), ensure_ascii=False).replace(
        "javascript", "")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.xlsx", b"PK\x03\x04not really a workbook", "not a readable XLSX"),
    ("bad.yaml", b"app: [unclosed", "not valid YAML"),
    ("bad.json", b"{", "not valid JSON"),
    ("extra.yaml", b"app: {name: x}\nshoe: 1\n", "invalid declaration at shoe"),
    ("empty.csv", b"", "no SDK list"),
    ("list.pdf", b"%PDF", "unknown format"),
])
def test_bad_input_is_one_line_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message) as info:
        import_files([path], signatures=SIGS)
    assert "\n" not in str(info.value)
    with pytest.raises(ImportError_, match="no such file"):
        import_files([tmp_path / "absent.csv"], signatures=SIGS)


def test_alias_bomb_and_deep_nesting_are_refused(tmp_path):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        bomb.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}" if n > 1 else "*a"] * 10) + "]")
    bomb.append("app: {name: x}\npi_list: *a8")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb), encoding="utf-8")
    with pytest.raises(ImportError_, match="too large or too deeply nested"):
        import_files([path], signatures=SIGS)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ImportError_, match="deep"):
        import_files([deep], signatures=SIGS)


def test_oversized_csv_field_is_one_line_error(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("SDK名称,第三方名称\n\"" + "x" * 200_000 + "\",y\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="CSV"):
        import_files([path], signatures=SIGS)


def test_gb18030_csv_and_tab_separated(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("SDK名称\t第三方名称\t收集个人信息类型\n个推推送SDK\t每日互动\t设备MAC地址\n".encode("gb18030"))
    report = import_files([path], signatures=SIGS)
    assert report.declaration.sdk_list[0].type_ids == ["mac_address"]


def test_xlsx_merged_category_cells_carry_down(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["个人信息收集清单"])
    ws.append(["信息类别", "信息名称", "使用目的", "使用场景", "收集情况"])
    ws.append(["设备信息", "MAC地址", "适配设备", "用户使用APP时", "收集1条"])
    ws.append([None, "设备识别码", "识别设备", "用户使用APP时", "收集1条"])
    ws.append(["位置信息", "精准定位", "附近网点", "打开地图时", "=1+1"])
    ws.merge_cells("A3:A4")
    second = wb.create_sheet("SDK")
    second.append(["SDK名称", "SDK厂商", "个人信息字段"])
    second.append(["友盟统计SDK", "=HYPERLINK(\"http://x\")", "OAID"])
    path = tmp_path / "lists.xlsx"
    wb.save(path)
    report = import_files([path], signatures=SIGS)
    pi = report.declaration.pi_list
    assert [(e.type, e.category) for e in pi] == [("MAC地址", "设备信息"), ("设备识别码", "设备信息"), ("精准定位", "位置信息")]
    assert pi[0].type_ids == ["mac_address"] and pi[2].frequency is None   # a formula is never evaluated
    assert report.declaration.sdk_list[0].sdk_id == "umeng-analytics" and report.tables == 2


def test_markdown_single_dash_separator(tmp_path):
    path = tmp_path / "l.md"
    path.write_text("|SDK名称|第三方名称|收集个人信息类型|\n|-|-|-|\n|友盟统计SDK|友盟|IMEI|\n", encoding="utf-8")
    assert import_files([path], signatures=SIGS).declaration.sdk_list[0].type_ids == ["imei"]


def test_split_items_respects_brackets():
    assert split_items("设备信息（IMEI、IMSI）、位置信息；应用列表\n无") == ["设备信息(IMEI、IMSI)", "位置信息", "应用列表", "无"]


def test_markdown_quoted_tables_and_links():
    tables, _ = markdown_tables("> | SDK名称 | 隐私政策 |\n> | --- | --- |\n> | A | [p](https://a.example/p) |\n")
    assert tables == [[["SDK名称", "隐私政策"], ["A", "p <https://a.example/p>"]]]


def test_schema_text_matches_committed_file():
    assert (REPO / "docs" / "declaration.schema.json").read_text(encoding="utf-8") == schema_text()
