from __future__ import annotations

from flowaudit.core.necessary import BY_ID, CATEGORIES, beyond_scope, find_category, necessary_types
from flowaudit.core.taxonomy import TYPE_IDS


def test_thirty_nine_categories_numbered_in_order():
    assert len(CATEGORIES) == 39 and len(BY_ID) == 39
    assert [c.number for c in CATEGORIES] == list(range(1, 40))
    assert len({c.name_zh for c in CATEGORIES}) == 39


def test_thirteen_categories_need_no_personal_information():
    none = {c.name_zh for c in CATEGORIES if c.needs_none}
    assert len(none) == 13
    assert {"浏览器", "输入法", "新闻资讯", "短视频", "实用工具", "女性健康"} <= none


def test_necessary_types_are_taxonomy_ids():
    for c in CATEGORIES:
        assert c.necessary_types <= set(TYPE_IDS), c.id
        assert bool(c.necessary_types) == bool(c.necessary_zh) or c.id == "recruitment"


def test_lookup_by_id_chinese_name_alias_and_number():
    assert find_category("地图导航类").id == "map_navigation"
    assert find_category("地图导航").id == "map_navigation"
    assert find_category("map_navigation").number == 1
    assert find_category("天气").id == "utility_tools"
    assert find_category(39).id == "performance_tickets"
    assert find_category("not a category") is None and find_category(None) is None
    assert "phone_number" in necessary_types("网络约车")
    assert necessary_types("nonsense") is None


def test_beyond_scope_ignores_generic_device_info():
    assert beyond_scope("实用工具", {"precise_location", "device_model", "imei"}) == ["imei", "precise_location"]
    assert beyond_scope("地图导航", {"precise_location"}) == []
    assert beyond_scope(None, {"imei"}) == []
