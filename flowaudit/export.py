"""Exports of stored observations: JSON Lines, CSV and HAR."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from flowaudit import __version__
from flowaudit.core.escaping import spreadsheet_safe
from flowaudit.core.model import Observation, ObservationKind, Source
from flowaudit.core.signatures import SignatureIndex
from flowaudit.db.models import ObservationRow

FORMATS = ("jsonl", "csv", "har")
CSV_COLUMNS = ("id", "session", "ts", "source", "kind", "method", "scheme", "host", "port", "url", "status",
               "tls", "sdk_id", "sdk_name", "sdk_name_zh", "sdk_vendor", "sdk_category", "first_party",
               "data_types", "detections", "error")


def _url(row: ObservationRow) -> str:
    obs = Observation(ts=row.ts, host=row.host, source=Source(row.source), kind=ObservationKind(row.kind),
                      scheme=row.scheme, port=row.port, path=row.path, query=row.query, tls=row.tls)
    return obs.url


def _sdk(row: ObservationRow, index: SignatureIndex) -> dict | None:
    if not row.sdk_id:
        return None
    sig = index.get(row.sdk_id)
    if sig is None:
        return {"id": row.sdk_id, "name": row.sdk_id, "name_zh": None, "vendor": None, "category": None}
    return {"id": sig.id, "name": sig.name, "name_zh": sig.name_zh, "vendor": sig.vendor.name,
            "vendor_zh": sig.vendor.name_zh, "category": str(sig.category)}


def record(row: ObservationRow, session_name: str, index: SignatureIndex) -> dict:
    return {
        "id": row.id, "session": session_name, "ts": row.ts, "source": row.source, "kind": row.kind,
        "method": row.method, "scheme": row.scheme, "host": row.host, "port": row.port, "url": _url(row),
        "status": row.status, "sdk": _sdk(row, index), "first_party": row.first_party,
        "data": [{"type": d.type, "location": d.location, "key": d.key, "encoding": d.encoding,
                  "confidence": d.confidence, "reason": d.reason, "preview": d.preview} for d in row.detections],
        "tls": row.tls, "opaque": row.opaque, "error": row.error,
    }


def write_jsonl(rows: Iterable[tuple[ObservationRow, str]], out: IO[str], index: SignatureIndex) -> int:
    count = 0
    for row, session in rows:
        out.write(json.dumps(record(row, session, index), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[tuple[ObservationRow, str]], out: IO[str], index: SignatureIndex) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row, session in rows:
        rec = record(row, session, index)
        sdk = rec["sdk"] or {}
        values = [rec["id"], session, rec["ts"], rec["source"], rec["kind"], rec["method"], rec["scheme"], rec["host"],
                  rec["port"], rec["url"], rec["status"], rec["tls"], sdk.get("id"), sdk.get("name"),
                  sdk.get("name_zh"), sdk.get("vendor"), sdk.get("category"), rec["first_party"],
                  " ".join(sorted({d["type"] for d in rec["data"]})),
                  "; ".join(f"{d['type']}@{d['location']}:{d['key']} ({d['encoding']})" for d in rec["data"]),
                  rec["error"]]
        writer.writerow([spreadsheet_safe(v) for v in values])
        count += 1
    return count


def _har_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def write_har(rows: Iterable[tuple[ObservationRow, str]], out: IO[str], index: SignatureIndex) -> int:
    entries = []
    for row, _session in rows:
        if row.kind not in (ObservationKind.REQUEST, ObservationKind.WEBSOCKET):
            continue
        request: dict = {
            "method": row.method or "GET", "url": _url(row), "httpVersion": row.http_version or "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in row.headers], "cookies": [],
            "queryString": [], "headersSize": -1, "bodySize": row.body_size,
        }
        if row.body:
            try:
                request["postData"] = {"mimeType": "", "text": row.body.decode("utf-8")}
            except UnicodeDecodeError:
                request["postData"] = {"mimeType": "", "text": base64.b64encode(row.body).decode(), "encoding": "base64"}
        content: dict = {"size": row.response_size or 0, "mimeType": ""}
        if row.response_head:
            content.update(text=base64.b64encode(row.response_head).decode(), encoding="base64")
        entry = {
            "startedDateTime": _har_time(row.ts), "time": 0, "request": request,
            "response": {"status": row.status or 0, "statusText": "", "httpVersion": row.http_version or "HTTP/1.1",
                         "headers": [{"name": k, "value": v} for k, v in row.response_headers], "cookies": [],
                         "content": content, "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
            "_flowaudit": record(row, _session, index),
        }
        if row.server_ip:
            entry["serverIPAddress"] = row.server_ip
        if row.error:
            entry["response"]["_error"] = row.error
        entries.append(entry)
    json.dump({"log": {"version": "1.2", "creator": {"name": "flowaudit", "version": __version__},
                       "entries": entries}}, out, ensure_ascii=False)
    return len(entries)


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "har": write_har}
