from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from flowaudit.reports import render


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> Collect:
    c = Collect()
    c.feed(html)
    return c


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_captured_text_is_escaped_and_nothing_is_fetched(hostile_report, lang):
    html = render(hostile_report(lang), "html").decode("utf-8")
    parsed = _parse(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [k for k, _ in parsed.attrs if k.startswith("on")]
    links = [v for k, v in parsed.attrs if k in ("href", "src")]
    assert links and all(v.startswith("#") for v in links)       # internal anchors only: no network
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<script>alert(1)</script>' in "".join(parsed.text)    # shown as text
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_language_versions(hostile_report):
    zh = render(hostile_report("zh"), "html").decode("utf-8")
    en = render(hostile_report("en"), "html").decode("utf-8")
    assert 'lang="zh-CN"' in zh and "发现的问题" in zh and "征得用户同意前" in zh
    assert 'lang="en"' in en and "Findings" in en and "before consent" in en
    for html in (zh, en):
        assert "@media print" in html and "<style>" in html


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
def test_chromium_renders_without_script_or_requests_and_prints(hostile_report, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "report.html"
    path.write_bytes(render(hostile_report("zh"), "html"))
    dialogs, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        assert page.locator("article.finding").count() >= 5
        assert page.evaluate("document.scripts.length") == 0
        pdf = page.pdf(format="A4")
        browser.close()
    assert dialogs == []
    assert requests == [path.as_uri()]
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


@pytest.mark.browser
def test_chromium_cli_prints_to_pdf(hostile_report, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    path = tmp_path / "report.html"
    path.write_bytes(render(hostile_report("en"), "html"))
    out = tmp_path / "report.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}",
                    "--no-pdf-header-footer", path.as_uri()], capture_output=True, timeout=60)
    assert out.read_bytes().startswith(b"%PDF")
