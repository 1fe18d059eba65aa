"""Write the seed corpus of malformed (and a few well-formed) inputs: fuzz/corpus/<target>/<name>.

Deterministic: the same files every run, so the committed corpus only changes when this script does.
Usage: python fuzz/make_corpus.py [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import bz2
import gzip
import hashlib
import json
import os
import random
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
PYTHON_TAG = "!!python/object/apply:os.system ['touch /tmp/flowaudit-pwned']\n"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
TRAVERSAL = "../../etc/flowaudit-traversal"


_RANDOM = random.Random(20260101)


def _deterministic_urandom(n: int) -> bytes:
    return _RANDOM.randbytes(n)


def _gzip(data: bytes, level: int = 9) -> bytes:
    return gzip.compress(data, level, mtime=0)


def _dns() -> dict[str, bytes]:
    from flowaudit.readers.capture_synth import dns_query_bytes

    query = dns_query_bytes("api.example.com")
    header = query[:12]
    return {
        "valid": query,
        "truncated": query[:20],
        "pointer_loop": header + b"\xc0\x0c\x00\x01\x00\x01",
        "pointer_forward": header + b"\xc0\xff\x00\x01\x00\x01",
        "label_too_long": header + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
        "name_too_long": header + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01",
        "many_questions": query[:4] + b"\xff\xff" + query[6:] * 3,
        "response": query[:2] + b"\x81\x80" + query[4:],
        "ptr": dns_query_bytes("4.3.2.1.in-addr.arpa", qtype=12),
    }


def _tls() -> dict[str, bytes]:
    from flowaudit.readers.capture_synth import client_hello_record

    record = client_hello_record("api.example.com")
    body = record[9:]
    return {
        "record": record,
        "body": body,
        "no_sni": client_hello_record(None)[9:],
        "truncated": body[:60],
        "huge_extension_length": body[:43 + body[34] + 2] + b"\xff\xff" + body[43 + body[34] + 4:],
        "sni_length_past_end": body.replace(b"api.example.com", b"api.example.co\xff"),
        "records_split": record[:3] + b"\x00\x10" + record[5:21] + record[:3] + b"\x00\x10" + record[21:37],
        "bad_record_type": b"\x63\x03\x01\x00\x05hello",
        "oversized_record": b"\x16\x03\x01\xff\xff" + body[:100],
        "handshake_length_huge": b"\x16\x03\x01\x00\x08\x01\xff\xff\xff\x03\x03\x00\x00",
    }


def _quic() -> dict[str, bytes]:
    from flowaudit.readers.capture.quic import QUIC_V2, build_client_initial, encode_varint

    dcid = bytes.fromhex("8394c8f03e515708")
    initial = build_client_initial("quic.example.com", dcid, scid=b"\x01" * 8)
    return {
        "initial_v1": initial,
        "initial_v2": build_client_initial("quic.example.com", dcid, scid=b"\x02" * 8, version=QUIC_V2),
        "truncated": initial[:60],
        "coalesced_garbage": initial[:300] + initial,
        "unknown_version": initial[:1] + b"\xfa\xce\xb0\x0c" + initial[5:],
        "dcid_too_long": initial[:5] + b"\x40" + initial[6:],
        "crypto_frames": b"\x06" + encode_varint(0) + encode_varint(6) + b"\x01\x00\x00\x40ab" + b"\x02\x00\x00\xff\xff"
                         + b"\x06" + encode_varint(1 << 30) + encode_varint(3) + b"xyz",
        "ack_huge_count": b"\x02\x00\x00" + encode_varint((1 << 62) - 1) + b"\x00",
        "varint_past_end": b"\x06\xc0\x00",
    }


def _http1() -> dict[str, bytes]:
    get = b"GET /a?x=1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"
    server = b"\n--server--\n"
    seeds = {
        "pipelined": get * 3 + server + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 3,
        "chunked_bad_size": b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "chunk_size_huge": b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc",
        "negative_length": b"POST /n HTTP/1.1\r\nContent-Length: -5\r\n\r\nabc",
        "duplicate_lengths": b"POST /d HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 300\r\n\r\nabc",
        "huge_header": b"GET / HTTP/1.1\r\nX-Big: " + b"A" * 5000 + b"\r\n\r\n",
        "folded_header": b"GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\tthree\r\n\r\n",
        "non_utf8": b"GET /\xff\xfe HTTP/1.1\r\nHost: \xc3\x28\r\n\r\n",
        "absolute_form": b"GET http://evil.example:99999/x HTTP/1.1\r\n\r\nCONNECT a:443 HTTP/1.1\r\n\r\n",
        "upgrade": b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n" + server + b"HTTP/1.1 101 Switching\r\n\r\n\x00",
        "continue_then_body": b"POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody" + server
                              + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        # Content-Length and Host port made of non-ASCII digits: str.isdigit() accepts them, int() does not
        "content_length_unicode_digit": b"POST /d HTTP/1.1\r\nContent-Length: \xc2\xb2\r\n\r\nab",
        "host_port_unicode_digit": b"GET / HTTP/1.1\r\nHost: a.example:\xc2\xb2\r\n\r\n",
        # a request line ended by a bare LF before the CRLF header block (found by fuzzing)
        "bare_lf_request_line": b"GET /a HTTP/1.1\nHost: a b\r\n\r\n",
        # an absolute-form target with an unbalanced IPv6 bracket (found by fuzzing)
        "absolute_form_bracket": b"GET http://evil[.example/x HTTP/1.1\r\n\r\n",
        "hostile_target": b"GET /" + HOSTILE.encode() + b" HTTP/1.1\r\nHost: " + HOSTILE.encode() + b"\r\n\r\n",
    }
    # mode 0 (no prefix, client then server stream), whole streams; one seed byte by byte
    out = {name: b"\x00\x00" + data for name, data in seeds.items()}
    out["pipelined_byte_by_byte"] = b"\x00\x01" + seeds["pipelined"]
    out["ops_with_gaps"] = b"\x81" + b"\x21\x10" + get[:16] + b"\x0b\x05" + b"\x21\x20" + get[16:48]
    return out


def _http2() -> dict[str, bytes]:
    import h2.config
    import h2.connection

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":path", "/v1/log"), (":scheme", "https"),
                          (":authority", "api.example.com"), ("x-imei", "867530012345672")])
    conn.send_data(1, b'{"k": 1}', end_stream=True)
    client = conn.data_to_send()
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, validate_outbound_headers=False,
                                                                 normalize_outbound_headers=False))
    server.initiate_connection()
    server.receive_data(client)
    server.send_headers(1, [(":status", "200"), ("content-type", "application/json")])
    server.send_data(1, b"{}", end_stream=True)
    response = server.data_to_send()
    odd = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, validate_outbound_headers=False,
                                                              normalize_outbound_headers=False))
    odd.initiate_connection()
    odd.receive_data(client)
    odd.send_headers(1, [(":status", "\u00b2")], end_stream=True)   # a Unicode digit
    marker = b"\n--server--\n"
    return {
        "exchange": b"\x00" + client + marker + response,
        "truncated_frame": b"\x00" + client[:40],
        "huge_frame_length": b"\x00" + client[:24] + b"\xff\xff\xff\x01\x04\x00\x00\x00\x01",
        "bad_hpack": b"\x00" + client[:24] + b"\x00\x00\x05\x01\x05\x00\x00\x00\x01\xff\xff\xff\xff\xff",
        "continuation_flood": b"\x00" + client[:24] + b"\x00\x00\x01\x01\x00\x00\x00\x00\x03\x82"
                              + b"\x00\x00\x01\x09\x00\x00\x00\x00\x03\x82" * 40,
        "ops_with_gaps": b"\x81" + b"\x41\x20" + client[24:56] + b"\x11" + b"\x40\x30" + response[:48],
        # a :status made of a non-ASCII digit (found by fuzzing)
        "status_unicode_digit": b"\x00" + client + marker + odd.data_to_send(),
    }


def _tcp() -> dict[str, bytes]:
    def seg(offset: int, data: bytes, op: int = 0x01) -> bytes:
        return bytes([op | len(data) & 0x3F]) + struct.pack("!H", offset) + bytes([len(data)]) + data
    return {
        "in_order": b"\xff\xff\xff\xf0\x00" + seg(0, b"abcdef") + seg(6, b"ghij"),
        "wraparound": b"\xff\xff\xff\xfe\x01" + seg(0, b"abcdef") + seg(6, b"ghij") + seg(3, b"defgh"),
        "holes_and_acks": b"\x00\x00\x10\x00\x00" + seg(100, b"late") + b"\x07\x00\xff" + seg(0, b"early"),
        "overlaps": b"\x00\x00\x00\x00\x00" + seg(0, b"aaaa") + seg(2, b"bbbbbb") + seg(1, b"cc") + seg(0, b"d" * 20),
        "snaplen_cut": b"\x00\x00\x00\x00\x00" + bytes([0x45]) + b"\x00\x00\x05\x10abcde" + seg(30, b"zz"),
    }


def _bombs() -> dict[str, bytes]:
    import brotli
    import zstandard

    zeros = b"\x00" * (4 << 20)
    inner = _gzip(b"{" * 10 + b"\x00" * (4 << 20), 9)
    return {
        "gzip_bomb": _gzip(zeros, 9),
        "zlib_bomb": zlib.compress(zeros, 9),
        "brotli_bomb": brotli.compress(zeros, quality=9),
        "zstd_bomb": zstandard.ZstdCompressor(level=19).compress(zeros),
        "nested_gzip": _gzip(_gzip(inner, 9), 9),
    }


def _decode() -> dict[str, bytes]:
    import brotli

    selector = b"\x01"  # content type application/json for the first pass, then header choices
    deep_json = b"[" * 5000 + b"]" * 5000
    proto_recursion = b""
    for _ in range(60):
        proto_recursion = b"\x0a" + _varint(len(proto_recursion)) + proto_recursion
    payload = json.dumps({"data": base64.b64encode(_gzip(b'{"imei": "867530012345672"}')).decode(),
                          "jwt": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjMifQ.", "hex": "7b2261223a317d"}).encode()
    seeds = {
        "json_nested_encodings": selector + b"\x01\x00\x00" + payload,
        "deep_json": selector + b"\x01\x00\x00" + deep_json,
        "protobuf_recursion": b"\x03\x03\x00\x00" + proto_recursion,
        "multipart": b"\x05\x05\x00\x00" + b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"" +
                     TRAVERSAL.encode() + b"\"\r\nContent-Type: text/plain\r\n\r\nimei=867530012345672\r\n--XyZ--",
        "grpc_frames": b"\x04\x04\x00\x00" + b"\x01\xff\xff\xff\xff" + b"\x00\x00\x00\x00\x05\x0a\x03abc",
        "truncated_gzip": b"\x00\x00\x01\x00" + _gzip(b"a=1&b=2" * 100)[:40],
        "brotli_body": b"\x00\x02\x03\x00" + brotli.compress(b'{"oaid": "a1b2c3d4-0000-4e5f-9a8b-c0ffee123456"}'),
        "form_with_percent": b"\x02\x02\x00\x00" + b"a=%E4%B8%AD%ZZ&b=" + b"%25" * 300,
        "bzip_not_supported": b"\x00\x00\x08\x00" + bz2.compress(b"hello" * 100),
    }
    bombs = _bombs()
    # the decode target's layout: [content type][content type][encoding][extra headers] then body pieces
    seeds["gzip_bomb"] = b"\x00\x00\x01\x00" + bombs["gzip_bomb"]
    seeds["brotli_bomb"] = b"\x00\x00\x03\x00" + bombs["brotli_bomb"]
    seeds["zstd_bomb"] = b"\x00\x00\x04\x00" + bombs["zstd_bomb"]
    seeds["nested_gzip_bomb"] = b"\x00\x00\x01\x00" + bombs["nested_gzip"]
    seeds["magic_zlib_bomb"] = bombs["zlib_bomb"]
    return seeds


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _har() -> dict[str, bytes]:
    entry = {"startedDateTime": "2026-01-02T03:04:05Z",
             "request": {"method": "POST", "url": "https://api.example.com/v1/" + TRAVERSAL + "?q=" + HOSTILE,
                         "httpVersion": "HTTP/1.1", "headers": [{"name": "X-Imei", "value": "867530012345672"}],
                         "postData": {"mimeType": "application/json", "text": base64.b64encode(b'{"a":1}').decode(),
                                      "encoding": "base64"}},
             "response": {"status": 200, "headers": [], "content": {"size": 2, "text": "{}"}}}
    valid = json.dumps({"log": {"version": "1.2", "entries": [entry]}}).encode()
    return {
        "valid": valid,
        "truncated": valid[: len(valid) // 2],
        "deep_nesting": b'{"log": {"entries": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        "wrong_types": b'{"log": {"entries": [1, "x", null, {"request": 5}, {"request": {"url": 7}}]}}',
        "no_host": b'{"log": {"entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"url": "file:///etc/passwd"}}]}}',
        "bad_port_and_date": b'{"log": {"entries": [{"startedDateTime": "yesterday", "request": {"url": "http://a:99999999/"}}]}}',
        "bad_base64": valid.replace(b'"encoding": "base64"', b'"encoding": "base64", "x": "\\u0000"').replace(
            base64.b64encode(b'{"a":1}'), b"!!!not*base64==="),
        # an unbalanced IPv6 bracket: urlsplit raises ValueError (found by fuzzing)
        "ipv6_bracket_url": b'{"log": {"entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"url": "http://[::1/x"}}]}}',
        "not_json": b"\xff\xfe<html>" + HOSTILE.encode(),
        "lone_surrogate": b'{"log": {"entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"url": "http://a/\\ud800", "postData": {"text": "\\udfff"}}}]}}',
    }


def _pcap() -> dict[str, bytes]:
    from flowaudit.readers.capture_synth import DnsQuery, HttpExchange, QuicHello, TlsHello, write_capture

    items = [HttpExchange(ts=1.0, client="10.0.0.2", server="203.0.113.7", host="api.example.com", method="POST",
                          path="/v1/" + TRAVERSAL, body=b'{"imei": "867530012345672"}', chunked=True, chunk_size=7),
             DnsQuery(ts=1.5, client="10.0.0.2", name="dns.example.com"),
             TlsHello(ts=2.0, client="10.0.0.2", server="203.0.113.8", sni="tls.example.com"),
             QuicHello(ts=2.5, client="10.0.0.2", server="203.0.113.9", sni="quic.example.com", dcid=b"\x11" * 8)]
    with tempfile.TemporaryDirectory() as tmp:
        pcap, pcapng = Path(tmp) / "a.pcap", Path(tmp) / "a.pcapng"
        write_capture(pcap, items)
        write_capture(pcapng, items, fmt="pcapng")
        pcap_bytes, pcapng_bytes = pcap.read_bytes(), pcapng.read_bytes()
    return {
        "valid_pcap": pcap_bytes,
        "valid_pcapng": pcapng_bytes,
        "truncated_pcap": pcap_bytes[: len(pcap_bytes) * 2 // 3],
        "truncated_header": pcap_bytes[:14],
        "record_length_huge": pcap_bytes[:24] + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 0x7FFFFFFF) + b"\x00" * 40,
        "pcapng_bad_block_length": pcapng_bytes[:28] + b"\x06\x00\x00\x00\xff\xff\xff\x7f" + b"\x00" * 40,
        "pcapng_short_block": pcapng_bytes[:28] + b"\x06\x00\x00\x00\x08\x00\x00\x00",
        "unknown_linktype": pcap_bytes[:20] + struct.pack("<I", 147) + pcap_bytes[24:200],
        "not_a_capture": b"\x7fELF\x02\x01\x01",
    }


def _declaration_tables() -> dict[str, dict[str, bytes]]:
    sdk_csv = ("SDK名称,第三方名称,使用目的,收集个人信息类型,隐私政策链接\n"
               "友盟统计SDK,友盟同欣（北京）科技有限公司,统计分析,设备信息（IMEI/OAID）,https://www.umeng.com/policy\n"
               f"{HOSTILE},=cmd|' /C calc'!A0,{TRAVERSAL},\"未闭合,x\n").encode()
    pi_csv = "信息名称,信息类别,收集场景,收集目的,收集频次\n手机号,用户基本信息,注册,登录,每次启动1次\n".encode()
    md = ("| SDK名称 | 第三方名称 | 使用目的 | 收集个人信息类型 |\n|---|---|---|---|\n"
          f"| 极光推送 | 深圳市和讯华谷信息技术有限公司 | 推送 | [设备信息](javascript:alert(1)) |\n"
          f"| {HOSTILE} | | | |\n| 不完整的行 |\n"
          "\nSDK名称：个推\n第三方名称：每日互动股份有限公司\n收集个人信息：IMEI、MAC地址\n").encode()
    html = ("<html><body><table><tr><th>SDK名称</th><th>第三方名称</th><th>收集个人信息类型</th></tr>"
            "<tr><td>腾讯Bugly<script>alert(1)</script></td><td rowspan=\"999999\">深圳市腾讯计算机系统有限公司</td>"
            "<td colspan=\"100000\">设备型号</td></tr><tr><td><table><tr><td>nested</td></tr></table></td></tr>"
            "</table>" + "<div>" * 500 + "</body></html>").encode()
    yaml_valid = ("format_version: 1\napp:\n  name: Demo\n  package: com.example.demo\n"
                  "sdk_list:\n  - name: 友盟统计SDK\n    pi_types: [IMEI, OAID]\n"
                  "pi_list:\n  - type: 手机号\n    frequency: 每天1次\n").encode()
    return {
        "declare_csv": {"sdk_table": sdk_csv, "pi_table": pi_csv, "gb18030": sdk_csv.decode().encode("gb18030"),
                        "unterminated_quote": b'SDK\xe5\x90\x8d\xe7\xa7\xb0\n"' + b"a" * 3000,
                        "nul_bytes": b"SDK\x00,x\x00\n\x00\x00", "ragged": b"a,b,c\n1\n1,2,3,4,5,6\n" * 20},
        "declare_markdown": {"tables_and_blocks": md, "separator_only": b"|---|---|\n|---|\n",
                             "pipes": b"|" * 3000 + b"\n" + b"| a |" * 200},
        "declare_html": {"page": html, "unclosed": b"<table><tr><th>SDK\xe5\x90\x8d\xe7\xa7\xb0<td>x" * 50,
                         "entities": b"<table><tr><th>&#0;&#xFFFFFFFF;&amp;</th></tr></table>"},
        "declare_yaml": {"valid": yaml_valid, "alias_bomb": ALIAS_BOMB.encode(), "python_tag": PYTHON_TAG.encode(),
                         "deep": b"a: " + b"[" * 2000 + b"]" * 2000, "not_mapping": b"- 1\n- 2\n",
                         "bad_regex": yaml_valid + b"consent:\n  requests:\n    - host: a.example\n      path_regex: '(a+)+$['\n",
                         "wrong_version": yaml_valid.replace(b"format_version: 1", b"format_version: 999")},
    }


def _mitmflow() -> dict[str, bytes]:
    from fuzz_mitmflow import valid_dump
    from mitmproxy.io import tnetstring
    from mitmproxy.test import tflow

    dump = valid_dump()
    state = tflow.tflow(resp=True).get_state()
    state["unknown_field"] = 1
    return {
        # a flow whose state carries a key this mitmproxy does not know (found by fuzzing)
        "unknown_key": tnetstring.dumps(state),
        "valid": dump,
        "truncated": dump[: len(dump) // 2],
        "length_past_end": b"999999999:" + dump[:100],
        "deep_list": b"9:" * 3000,
        "wrong_record_type": b"5:hello,",
        "bad_type_byte": b"3:abcX",
        "newer_version": dump.replace(b"7:version;2:", b"7:version;3:", 1),
    }


def _signature() -> dict[str, bytes]:
    from flowaudit.signature_db import signature_files

    valid = signature_files()[0].read_bytes()
    return {"valid": valid, "alias_bomb": ALIAS_BOMB.encode(), "python_tag": PYTHON_TAG.encode(),
            "truncated": valid[: len(valid) // 2], "not_mapping": b"[1, 2, 3]\n",
            "deep": b"id: " + b"{a: " * 1500 + b"1" + b"}" * 1500}


def generators() -> dict[str, Callable[[], dict[str, bytes]]]:
    tables = _declaration_tables()
    gens: dict[str, Callable[[], dict[str, bytes]]] = {
        "dns": _dns, "tls": _tls, "quic": _quic, "http1": _http1, "http2": _http2, "tcp": _tcp, "decode": _decode,
        "har": _har, "pcap": _pcap, "mitmflow": _mitmflow, "signature": _signature,
    }
    for name, seeds in tables.items():
        gens[name] = lambda seeds=seeds: seeds
    return gens


def write(out: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for target, make in sorted(generators().items()):
        directory = out / target
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        for name, data in sorted(make().items()):
            (directory / name).write_bytes(data)
            sizes[f"{target}/{name}"] = len(data)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "corpus")
    args = parser.parse_args()
    # random connection ids and TLS randoms in the synthesised seeds: the same bytes on every run
    os.urandom = _deterministic_urandom
    sizes = write(args.out)
    digest = hashlib.sha256(b"".join(sorted(k.encode() for k in sizes))).hexdigest()[:12]
    print(f"{len(sizes)} seed files, {sum(sizes.values())} bytes, in {args.out} ({digest})")
    biggest = max(sizes.items(), key=lambda kv: kv[1])
    print(f"largest: {biggest[0]} ({biggest[1]} bytes)")


if __name__ == "__main__":
    main()
