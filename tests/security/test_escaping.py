"""Captured text is attacker-controlled, end to end: a HAR whose file name, URL, headers, body keys and values
carry markup and spreadsheet formulas is imported with the real CLI, then shown by the dashboard, the HTML
report, the CSV/XLSX reports and `flowaudit export --format csv`. Markup must come out as text, formulas
as inert text."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from flowaudit.db.store import Store
from flowaudit.server.app import create_app

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
FORMULA = "=cmd|' /C calc'!A0"
FORMULAS = (FORMULA, "+1+cmd|'/C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\uff1dcmd|x")
SESSION = f"s{IMG}"                        # the HAR's file name becomes the session name
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def hostile_har() -> dict:
    entries = []
    for i, formula in enumerate(FORMULAS):
        entries.append({
            "startedDateTime": f"2026-01-02T03:04:0{i}Z",
            "request": {
                "method": "POST",
                "url": f"https://mi.gdt.qq.com/gdt_mview.fcg/{SCRIPT}?{IMG}={SCRIPT}&q={formula}",
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": "X-Evil", "value": IMG}, {"name": "User-Agent", "value": formula},
                            {"name": f"X-{SCRIPT}", "value": "1"}, {"name": "Content-Type", "value": "application/json"}],
                "postData": {"mimeType": "application/json",
                             "text": json.dumps({SCRIPT: IMG, formula: formula, "imei": "867530012345672",
                                                 IMG: {"phone": "13812345678"}})},
            },
            "response": {"status": 200, "headers": [{"name": "Content-Type", "value": IMG}],
                         "content": {"size": 2, "mimeType": "text/html", "text": SCRIPT}},
        })
    entries.append({"startedDateTime": "2026-01-02T03:05:00Z",
                    "request": {"method": "GET", "url": f"http://{FORMULA.strip('=|! /')}.example/=1+1", "headers": []},
                    "response": {"status": 0}})
    return {"log": {"version": "1.2", "entries": entries}}


class _Markup(HTMLParser):
    """Elements and event-handler attributes a browser would create from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "inline")
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        self.handlers += [(tag, k) for k, _ in attrs if k.startswith("on")]


