from __future__ import annotations

import base64
import gzip
import json
import struct
import time
import zlib

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowaudit.core.decode import (
    Budget,
    decode_bytes,
    decode_observation,
    exif_gps,
    parse_protobuf,
    sniff_media,
)
from flowaudit.core.model import Observation


def obs(**kw) -> Observation:
    kw.setdefault("ts", 0.0)
    kw.setdefault("host", "api.example.cn")
    kw.setdefault("method", "POST")
    return Observation(**kw)


def fields(result) -> dict[str, tuple[str, str, str]]:
    """key -> (location, chain, value) for scalar fields (the deepest chain wins on duplicates)."""
    out: dict[str, tuple[str, str, str]] = {}
    for f in result.fields:
        if f.kind in ("str", "num"):
            current = out.get(f.key)
            if current is None or f.chain.count(">") >= current[1].count(">"):
                out[f.key] = (f.location, f.chain, f.value)
    return out


def pb_varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def pb(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return pb_varint(number << 3) + pb_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return pb_varint(number << 3 | 2) + pb_varint(len(data)) + data


def test_query_path_cookies_headers() -> None:
    result = decode_observation(obs(
        path="/v1/user/13812345678/info", query="imei=490154203237518&empty=&ext=%7B%22a%22%3A%22bbbbbbbb%22%7D",
        headers=[("Accept", "*/*"), ("Content-Length", "0"), ("Host", "api.example.cn"), ("X-Device-Id", "abc123def"),
                 ("User-Agent", "Dalvik/2.1.0 (Linux; U; Android 11; MI 9 Build/RKQ1)"),
                 ("Cookie", "sid=s1; oaid=%7B%22v%22%3A%221%22%7D"),
                 ("Referer", "https://m.example.cn/p?uid=42&phone=13812345678")]))
    found = fields(result)
    assert found["imei"] == ("query", "query", "490154203237518")
    assert found["empty"][2] == ""
    assert found["ext.a"] == ("query", "query>ext.json", "bbbbbbbb")
    assert found["path[2]"] == ("path", "path", "13812345678")
    assert found["X-Device-Id"][0] == "header"
    assert found["sid"] == ("cookie", "cookie", "s1")
    assert found["oaid.v"][1] == "cookie>oaid.json"
    assert found["referer.phone"] == ("header", "header>referer.query", "13812345678")
    assert not any(f.key in ("Accept", "Content-Length", "Host") for f in result.fields)
    ua = [f for f in result.fields if f.kind == "ua"]
    assert len(ua) == 1 and ua[0].key == "User-Agent"


def test_nested_json_and_the_documented_chain() -> None:
    inner = base64.b64encode(json.dumps({"device": {"imei": "490154203237518"}}).encode()).decode()
    body = gzip.compress(json.dumps({"data": inner, "list": [1, 2, {"k": "v"}]}).encode())
    result = decode_observation(obs(headers=[("Content-Type", "application/json")], body=body))
    found = fields(result)
    assert found["data.device.imei"] == ("body", "body>gzip>json>data.base64>json", "490154203237518")
    assert found["list[]"][2] in ("1", "2")
    assert found["list[].k"][2] == "v"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_content_encodings(encoding: str) -> None:
    payload = json.dumps({"phone": "13812345678"}).encode()
    body = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress,
            "zstd": zstandard.ZstdCompressor().compress}[encoding](payload)
    result = decode_observation(obs(headers=[("Content-Encoding", encoding)], body=body))
    assert fields(result)["phone"][2] == "13812345678"
    assert not result.notes


@pytest.mark.parametrize(("compress", "step"), [(gzip.compress, "gzip"), (zlib.compress, "zlib"),
                                                (lambda d: zstandard.ZstdCompressor().compress(d), "zstd")])
def test_compression_sniffed_without_header(compress, step: str) -> None:
    result = decode_bytes(compress(b'{"mac": "ac:de:48:00:11:22"}'))
    assert fields(result)["mac"] == ("body", f"body>{step}>json", "ac:de:48:00:11:22")


