"""Property tests (hypothesis) for the parsers and importers that their own test files cover by example only:
QUIC Initials, the HAR, flow-dump and capture readers (round trips), the declaration importers (the same
table in CSV, Markdown and HTML reads the same), key logs, and the spreadsheet / terminal escaping."""

from __future__ import annotations

import csv
import io
import json
import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flowaudit.core.escaping import spreadsheet_safe, terminal_safe
from flowaudit.declare_import import csv_tables, entries_from_tables, html_tables, markdown_tables
from flowaudit.readers.capture.keylog import parse_keylog
from flowaudit.readers.capture.quic import (
    QUIC_V1,
    QUIC_V2,
    build_client_initial,
    client_hello_from_crypto,
    crypto_frames,
    unprotect_initials,
)
from flowaudit.readers.capture.tls import parse_client_hello
from flowaudit.readers.capture_synth import client_hello_record
from flowaudit.readers.har import HarError, read_har

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12).filter(lambda s: not s.startswith("-"))
hostname = st.lists(label, min_size=2, max_size=4).map(".".join)
path_text = st.text(string.ascii_letters + string.digits + "-._~", max_size=20)
scratch = Path(tempfile.mkdtemp(prefix="flowaudit-properties-"))


# -- QUIC ------------------------------------------------------------------------------------------------

@SETTINGS
@given(sni=hostname, dcid=st.binary(min_size=8, max_size=20), version=st.sampled_from([QUIC_V1, QUIC_V2]),
       cuts=st.lists(st.integers(1, 400), max_size=4), order=st.randoms(use_true_random=False))
def test_quic_client_hello_round_trips_in_any_split_and_order(sni, dcid, version, cuts, order):
    hello = client_hello_record(sni, alpn=("h3",))[5:]
    bounds = sorted({0, len(hello), *[c for c in cuts if c < len(hello)]})
    datagrams = [build_client_initial(sni, dcid, version=version, crypto_range=(a, b), hello=hello, pn=i)
                 for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]
    order.shuffle(datagrams)
    fragments: dict[int, bytes] = {}
    for datagram in datagrams:
        for got_dcid, payload in unprotect_initials(datagram):
            assert got_dcid == dcid
            fragments.update(crypto_frames(payload))
    body = client_hello_from_crypto(fragments)
    assert body is not None and parse_client_hello(body).server_name == sni


@SETTINGS
@given(st.binary(max_size=1500))
def test_quic_datagram_garbage_never_raises(data):
    for _, payload in unprotect_initials(data):
        crypto_frames(payload)
    fragments = dict(crypto_frames(data))
    client_hello_from_crypto({k: v for k, v in fragments.items() if k < 1 << 16})


@SETTINGS
@given(dcid=st.binary(min_size=8, max_size=20), flip=st.integers(0, 1199))
def test_quic_corrupted_initial_is_skipped_not_misread(dcid, flip):
    datagram = bytearray(build_client_initial("a.example", dcid, scid=b"\x01" * 8))
    assume(flip < len(datagram))
    datagram[flip] ^= 0x01
    for _, payload in unprotect_initials(bytes(datagram)):
        # only a flip in the (unauthenticated) token/length prefix could still decrypt; the payload is then intact
        body = client_hello_from_crypto(dict(crypto_frames(payload)))
        assert body is None or parse_client_hello(body).server_name == "a.example"


# -- HAR -------------------------------------------------------------------------------------------------

header_name = st.text(string.ascii_letters + "-", min_size=1, max_size=20).filter(lambda s: not s.startswith(":"))
header_value = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
body_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@SETTINGS
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), host=hostname, port=st.none() | st.integers(1, 65535),
       path=path_text, query=st.lists(st.tuples(label, path_text), max_size=4),
       headers=st.lists(st.tuples(header_name, header_value), max_size=5), body=body_text, base64_body=st.booleans())
def test_har_round_trip(method, host, port, path, query, headers, body, base64_body):
    import base64
    from urllib.parse import urlencode

    netloc = host if port is None else f"{host}:{port}"
    qs = urlencode(query)
    url = f"https://{netloc}/{path}" + (f"?{qs}" if qs else "")
    raw = body.encode("utf-8")
    post = {"mimeType": "text/plain", "text": base64.b64encode(raw).decode() if base64_body else body}
    if base64_body:
        post["encoding"] = "base64"
    entry = {"startedDateTime": "2026-01-02T03:04:05.250Z",
             "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1",
                         "headers": [{"name": n, "value": v} for n, v in headers], "postData": post},
             "response": {"status": 200, "headers": [], "content": {"size": 0, "text": ""}}}
    path_file = scratch / "round.har"
    path_file.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}), encoding="utf-8")
    errors: list[str] = []
    (obs,) = list(read_har(path_file, errors=errors))
    assert errors == []
    assert (obs.method, obs.host, obs.port, obs.path, obs.query) == (method, host, port, "/" + path, qs)
    assert obs.headers == headers and obs.body == raw and obs.tls
    assert obs.body_size == len(raw)


def test_har_base64_body_size_is_exact():
    import base64

    entry = {"startedDateTime": "2026-01-02T03:04:05Z",
             "request": {"method": "POST", "url": "https://a.example/",
                         "postData": {"text": base64.b64encode(b"0" * 10).decode(), "encoding": "base64"}}}
    path_file = scratch / "size.har"
    path_file.write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    (obs,) = list(read_har(path_file))
    assert obs.body == b"0" * 10 and obs.body_size == 10


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                          | st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                      max_size=4), max_leaves=20)
url_like = st.sampled_from(["http://[::1/x", "https://a.example:99999/", "http://[", "file:///etc/passwd", "//x/y"])
entry_keys = st.sampled_from(["startedDateTime", "request", "response", "serverIPAddress", "url", "method",
                              "headers", "postData", "text", "encoding", "content", "status", "params"])