def assert_inert_html(page: str, where: str) -> None:
    markup = _Markup()
    markup.feed(page)
    assert markup.handlers == [], (where, markup.handlers)
    assert all(src.startswith("/static/") for src in markup.scripts if src != "inline"), (where, markup.scripts)
    assert "inline" not in markup.scripts or where == "report", (where, markup.scripts)
    assert "x" not in markup.images, where
    assert SCRIPT not in page and IMG not in page, where


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> Path:
    """A database holding the hostile HAR, imported by the real command line."""
    work = tmp_path_factory.mktemp("escaping")
    har = work / f"{SESSION}.har"
    har.write_text(json.dumps(hostile_har()))
    proc = run_cli(work, "import", str(har))
    assert proc.returncode == 0, proc.stderr
    return work


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(work: Path, *args: str) -> Result:
    """The real command line, in process (the subprocess start-up would dominate these tests)."""
    from flowaudit.cli import cli

    result = CliRunner().invoke(cli, list(args), env={"FLOWAUDIT_DB": str(work / "audit.db")}, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def test_dashboard_renders_captured_markup_as_text(audit):
    client = TestClient(create_app(store=Store(str(audit / "audit.db"))))
    sessions = client.get("/api/sessions").json()
    assert any(s["name"] == SESSION for s in (sessions if isinstance(sessions, list) else sessions["items"]))
    from urllib.parse import quote
    base = f"/s/{quote(SESSION, safe='')}"
    observations = client.get(f"/api/sessions/{quote(SESSION, safe='')}/observations", params={"limit": 50}).json()
    ids = [o["id"] for o in observations["items"]]
    assert len(ids) == len(FORMULAS) + 1
    # the JSON API carries the text as sent; pages must escape it
    assert any(SCRIPT in o["url"] for o in observations["items"])
    pages = ["/", base + "/traffic", base + "/sdks", base + "/data-types", base + "/matrix", base + "/findings",
             base + "/timeline", base + "/reports", *(f"/o/{i}" for i in ids),
             base + f"/traffic?host={quote(SCRIPT)}", base + f"/traffic?sdk={quote(IMG)}"]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert_inert_html(page.text, url)
    details = [client.get(f"/o/{i}").text for i in ids]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in d for d in details)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_report_renders_captured_markup_as_text(audit, lang):
    out = audit / f"report-{lang}.html"
    proc = run_cli(audit, "report", "--session", SESSION, "--format", "html", "--lang", lang, "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    page = out.read_text(encoding="utf-8")
    assert_inert_html(page, "report")
    assert "&lt;script&gt;" in page or "\\u003cscript" in page


def _assert_no_formula_cells(cells: list[str], where: str) -> None:
    live = [c for c in cells if isinstance(c, str) and c.startswith(FORMULA_START)]
    assert not live, (where, live[:5])


def test_csv_export_neutralises_formulas(audit):
    proc = run_cli(audit, "export", "--format", "csv", "--session", SESSION)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    cells = [c for row in rows for c in row]
    _assert_no_formula_cells(cells, "export csv")
    assert any(SCRIPT in c for c in cells), "captured text is exported as it was sent"
    assert len(rows) >= len(FORMULAS) + 1


def test_csv_report_neutralises_formulas(audit):
    out = audit / "report.csv"
    proc = run_cli(audit, "report", "--session", SESSION, "--format", "csv", "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    cells = [c for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))) for c in row]
    assert cells
    _assert_no_formula_cells(cells, "report csv")


def test_xlsx_report_has_no_formula_cells(audit):
    out = audit / "report.xlsx"
    proc = run_cli(audit, "report", "--session", SESSION, "--format", "xlsx", "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    workbook = load_workbook(out)
    values = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                values.append(cell.value)
    assert values
    _assert_no_formula_cells([v for v in values if isinstance(v, str)], "report xlsx")


def test_cli_output_shows_control_characters_escaped(audit):
    """Terminal output of captured text: ANSI escapes and control characters are shown, not executed."""
    har = audit / "ansi.har"
    entry = hostile_har()["log"]["entries"][0]
    entry["request"]["url"] = "https://a.example/\x1b[2J\x1b]0;owned\x07"
    har.write_text(json.dumps({"log": {"entries": [entry]}}))
    proc = run_cli(audit, "import", str(har), "--session", "ansi\x1b[31mred")
    assert proc.returncode == 0, proc.stderr
    shown = run_cli(audit, "sessions", "list")
    assert "\x1b" not in shown.stdout and "\\x1b" in shown.stdout


def test_dashboard_downloads_are_attachments_with_inert_content(audit):
    from urllib.parse import quote

    client = TestClient(create_app(store=Store(str(audit / "audit.db"))))
    base = f"/api/sessions/{quote(SESSION, safe='')}"
    downloads = {"export csv": (f"{base}/export", {"format": "csv"}), "report csv": (f"{base}/report", {"format": "csv"}),
                 "report xlsx": (f"{base}/report", {"format": "xlsx"}), "report html": (f"{base}/report", {"format": "html"})}
    for label, (url, params) in downloads.items():
        response = client.get(url, params=params)
        assert response.status_code == 200, (label, response.text[:200])
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;") and SCRIPT not in disposition and IMG not in disposition, label
        assert "<" not in disposition and '"' not in disposition.split('filename="', 1)[1].rstrip('"'), label
        if label.endswith("csv"):
            cells = [c for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for c in row]
            assert cells, label
            _assert_no_formula_cells(cells, label)
        elif label.endswith("xlsx"):
            workbook = load_workbook(io.BytesIO(response.content))
            cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
            assert cells and all(c.data_type != "f" for c in cells), label
            _assert_no_formula_cells([c.value for c in cells if isinstance(c.value, str)], label)
        else:
            assert_inert_html(response.text, "report")


def test_unknown_hostile_session_name_in_the_url_is_escaped(audit):
    from urllib.parse import quote

    client = TestClient(create_app(store=Store(str(audit / "audit.db"))))
    for url in (f"/s/{quote(SCRIPT, safe='')}/traffic", f"/api/sessions/{quote(IMG, safe='')}",
                f"/o/{quote(SCRIPT, safe='')}", f"/s/{quote(SESSION, safe='')}/traffic?before={quote(SCRIPT)}"):
        response = client.get(url)
        assert response.status_code in (404, 422), (url, response.status_code)
        if "html" in response.headers.get("content-type", ""):
            assert_inert_html(response.text, url)
        assert SCRIPT not in response.text or response.headers["content-type"].startswith("application/json"), url