def test_raw_deflate_with_header() -> None:
    deflater = zlib.compressobj(wbits=-15)
    body = deflater.compress(b"a=1&imei=490154203237518") + deflater.flush()
    result = decode_observation(obs(headers=[("Content-Encoding", "deflate")], body=body))
    assert fields(result)["imei"][1] == "body>deflate>form"


def test_form_body_and_kv_strings() -> None:
    result = decode_observation(obs(headers=[("Content-Type", "application/x-www-form-urlencoded")],
                                    body=b"info=imei%3D490154203237518%3Bmac%3Dac%3Ade%3A48%3A00%3A11%3A22&v=1"))
    found = fields(result)
    assert found["info.imei"] == ("body", "body>form>info.kv", "490154203237518")
    assert found["info.mac"][2] == "ac:de:48:00:11:22"


def test_url_encoded_json_inside_json() -> None:
    value = "%7B%22oaid%22%3A%221fe9a970-efbb-29e0-0bdd-f5dbbf751ab5%22%7D"
    result = decode_bytes(json.dumps({"p": value}).encode())
    assert fields(result)["p.oaid"][1] == "body>json>p.urlencoded>json"


def test_base64url_and_hex_and_jwt() -> None:
    payload = json.dumps({"phone": "13812345678", "n": "x" * 10}).encode()
    token = ".".join([base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("="),
                      base64.urlsafe_b64encode(payload).decode().rstrip("="), "c2lnbmF0dXJl"])
    body = json.dumps({"u": base64.urlsafe_b64encode(payload).decode().rstrip("="), "h": payload.hex(),
                       "t": token}).encode()
    found = fields(decode_bytes(body))
    assert found["u.phone"][1] == "body>json>u.base64>json"
    assert found["h.phone"][1] == "body>json>h.hex>json"
    assert found["t.phone"][1] == "body>json>t.jwt"
    auth = decode_observation(obs(headers=[("Authorization", f"Bearer {token}")]))
    assert fields(auth)["Authorization.phone"] == ("header", "header>Authorization.jwt", "13812345678")


def test_base64_of_random_bytes_is_not_decoded_but_flagged_opaque() -> None:
    blob = bytes((i * 97 + 13) % 251 for i in range(300))
    result = decode_bytes(json.dumps({"data": base64.b64encode(blob).decode(), "v": "1"}).encode())
    assert all(">data.base64" not in f.chain for f in result.fields)
    assert result.body_opaque
    assert any(n.startswith("opaque:") for n in result.notes)
    plain = decode_bytes(json.dumps({"word": "HelloWorldExample", "md5": "0" * 31 + "1"}).encode())
    assert not plain.body_opaque and all(f.chain == "body>json" for f in plain.fields)


def test_binary_body_high_entropy_is_opaque() -> None:
    import random
    rng = random.Random(1)
    result = decode_bytes(bytes(rng.getrandbits(8) for _ in range(4096)), content_type="application/octet-stream")
    assert result.body_opaque and not result.fields


def test_multipart() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n"
            b"{\"imei\": \"490154203237518\"}\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello there\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"pic\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            + jpeg + b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"rec\"; filename=\"r.amr\"\r\n\r\n#!AMR\n\x00\x01\r\n"
            b"--XyZ--\r\n")
    result = decode_observation(obs(headers=[("Content-Type", "multipart/form-data; boundary=XyZ")], body=body))
    found = fields(result)
    assert found["meta.imei"] == ("body", "body>multipart>json", "490154203237518")
    assert found["note"][2] == "hello there"
    media = {f.key: f.media_type for f in result.fields if f.kind == "media"}
    assert media == {"pic": "image/jpeg", "rec": "audio/amr"}
    assert next(f for f in result.fields if f.key == "pic").data == jpeg


def test_multipart_without_boundary_is_noted() -> None:
    result = decode_observation(obs(headers=[("Content-Type", "multipart/form-data")], body=b"--x\r\n\r\n"))
    assert any("boundary" in n for n in result.notes)


