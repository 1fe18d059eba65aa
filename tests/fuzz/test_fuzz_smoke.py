"""CI's short fuzz pass: every fuzz target over its seed corpus plus deterministic mutations of it, in process;
and one real coverage-guided atheris run through fuzz/run.py.

A target's TestOneInput swallows only the component's documented error types, so any exception here is a
bug in the component (or a hang, caught by the per-input time limit below).
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"
CORPUS = FUZZ / "corpus"
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))
# mutated inputs per target on top of the corpus; the file-based importers are slower per input
MUTATIONS = {"declare_csv": 150, "declare_markdown": 150, "declare_html": 150, "declare_yaml": 200,
             "signature": 200, "mitmflow": 300, "pcap": 300, "har": 400, "quic": 400}
DEFAULT_MUTATIONS = 1500
HEAVY_SEEDS = ("bomb", "deep", "huge")
SLOW_INPUT = 10.0   # seconds: one input taking longer than this is a hang, not a slow machine



@dataclass(frozen=True)
class KnownBug:
    seed: str                                  # the corpus file that reproduces it
    matches: Callable[[BaseException], bool]   # recognises the bug among exceptions from mutated inputs
    reason: str


def _unicode_digit(exc: BaseException) -> bool:
    return isinstance(exc, ValueError) and "invalid literal for int()" in str(exc)


KNOWN_BUGS: dict[str, list[KnownBug]] = {
}


def load_target(name: str) -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    spec = importlib.util.spec_from_file_location(f"flowaudit_fuzz_{name}", FUZZ / f"fuzz_{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seeds(name: str) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted((CORPUS / name).iterdir()) if p.is_file()]


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One libFuzzer-style mutation: flip, set, insert, delete, duplicate, truncate or splice."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[at % len(buf)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[at % len(buf)] = rng.choice((0, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x20, 0x3A, rng.randrange(256)))
        elif op == 2:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3 and buf:
            del buf[at:at + rng.randint(1, 32)]
        elif op == 4 and buf:
            piece = buf[at:at + rng.randint(1, 64)]
            buf[at:at] = piece * rng.randint(1, 8)
        elif op == 5:
            del buf[at:]
        elif op == 6 and others:
            other = rng.choice(others)
            cut = rng.randrange(len(other) + 1)
            buf[at:] = other[cut:]
        else:
            buf[at:at] = rng.choice((b"\x00", b"\xff\xff\xff\xff", b"\r\n", b"\n\n", b"%", b"{", b"[", b"&",
                                     b"==", b"\xc0", b"\xed\xa0\x80", b"9999999999"))
    return bytes(buf[:65536])


def test_every_listed_component_has_a_target():
    expected = {"http1", "http2", "tls", "dns", "quic", "tcp", "decode", "har", "pcap", "mitmflow", "signature",
                "declare_csv", "declare_markdown", "declare_html", "declare_yaml"}
    assert expected <= set(TARGETS)
    for name in TARGETS:
        assert seeds(name), f"no seed corpus for {name} (run fuzz/make_corpus.py)"


def test_committed_corpus_is_small_and_matches_the_generator(tmp_path):
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert total < 200 * 1024
    proc = subprocess.run([sys.executable, str(FUZZ / "make_corpus.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    generated = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(CORPUS): p.read_bytes() for p in CORPUS.rglob("*") if p.is_file()}
    assert generated.keys() == committed.keys()
    # mitmproxy stamps flows with the current time
    stable = [k for k in generated if k.parts[0] != "mitmflow"]
    assert stable and all(generated[k] == committed[k] for k in stable)


@pytest.mark.parametrize("name", TARGETS)
def test_target_survives_corpus_and_mutations(name):
    """Known bugs (below) are recognised and tolerated here, so the rest of the target keeps being tested."""
    target = load_target(name)
    assert callable(target.TestOneInput) and isinstance(target.EXPECTED, tuple)
    corpus = seeds(name)
    for label, data in corpus:
        run_one(target, name, label, data)
    # the slow seeds (bombs, deep nesting) run once above; mutations start from the others
    base = [data for label, data in corpus if not any(word in label for word in HEAVY_SEEDS)]
    rng = random.Random(f"flowaudit-{name}")
    for i in range(MUTATIONS.get(name, DEFAULT_MUTATIONS)):
        run_one(target, name, f"mutation {i}", mutate(rng, rng.choice(base), base))


def run_one(target: ModuleType, name: str, label: str, data: bytes) -> float:
    started = time.monotonic()
    try:
        target.TestOneInput(data)
    except Exception as exc:
        if not any(bug.matches(exc) for bug in KNOWN_BUGS.get(name, [])):
            raise AssertionError(f"{name}: {label} ({len(data)} bytes, starts {data[:60]!r}) raised "
                                 f"{exc.__class__.__name__}: {exc}") from exc
    elapsed = time.monotonic() - started
    assert elapsed < SLOW_INPUT, f"{name}: {label} took {elapsed:.1f} s"
    return elapsed


@pytest.mark.parametrize(("name", "seed"), [
    pytest.param(n, bug.seed, marks=pytest.mark.xfail(strict=True, reason=bug.reason))
    for n, bugs in KNOWN_BUGS.items() for bug in bugs])
def test_known_bug_reproducer(name, seed):
    target = load_target(name)
    target.TestOneInput((CORPUS / name / seed).read_bytes())


def test_coverage_guided_run_through_the_runner():
    pytest.importorskip("atheris")
    proc = subprocess.run([sys.executable, str(FUZZ / "run.py"), "--runs", "400", "dns", "tcp", "tls"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 of 3 targets clean" in proc.stdout
    for name in ("dns", "tcp", "tls"):
        line = next(line for line in proc.stdout.splitlines() if f" {name}: " in line)
        assert line.startswith("ok") and "coverage ?" not in line, line


def test_runner_reports_a_crashing_target():
    """The runner really fails, and saves the reproducer, when a target raises (a known bug while it lasts)."""
    pytest.importorskip("atheris")
    if not KNOWN_BUGS:
        pytest.skip("no known crashing target")
    name = next(iter(KNOWN_BUGS))
    try:
        proc = subprocess.run([sys.executable, str(FUZZ / "run.py"), "--runs", "2000", name],
                              capture_output=True, text=True, timeout=180)
        if "1 of 1 targets clean" in proc.stdout:
            pytest.skip(f"{name} no longer crashes on its corpus")
        assert proc.returncode == 1 and "FAIL" in proc.stdout and "reproducer: /" in proc.stdout, proc.stdout
    finally:
        shutil.rmtree(FUZZ / "crashes" / name, ignore_errors=True)
