"""Import of every recorded format into the database, and back out through export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from mitmproxy import io as mitm_io
from mitmproxy.test import tflow

from flowaudit.db.queries import iter_observations, markers
from flowaudit.db.store import Store
from flowaudit.db.writer import Writer
from flowaudit.export import write_jsonl
from flowaudit.ingest import IngestError, check_importable, expand_inputs, import_file
from flowaudit.readers.capture_synth import DnsQuery, HttpExchange, TlsHello, write_capture
from flowaudit.signature_db import default_index

IMEI = "867530012345672"


def _flow_file(path: Path) -> Path:
    flows = []
    for host, query in (("ulogs.umeng.com", f"imei={IMEI}"), ("api.example.cn", "x=1"), ("flowaudit.mark", "")):
        f = tflow.tflow(resp=True)
        f.request.host = host
        f.request.path = ("/consent" if host == "flowaudit.mark" else "/unify_logs") + (f"?{query}" if query else "")
        f.request.headers["Host"] = host
        flows.append(f)
    with path.open("wb") as handle:
        writer = mitm_io.FlowWriter(handle)
        for f in flows:
            writer.add(f)
    return path


def _capture(path: Path) -> Path:
    write_capture(path, [
        DnsQuery(100.0, "10.0.0.2", "ulogs.umeng.com"),
        HttpExchange(100.1, "10.0.0.2", "203.0.113.9:80", "ulogs.umeng.com", "POST", "/unify_logs",
                     [("Content-Type", "application/json")], json.dumps({"imei": IMEI}).encode()),
        HttpExchange(100.2, "10.0.0.2", "203.0.113.9:80", "flowaudit.mark", "GET", "/consent"),
        TlsHello(100.3, "10.0.0.2", "203.0.113.10:443", "mi.gdt.qq.com"),
    ], fmt="pcapng")
    return path


def _har(path: Path) -> Path:
    entries = [{"startedDateTime": "2026-01-01T00:00:00Z",
                "request": {"method": "POST", "url": "https://ulogs.umeng.com/unify_logs", "headers": [],
                            "postData": {"mimeType": "application/json", "text": json.dumps({"imei": IMEI})}},
                "response": {"status": 200, "headers": [], "content": {}}},
               {"startedDateTime": "2026-01-01T00:00:01Z", "request": {"method": "GET", "url": "http://flowaudit.mark/consent"},
                "response": {"status": 200, "headers": [], "content": {}}}]
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


@pytest.mark.parametrize("make,kind,expected_hosts", [
    (_har, "har", {"ulogs.umeng.com"}),
    (_flow_file, "mitm", {"ulogs.umeng.com", "api.example.cn"}),
    (_capture, "pcap", {"ulogs.umeng.com", "mi.gdt.qq.com"}),
])
def test_each_format_round_trips_through_the_database(db_url, tmp_path, make, kind, expected_hosts):
    path = make(tmp_path / f"input.{kind}")
    assert check_importable(path) == kind
    store = Store(db_url)
    session = store.open_session(kind, device_profile=None)
    writer = Writer(store)
    result = import_file(store, writer, default_index(), path, session)
    writer.close()
    assert result.format == kind and result.markers == 1
    out = io.StringIO()
    with store.sessionmaker() as db:
        count = write_jsonl(((row, kind) for row in iter_observations(db, session.id)), out, default_index())
        assert [m.kind for m in markers(db, session.id)] == ["consent"]
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(records) == result.observations
    assert expected_hosts <= {r["host"] for r in records}
    umeng = [r for r in records if r["host"] == "ulogs.umeng.com" and r["kind"] == "request"]
    assert umeng and umeng[0]["sdk"]["id"] == "umeng-analytics"
    assert any(d["type"] == "imei" for d in umeng[0]["data"])
    assert "flowaudit.mark" not in {r["host"] for r in records if r["kind"] == "request"}


def test_inputs_expand_from_directories_and_globs(tmp_path):
    (tmp_path / "a").mkdir()
    _har(tmp_path / "a" / "one.har")
    _capture(tmp_path / "a" / "two.bin")
    (tmp_path / "a" / "readme.txt").write_text("hello")
    assert [p.name for p in expand_inputs([str(tmp_path / "a")])] == ["one.har", "two.bin"]
    assert [p.name for p in expand_inputs([str(tmp_path / "a" / "*.har")])] == ["one.har"]
    with pytest.raises(IngestError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.pcap")])


def test_unimportable_files_are_refused_with_one_line(tmp_path):
    (tmp_path / "empty.har").write_bytes(b"")
    (tmp_path / "text.txt").write_text("GET / HTTP/1.1")
    for name, message in (("empty.har", "empty file"), ("text.txt", "not a HAR"), ("missing", "no such file")):
        with pytest.raises(IngestError, match=message):
            check_importable(tmp_path / name)