def test_protobuf_nested_and_grpc() -> None:
    inner = pb(1, "490154203237518") + pb(2, 1732748400123) + pb(3, "zhang.san@example.com")
    message = pb(1, "abcdefabcdef0123") + pb(7, inner) + pb(9, 42)
    found = fields(decode_bytes(message, content_type="application/x-protobuf"))
    assert found["7.1"] == ("body", "body>protobuf", "490154203237518")
    assert found["7.2"][2] == "1732748400123"
    assert found["9"][2] == "42"
    framed = b"\x00" + struct.pack(">I", len(message)) + message
    grpc = decode_observation(obs(headers=[("Content-Type", "application/grpc")], body=framed))
    assert fields(grpc)["7.3"] == ("body", "body>grpc>protobuf", "zhang.san@example.com")


def test_protobuf_parser_rejects_garbage() -> None:
    assert parse_protobuf(b"\x08\x96\x01") == [(1, 0, 150)]
    assert parse_protobuf(b"\x0a\x05ab") is None            # length beyond the end
    assert parse_protobuf(b"\x0b\x01") is None              # group wire type
    assert parse_protobuf(b"\x00\x01") is None              # field number 0
    assert parse_protobuf(b"\x08" + b"\xff" * 11) is None   # endless varint


def test_protobuf_recursion_budget() -> None:
    message = pb(1, "leaf-value-here")
    for _ in range(80):
        message = pb(2, message)
    result = decode_bytes(message, content_type="application/x-protobuf")
    assert any(n.startswith("budget:nesting") for n in result.notes)


def test_deep_json_is_stopped_not_crashing() -> None:
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    result = decode_bytes(deep)
    assert any("nest" in n for n in result.notes) or not result.fields
    nested: dict = {"imei": "490154203237518"}
    for _ in range(200):
        nested = {"a": nested}
    result = decode_bytes(json.dumps(nested).encode())
    assert any(n.startswith("budget:nesting") for n in result.notes)


def test_encoding_depth_budget() -> None:
    value = json.dumps({"imei": "490154203237518"})
    for _ in range(12):
        value = base64.b64encode(json.dumps({"d": value}).encode()).decode()
    result = decode_bytes(json.dumps({"d": value}).encode())
    assert any(n.startswith("budget:depth") for n in result.notes)
    assert max(f.depth for f in result.fields) <= Budget().max_depth


