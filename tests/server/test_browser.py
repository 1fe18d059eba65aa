"""The dashboard in real headless Chromium: every page loads, filters work, consent is marked, live rows arrive.

Screenshots go to artifacts/screenshots/ (the README shows them).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
import yaml

from flowaudit.compliance import run_comparison
from flowaudit.core.declarations import load_declaration
from flowaudit.core.model import Observation
from flowaudit.core.pipeline import analyze
from flowaudit.db.seed import seed_session
from flowaudit.db.session_view import store_declaration
from flowaudit.db.store import Store
from flowaudit.server.app import create_app
from flowaudit.signature_db import default_index

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DEMO = Path(__file__).resolve().parents[2] / "captures" / "demo.har"
DECLARATION = DEMO.with_name("demo-declaration.yaml")

if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("dash") / "dash.db")
    store = Store(db)
    seed_session(store, "seeded", 400)
    from flowaudit.db.writer import Writer
    from flowaudit.ingest import import_file

    writer = Writer(store)
    demo = store.open_session("demo", app_id="com.example.lvxingweather", first_party=["lvxing-weather.example.cn"])
    import_file(store, writer, default_index(), DEMO, demo)
    writer.close()
    declaration = load_declaration(yaml.safe_load(DECLARATION.read_text(encoding="utf-8")))
    store_declaration(store, declaration, session_name="demo")
    run_comparison(store, "demo", default_index(), lang="en")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store=store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("path,expect,name", [
    ("/", "seeded", "sessions"),
    ("/s/demo/traffic", "ulogs.umeng.com", "traffic"),
    ("/s/demo/sdks", "Umeng", "sdks"),
    ("/s/seeded/data-types", "imei", "data-types"),
    ("/s/demo/matrix", "Declared and observed", "matrix"),
    ("/s/demo/findings", "collected_before_consent", "findings"),
    ("/s/demo/timeline", "agreed on first-run dialog", "timeline"),
    ("/s/demo/reports", "JSONL", "reports"),
])
def test_each_page_loads_with_its_content(dashboard, page, path, expect, name):
    base, _ = dashboard
    page.goto(base + path + "?lang=en")
    assert expect.lower() in page.content().lower()
    _shot(page, name)


def test_chinese_interface(dashboard, page):
    base, _ = dashboard
    page.goto(base + "/s/demo/traffic?lang=zh")
    assert page.locator("nav a[data-page=traffic]").inner_text() == "流量"
    _shot(page, "traffic-zh")


def test_filter_by_sdk_changes_the_rows(dashboard, page):
    base, _ = dashboard
    page.goto(base + "/s/seeded/traffic?lang=en")
    page.select_option("select[name=sdk]", "getui-push")
    page.wait_for_url("**sdk=getui-push**")
    urls = page.locator("#traffic td.url a").all_inner_texts()
    assert urls and all("getui.com" in u for u in urls)


def test_observation_detail_shows_the_decoding_chain(dashboard, page):
    base, store = dashboard
    page.goto(base + "/s/demo/traffic?lang=en&host=ulogs.umeng.com")
    page.locator("#traffic td.url a").first.click()
    page.wait_for_url("**/o/**")
    assert "ulogs.umeng.com/unify_logs" in page.locator("h1").inner_text()
    _shot(page, "observation")


def test_marking_consent_from_the_dashboard(dashboard, page):
    base, store = dashboard
    page.goto(base + "/s/seeded/traffic?lang=en")
    page.click("button.mark[data-kind=refusal]")
    page.wait_for_selector("#flash.ok")
    from flowaudit.db.queries import markers

    with store.sessionmaker() as db:
        row = store.open_session("seeded")
        assert "refusal" in [m.kind for m in markers(db, row.id)]


def test_new_observations_appear_live(dashboard, page):
    base, store = dashboard
    page.goto(base + "/s/seeded/traffic?lang=en")
    page.wait_for_selector("#live-state.on", timeout=10_000)
    session = store.open_session("seeded")
    obs = Observation(ts=time.time(), host="live-check.example.com", path="/<b>new</b>", method="GET", scheme="https")
    store.write_analyses(session, [analyze(obs, default_index(), salt=session.salt)])
    row = page.wait_for_selector("#traffic tr.new", timeout=5_000)
    assert "live-check.example.com/%3Cb%3Enew" in row.inner_text() or "live-check.example.com/<b>new</b>" in row.inner_text()
    assert page.locator("#traffic b").count() == 0, "captured markup must not become elements"
    _shot(page, "live")
