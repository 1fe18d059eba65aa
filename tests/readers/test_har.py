from __future__ import annotations

import base64
import json

import pytest

from flowaudit.core.model import ObservationKind, Source
from flowaudit.readers.har import BODY_CAP, HarError, read_har


def _entry(url: str, **request) -> dict:
    return {
        "startedDateTime": "2026-03-01T08:00:00.123+08:00",
        "request": {"method": request.pop("method", "GET"), "url": url, "httpVersion": "HTTP/2",
                    "headers": request.pop("headers", []), **request},
        "response": {"status": 200, "headers": [{"name": "content-type", "value": "application/json"}],
                     "content": {"size": 11, "mimeType": "application/json",
                                 "text": base64.b64encode(b'{"ok":true}').decode(), "encoding": "base64"}},
        "serverIPAddress": "203.0.113.7",
    }


def _write(tmp_path, entries) -> object:
    path = tmp_path / "capture.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path


def test_chrome_style_entry_becomes_a_full_observation(tmp_path):
    entry = _entry("https://ulogs.umeng.com:443/unify_logs?a=1&b=%E4%B8%AD", method="POST",
                   headers=[{"name": ":authority", "value": "ulogs.umeng.com"},
                            {"name": "Msg-Type", "value": "envelope/json"},
                            {"name": "Cookie", "value": "uid=42; theme=dark"}],
                   postData={"mimeType": "application/json", "text": '{"imei":"867530012345672"}'})
    [obs] = list(read_har(_write(tmp_path, [entry])))
    assert obs.source is Source.HAR and obs.kind is ObservationKind.REQUEST
    assert (obs.method, obs.scheme, obs.host, obs.port, obs.path) == ("POST", "https", "ulogs.umeng.com", 443, "/unify_logs")
    assert obs.query == "a=1&b=%E4%B8%AD" and obs.tls
    assert obs.header("msg-type") == "envelope/json"
    assert all(not name.startswith(":") for name, _ in obs.headers), "HTTP/2 pseudo-headers are not request headers"
    assert obs.cookies == [("uid", "42"), ("theme", "dark")]
    assert obs.body == b'{"imei":"867530012345672"}'
    assert obs.status == 200 and obs.response_head == b'{"ok":true}' and obs.server_ip == "203.0.113.7"
    assert obs.ts == pytest.approx(1772323200.123)


def test_form_params_without_text_are_rebuilt(tmp_path):
    entry = _entry("http://api.example.cn/login", method="POST",
                   postData={"mimeType": "application/x-www-form-urlencoded",
                             "params": [{"name": "phone", "value": "13812345678"}, {"name": "x", "value": "a b"}]})
    [obs] = list(read_har(_write(tmp_path, [entry])))
    assert obs.body == b"phone=13812345678&x=a+b" and not obs.tls


def test_failed_request_is_kept_with_an_error(tmp_path):
    entry = _entry("https://down.example.com/")
    entry["response"] = {"status": 0, "headers": [], "content": {}}
    [obs] = list(read_har(_write(tmp_path, [entry])))
    assert obs.status is None and obs.error == "no response recorded"


def test_huge_body_is_capped_and_its_size_recorded(tmp_path):
    big = "A" * (50 * 1024 * 1024)
    entry = _entry("https://upload.example.com/", method="POST", postData={"mimeType": "text/plain", "text": big})
    [obs] = list(read_har(_write(tmp_path, [entry])))
    assert len(obs.body) == BODY_CAP
    assert obs.body_size == len(big)


def test_bad_entries_are_counted_not_fatal(tmp_path):
    good = _entry("https://a.example.com/")
    bad_date = _entry("https://b.example.com/")
    bad_date["startedDateTime"] = "yesterday"
    errors: list[str] = []
    bad_url = _entry("http://[::1/x")
    observations = list(read_har(_write(tmp_path, [good, 17, {"request": {}}, bad_date, bad_url]), errors=errors))
    assert [o.host for o in observations] == ["a.example.com"]
    assert len(errors) == 4 and all(e.startswith("entry ") for e in errors)


@pytest.mark.parametrize("content,message", [
    (b'{"log": {"entries": [', "not valid JSON"),
    (b'{"hello": 1}', "not a HAR"),
    (b"[" * 100000, "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
])
def test_unusable_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.har"
    path.write_bytes(content)
    with pytest.raises(HarError) as info:
        list(read_har(path))
    assert message in str(info.value) and "\n" not in str(info.value)
