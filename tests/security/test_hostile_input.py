"""Hostile input: path traversal from names inside files, decoder budgets (bombs in every codec, deep JSON,
huge headers, protobuf recursion), YAML alias bombs and Python tags, and no pickle / eval / shell anywhere."""

from __future__ import annotations

import ast
import base64
import functools
import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from flowaudit.core.decode import decode_bytes, decode_observation
from flowaudit.core.model import Observation
from flowaudit.declare_import import ImportError_, import_files, read_declaration_file
from flowaudit.signature_db import SignatureFileError, load_signature_file

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("flowaudit", "db", "server", "addons")
TRAVERSAL = "../../etc/flowaudit-traversal"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9))
PYTHON_TAG = "!!python/object/apply:os.system ['touch {marker}']\n"
ZEROS = b"\x00" * (16 << 20)   # twice the per-stream inflate limit
FAST = 5.0   # seconds: far more than a budget-stopped decode needs


def flowaudit_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowaudit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "FLOWAUDIT_DB": str(cwd / "audit.db")})


def snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# -- no pickle, eval, exec, unsafe YAML or shells -------------------------------------------------------

def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            out.append((ast.unparse(node.func), node))
    return out


def _safe_loader_names(tree: ast.AST) -> set[str]:
    """Module-level names bound to a YAML SafeLoader (e.g. `_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            text = ast.unparse(node.value)
            if "SafeLoader" in text and "UnsafeLoader" not in text and "FullLoader" not in text:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {ast.unparse(t) for t in targets}
    return names


def test_no_pickle_eval_exec_unsafe_yaml_or_shell_in_the_source():
    problems = []
    files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 40
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        safe_loaders = _safe_loader_names(tree)
        for name, call in _calls(tree):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            if name in ("eval", "exec", "compile", "__import__") or name.startswith(("pickle.", "cPickle.", "marshal.",
                                                                                         "shelve.", "dill.")):
                problems.append(f"{where}: {name}()")
            if name in ("yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all"):
                problems.append(f"{where}: {name}()")
            if name == "yaml.load":
                loader = next((ast.unparse(k.value) for k in call.keywords if k.arg == "Loader"),
                              ast.unparse(call.args[1]) if len(call.args) > 1 else None)
                if loader is None or not (loader.endswith("SafeLoader") or loader in safe_loaders):
                    problems.append(f"{where}: yaml.load with Loader={loader}")
            if name in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
                problems.append(f"{where}: {name}()")
            for keyword in call.keywords:
                if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    problems.append(f"{where}: {name}(shell=...)")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(m.split(".")[0] in ("pickle", "cPickle", "marshal", "shelve", "dill") for m in modules):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {modules}")
    assert not problems, "\n".join(problems)


def test_the_source_check_catches_what_it_looks_for():
    tree = ast.parse("import pickle\nyaml.load(s)\nyaml.load(s, Loader=yaml.Loader)\neval(x)\n"
                     "subprocess.run(c, shell=True)\n_L = yaml.SafeLoader\nyaml.load(s, Loader=_L)\n")
    names = [n for n, _ in _calls(tree)]
    assert names.count("yaml.load") == 3 and "eval" in names
    assert _safe_loader_names(tree) == {"_L"}


# -- YAML: alias bombs and Python tags in declarations, device profiles and signatures --------------------

@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_declaration_alias_bomb_is_refused_quickly(tmp_path, suffix):
    path = tmp_path / f"declaration{suffix}"
    path.write_text(ALIAS_BOMB)
    started = time.monotonic()
    with pytest.raises(ImportError_, match="too large or too deeply nested"):
        read_declaration_file(path)
    assert time.monotonic() - started < FAST


def test_python_tags_are_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    payload = PYTHON_TAG.format(marker=marker)
    declaration, signature, profile = tmp_path / "d.yaml", tmp_path / "vendor" / "s.yaml", tmp_path / "p.yaml"
    signature.parent.mkdir()
    for path in (declaration, signature, profile):
        path.write_text(payload)
    with pytest.raises(ImportError_, match="not valid YAML"):
        read_declaration_file(declaration)
    with pytest.raises(SignatureFileError, match="invalid YAML"):
        load_signature_file(signature)
    proc = flowaudit_cli("import", str(tmp_path / "none.har"), "--device-profile", str(profile), cwd=tmp_path)
    assert proc.returncode == 3 and "invalid device profile" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()


def test_signature_and_profile_alias_bombs_fail_fast(tmp_path):
    signature, profile = tmp_path / "v" / "bomb.yaml", tmp_path / "profile.yaml"
    signature.parent.mkdir()
    signature.write_text(ALIAS_BOMB)
    profile.write_text(ALIAS_BOMB)
    started = time.monotonic()
    with pytest.raises(SignatureFileError):
        load_signature_file(signature)
    assert time.monotonic() - started < FAST
    started = time.monotonic()
    proc = flowaudit_cli("import", str(tmp_path / "none.har"), "--device-profile", str(profile), cwd=tmp_path)
    assert proc.returncode == 3 and "invalid device profile" in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - started < 30


# -- decoder budgets ----------------------------------------------------------------------------------------

@functools.cache
def _bomb(codec: str) -> tuple[bytes, str]:
    if codec == "gzip":
        return gzip.compress(ZEROS, 9, mtime=0), "gzip"
    if codec == "deflate":
        return zlib.compress(ZEROS, 9)[2:-4], "deflate"
    if codec == "zlib":
        return zlib.compress(ZEROS, 9), "deflate"
    if codec == "brotli":
        return brotli.compress(ZEROS, quality=5), "br"
    if codec == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(ZEROS), "zstd"
    raise AssertionError(codec)


@pytest.mark.parametrize("codec", ["gzip", "deflate", "zlib", "brotli", "zstd"])
def test_decompression_bomb_by_content_encoding_is_stopped_and_flagged(codec):
    body, encoding = _bomb(codec)
    obs = Observation(ts=1.0, host="bomb.example", method="POST", body=body,
                      headers=[("Content-Encoding", encoding), ("Content-Type", "application/json")])
    started = time.monotonic()
    result = decode_observation(obs)
    assert time.monotonic() - started < FAST
    assert result.bomb and any(n.startswith("bomb:") for n in result.notes), result.notes
    assert sum(len(f.value) for f in result.fields) < 1 << 20


@pytest.mark.parametrize("codec", ["gzip", "zlib", "zstd"])
def test_bomb_recognised_by_magic_bytes_inside_a_json_value(codec):
    body, _ = _bomb(codec)
    payload = json.dumps({"data": base64.b64encode(body).decode()}).encode()
    started = time.monotonic()
    result = decode_bytes(payload, content_type="application/json")
    assert time.monotonic() - started < FAST
    assert result.bomb, result.notes


def test_nested_bombs_are_stopped():
    nested = gzip.compress(gzip.compress(gzip.compress(ZEROS, 9), 9), 9)
    for layer in ("gzip", "gzip, gzip"):
        obs = Observation(ts=1.0, host="bomb.example", method="POST", body=nested, headers=[("Content-Encoding", layer)])
        started = time.monotonic()
        result = decode_observation(obs)
        assert time.monotonic() - started < FAST
        assert result.bomb or any(n.startswith("budget:") for n in result.notes), result.notes


def test_json_nested_100k_levels():
    deep = b'{"a": ' * 100_000 + b"1" + b"}" * 100_000
    started = time.monotonic()
    result = decode_bytes(deep, content_type="application/json")
    assert time.monotonic() - started < FAST
    assert any(n.startswith("budget:nesting") for n in result.notes), result.notes
    arrays = b"[" * 100_000 + b"]" * 100_000
    result = decode_observation(Observation(ts=1.0, host="a.example", method="POST", body=arrays,
                                            query="x=" + "[" * 50_000))
    assert any(n.startswith("budget:nesting") for n in result.notes), result.notes


def test_huge_headers_are_capped():
    headers = [(f"X-H{i}", "v" * 20_000) for i in range(200)]
    started = time.monotonic()
    result = decode_observation(Observation(ts=1.0, host="a.example", method="GET", headers=headers))
    assert time.monotonic() - started < FAST
    assert any(n.startswith("budget:header") for n in result.notes)
    assert sum(len(f.value) for f in result.fields if f.location == "header") <= 256 * 1024 + 16 * 1024


def test_protobuf_recursion_is_bounded():
    message = b"\x08\x01"
    for _ in range(2000):
        message = b"\x0a" + _varint(len(message)) + message
    started = time.monotonic()
    result = decode_bytes(message, content_type="application/x-protobuf")
    assert time.monotonic() - started < FAST
    assert any("nesting" in n for n in result.notes), result.notes


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# -- path traversal: names inside imported files never become paths ----------------------------------------

def _har_with_traversal_names() -> dict:
    entry = {"startedDateTime": "2026-01-02T03:04:05Z", "pageref": TRAVERSAL,
             "request": {"method": "POST", "url": f"https://api.example.com/{TRAVERSAL}?file={TRAVERSAL}",
                         "headers": [{"name": "Content-Disposition", "value": f'attachment; filename="{TRAVERSAL}"'}],
                         "postData": {"mimeType": "multipart/form-data; boundary=B",
                                      "text": f'--B\r\nContent-Disposition: form-data; name="f"; filename="{TRAVERSAL}"'
                                              '\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--B--'}},
             "response": {"status": 200, "headers": [], "content": {"size": 0, "mimeType": "x", "text": ""}}}
    return {"log": {"version": "1.2", "pages": [{"id": TRAVERSAL, "title": TRAVERSAL}], "entries": [entry]}}


def test_import_writes_nothing_outside_the_database(tmp_path):
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    har = work / f"{'..%2f' * 3}evil.har"
    har.write_text(json.dumps(_har_with_traversal_names()))
    before = snapshot(tmp_path)
    proc = flowaudit_cli("import", str(har), "--session", TRAVERSAL, "--keep-raw", cwd=work)
    assert proc.returncode == 0, proc.stderr
    created = snapshot(tmp_path) - before
    assert {p.name for p in created} <= {"audit.db", "audit.db-wal", "audit.db-shm"}, created
    assert not (tmp_path / "etc").exists() and not Path("/etc/flowaudit-traversal").exists()
    # the session really carries the hostile name, as data
    listing = flowaudit_cli("sessions", "list", cwd=work)
    assert TRAVERSAL[:24] in listing.stdout


def test_flow_dump_names_write_nothing(tmp_path):
    from mitmproxy import io as mitmio
    from mitmproxy.test import tflow

    work = tmp_path / "w"
    work.mkdir()
    f = tflow.tflow(resp=True)
    f.request.path = f"/{TRAVERSAL}"
    f.request.headers["Content-Disposition"] = f'attachment; filename="{TRAVERSAL}"'
    f.comment = TRAVERSAL
    with (work / "dump.mitm").open("wb") as handle:
        mitmio.FlowWriter(handle).add(f)
    before = snapshot(tmp_path)
    proc = flowaudit_cli("import", str(work / "dump.mitm"), "--session", TRAVERSAL, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in snapshot(tmp_path) - before} <= {"audit.db", "audit.db-wal", "audit.db-shm"}


def test_declaration_names_write_nothing(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    declaration = work / "d.yaml"
    declaration.write_text(f"format_version: 1\napp:\n  name: '{TRAVERSAL}'\n  package: '{TRAVERSAL}'\n"
                           f"sdk_list:\n  - name: '{TRAVERSAL}'\n    privacy_policy_url: 'file:///{TRAVERSAL}'\n")
    table = work / "t.csv"
    table.write_text(f"SDK名称,第三方名称,隐私政策链接\n{TRAVERSAL},{TRAVERSAL},file://{TRAVERSAL}\n", encoding="utf-8")
    before = snapshot(tmp_path)
    report = import_files([declaration, table], signatures=[])
    assert report.declaration.app.name == TRAVERSAL
    proc = flowaudit_cli("declare", "import", str(declaration), str(table), "--app", TRAVERSAL, cwd=work)
    assert proc.returncode in (0, 1), proc.stderr
    assert {p.name for p in snapshot(tmp_path) - before} <= {"audit.db", "audit.db-wal", "audit.db-shm"}


# -- one crafted request in a capture ---------------------------------------------------------------------

def test_one_crafted_request_does_not_sink_a_capture(tmp_path):
    from flowaudit.readers.capture_synth import HttpExchange, write_capture

    capture = tmp_path / "crafted.pcap"
    write_capture(capture, [
        HttpExchange(ts=1.0, client="10.0.0.2", server="203.0.113.7", host="ok.example", path="/fine"),
        HttpExchange(ts=2.0, client="10.0.0.2", server="203.0.113.8", host="x.example", path="http://evil[.example/x"),
        HttpExchange(ts=3.0, client="10.0.0.2", server="203.0.113.9", host="ok2.example", path="/also-fine"),
    ])
    proc = flowaudit_cli("import", str(capture), cwd=tmp_path)
    assert proc.returncode in (0, 3) and "Traceback" not in proc.stderr, proc.stderr
    assert "stored 2 observations" in proc.stdout or "stored 3 observations" in proc.stdout, proc.stdout