@SETTINGS
@given(entries=st.lists(st.dictionaries(entry_keys, json_value | url_like
                                        | st.dictionaries(entry_keys, json_value | url_like, max_size=6), max_size=6),
                        max_size=4))
def test_har_with_arbitrary_values_only_records_entry_errors(entries):
    entries = [*entries, {"startedDateTime": "2026-01-01T00:00:00Z", "request": {"url": "http://[::1/x"}}]
    path = scratch / "values.har"
    path.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    errors: list[str] = []
    observations = list(read_har(path, errors=errors))
    assert len(observations) + len(errors) == len(entries)
    assert all(e.startswith("entry ") for e in errors)


@SETTINGS
@given(st.binary(max_size=400))
def test_har_garbage_is_a_har_error(data):
    path = scratch / "garbage.har"
    path.write_bytes(data)
    try:
        list(read_har(path))
    except HarError as exc:
        assert "\n" not in str(exc)


# -- flow dumps ------------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(host=hostname, path=path_text, body=st.binary(max_size=300), headers=st.lists(st.tuples(header_name, label),
                                                                                      max_size=4))
def test_flow_dump_round_trip(host, path, body, headers):
    from mitmproxy import io as mitmio
    from mitmproxy.test import tflow

    from flowaudit.readers.mitmflow import read_flow_file

    f = tflow.tflow(resp=True)
    f.request.host, f.request.path, f.request.content = host, "/" + path, body
    f.request.headers.clear()
    for name, value in headers:
        f.request.headers.add(name, value)
    buffer = io.BytesIO()
    mitmio.FlowWriter(buffer).add(f)
    dump = scratch / "round.mitm"
    dump.write_bytes(buffer.getvalue())
    (obs,) = list(read_flow_file(dump))
    assert (obs.host, obs.path, obs.body) == (host, "/" + path, body)
    assert [(k.lower(), v) for k, v in obs.headers] == [(k.lower(), v) for k, v in headers]


# -- captures --------------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(requests=st.lists(st.tuples(hostname, path_text, st.binary(max_size=3000), st.booleans()), min_size=1,
                         max_size=4), mss=st.integers(100, 1460), fmt=st.sampled_from(["pcap", "pcapng"]))
def test_capture_round_trip(requests, mss, fmt):
    from flowaudit.readers.capture_synth import HttpExchange, write_capture
    from flowaudit.readers.pcap import read_capture

    items = [HttpExchange(ts=10.0 + i, client="10.0.0.2", server=f"203.0.113.{i + 1}", host=host, method="POST",
                          path="/" + path, body=body, chunked=chunked, chunk_size=97)
             for i, (host, path, body, chunked) in enumerate(requests)]
    capture = scratch / f"round.{fmt}"
    write_capture(capture, items, fmt=fmt, mss=mss)
    observations = sorted(read_capture(capture), key=lambda o: o.ts)
    assert [(o.host, o.path, o.body) for o in observations] == [(h, "/" + p, b) for h, p, b, _ in requests]


# -- declaration importers -------------------------------------------------------------------------------

cell = st.text(string.ascii_letters + string.digits + " -_.()（）、，中文统计推送设备信息", min_size=1, max_size=20).map(str.strip)


@SETTINGS
@given(rows=st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=6))
def test_the_same_table_reads_the_same_in_csv_markdown_and_html(rows):
    header = ["SDK名称", "第三方名称", "使用目的"]
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    from_csv = entries_from_tables(csv_tables(out.getvalue().encode("utf-8"), ","))
    md = "\n".join(["| " + " | ".join(header) + " |", "|---|---|---|", *("| " + " | ".join(r) + " |" for r in rows)])
    from_md = entries_from_tables(*markdown_tables(md))
    html = ("<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
    from_html = entries_from_tables(*html_tables(html))
    assert from_csv[0] == from_md[0] == from_html[0]
    assert from_csv[3] == from_md[3] == from_html[3] == 1


# -- key logs and escaping -------------------------------------------------------------------------------

@SETTINGS
@given(lines=st.lists(st.tuples(st.sampled_from(["CLIENT_RANDOM", "CLIENT_TRAFFIC_SECRET_0", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                                 "BOGUS", "#"]), st.binary(min_size=0, max_size=40),
                                st.binary(min_size=0, max_size=60)), max_size=8),
       noise=st.text(max_size=80))
def test_key_log_parsing_never_raises_and_keeps_well_formed_lines(lines, noise):
    text = "\n".join(f"{label_} {a.hex()} {b.hex()}" for label_, a, b in lines) + "\n" + noise
    keylog = parse_keylog(text)
    for label_, client_random, secret in lines:
        if label_ != "BOGUS" and label_ != "#" and len(client_random) == 32 and secret:
            assert keylog.get(client_random) is not None


@SETTINGS
@given(st.text())
def test_spreadsheet_safe_never_leaves_a_formula_start(value):
    safe = spreadsheet_safe(value)
    assert isinstance(safe, str)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20"))
    assert safe in (value, "'" + value)


@SETTINGS
@given(st.text(), st.integers(1, 300))
def test_terminal_safe_output_is_printable_and_bounded(value, limit):
    shown = terminal_safe(value, limit)
    assert shown.isprintable()
    assert len(shown) <= 10 * limit + 1   # \\xNN... per character at most
