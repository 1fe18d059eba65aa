"""Every page renders the seeded session's content in both languages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("lang,word", [("en", "Traffic"), ("zh", "流量")])
def test_language_follows_query_cookie_and_accept_language(client: TestClient, lang, word):
    assert word in client.get(f"/s/seeded/traffic?lang={lang}").text
    assert word in client.get("/s/seeded/traffic").text, "the choice is remembered in a cookie"
    fresh = TestClient(client.app)
    header = {"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh" else "en-US,en;q=0.8"}
    assert word in fresh.get("/s/seeded/traffic", headers=header).text


def test_traffic_page_lists_and_pages(client: TestClient):
    page = client.get("/s/seeded/traffic?lang=en").text
    assert page.count('<tr class=') == 100 and "Older" in page
    filtered = client.get("/s/seeded/traffic?sdk=getui-push&lang=en").text
    assert "sdk-open-phone.getui.com" in filtered and "ulogs.umeng.com" not in filtered


def test_sdk_type_matrix_and_timeline_pages(client: TestClient):
    sdks = client.get("/s/seeded/sdks?lang=en").text
    assert "umeng-analytics" in sdks or "Umeng" in sdks
    assert "collect.adtrack-x.example.com" in sdks
    assert "imei" in client.get("/s/seeded/data-types?lang=en").text
    matrix = client.get("/s/seeded/matrix?lang=en").text
    assert 'class="cell observed"' in matrix
    timeline = client.get("/s/seeded/timeline?lang=en").text
    assert "<svg" in timeline and 'class="marker-line consent"' in timeline


def test_observation_page_highlights_detected_fields_and_offers_curl(client: TestClient):
    item = next(o for o in client.get("/api/sessions/seeded/observations", params={"data_type": "imei"}).json()["items"])
    page = client.get(f"/o/{item['id']}?lang=en").text
    assert "data.imei" in page and "body&gt;json" in page and "curl -X POST" in page