def test_bytes_and_field_budgets() -> None:
    body = json.dumps({f"k{i}": "v" for i in range(1000)}).encode()
    result = decode_bytes(body, budget=Budget(max_fields=100))
    assert len(result.fields) == 100 and any(n.startswith("budget:fields") for n in result.notes)
    result = decode_bytes(gzip.compress(body), budget=Budget(max_bytes=len(body) // 2))
    assert any(n.startswith("budget:") or n.startswith("bomb:") for n in result.notes)


def test_huge_headers_are_truncated() -> None:
    headers = [("X-Big", "a" * 100_000)] + [(f"X-H{i}", "b" * 10_000) for i in range(40)]
    result = decode_observation(obs(headers=headers))
    assert any(n.startswith("budget:header") for n in result.notes)
    assert all(len(f.value) <= Budget().max_header_value for f in result.fields)


@pytest.mark.parametrize("kind", ["gzip-of-gzip", "zstd", "brotli", "zlib"])
def test_decompression_bombs_are_flagged_not_expanded(kind: str) -> None:
    zeros = b"\0" * (64 * 1024 * 1024)
    if kind == "gzip-of-gzip":
        data, encoding = gzip.compress(gzip.compress(zeros, 9), 9), None
    elif kind == "zstd":
        data, encoding = zstandard.ZstdCompressor(level=10).compress(zeros), None
    elif kind == "brotli":
        data, encoding = brotli.compress(zeros, quality=3), "br"
    else:
        data, encoding = zlib.compress(zeros, 9), None
    headers = [("Content-Encoding", encoding)] if encoding else []
    result = decode_observation(obs(headers=headers, body=data))
    assert result.bomb
    assert any(n.startswith("bomb:") for n in result.notes)
    assert sum(len(f.value) for f in result.fields) < 1024 * 1024


def test_corrupt_compressed_stream_is_noted() -> None:
    result = decode_observation(obs(headers=[("Content-Encoding", "gzip")], body=b"\x1f\x8b\x08\x00garbage"))
    assert any(n.startswith("decode-error") for n in result.notes)
    odd = decode_observation(obs(headers=[("Content-Encoding", "compress")], body=b"xyz"))
    assert any("content-encoding" in n for n in odd.notes)


def test_media_sniffing_and_exif_gps() -> None:
    assert sniff_media(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_media(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert sniff_media(b"\x00\x00\x00\x18ftypheic") == "image/heic"
    assert sniff_media(b"plain") is None

    def rational(value: float) -> bytes:
        d = int(value)
        m = int((value - d) * 60)
        s = round(((value - d) * 60 - m) * 60 * 1000)
        return struct.pack("<6I", d, 1, m, 1, s, 1000)
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, 26) + b"\0" * 4
    data_at = 26 + 2 + 48 + 4
    tiff += struct.pack("<H", 4) + struct.pack("<HHI", 1, 2, 2) + b"N\0\0\0" + struct.pack("<HHII", 2, 5, 3, data_at)
    tiff += struct.pack("<HHI", 3, 2, 2) + b"E\0\0\0" + struct.pack("<HHII", 4, 5, 3, data_at + 24) + b"\0" * 4
    tiff += rational(39.904211) + rational(116.407395)
    app1 = b"Exif\0\0" + tiff
    jpeg = b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"
    lat, lng = exif_gps(jpeg)
    assert lat == pytest.approx(39.904211, abs=1e-5) and lng == pytest.approx(116.407395, abs=1e-5)
    assert exif_gps(b"\xff\xd8\xff\xe0\x00\x10JFIF") is None
    assert exif_gps(jpeg[:40]) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["", "application/json", "application/x-protobuf",
                                                  "multipart/form-data; boundary=a", "application/grpc",
                                                  "text/plain", "application/x-www-form-urlencoded"]))
def test_decode_bytes_never_raises(data: bytes, content_type: str) -> None:
    result = decode_bytes(data, content_type=content_type)
    assert isinstance(result.fields, list)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200), st.text(max_size=200), st.lists(st.tuples(st.text(max_size=20), st.text(max_size=200)),
                                                              max_size=6), st.binary(max_size=1024))
def test_decode_observation_never_raises(path: str, query: str, headers, body: bytes) -> None:
    decode_observation(obs(path="/" + path, query=query, headers=headers, body=body))


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
                    max_leaves=40))
def test_any_json_document_decodes(document) -> None:
    decode_bytes(json.dumps(document).encode())


def test_bomb_is_cheap() -> None:
    bomb = gzip.compress(gzip.compress(b"\0" * (64 * 1024 * 1024), 9), 9)
    start = time.process_time()
    decode_bytes(bomb)
    # not a timing assertion on speed targets: only that the bomb is not expanded to its full size
    assert time.process_time() - start < 5


def test_json_string_body_holding_base64() -> None:
    inner = base64.b64encode(json.dumps({"imei": "490154203237518"}).encode()).decode()
    result = decode_bytes(json.dumps(inner).encode())
    assert fields(result)["imei"] == ("body", "body>json>base64>json", "490154203237518")


def test_recent_memo_keeps_what_is_used_and_stays_bounded() -> None:
    from flowaudit.core.decode import Recent
    memo = Recent(4)
    memo.put("stable", 1)
    for i in range(100):
        memo.put(f"once-{i}", i)
        assert memo.get("stable") == 1          # used every time: survives every generation
    assert len(memo) <= 8
    assert memo.get("once-0") is None
    assert memo.get("missing") is None


def test_newline_delimited_json() -> None:
    body = b'{"event": "a", "imei": "490154203237518"}\n{"event": "b", "oaid": "x1"}\n'
    found = fields(decode_bytes(body))
    assert found["[].imei"] == ("body", "body>jsonl", "490154203237518")
    assert found["[].oaid"][2] == "x1"
