"""`flowaudit signatures list|show|match|validate|stats`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from flowaudit.cli import cli


def write(root: Path, vendor: str, sdk_id: str, domain: str, country: str = "cn", category: str = "push",
          **extra: object) -> Path:
    data: dict[str, object] = {
        "id": sdk_id, "name": sdk_id.title(), "name_zh": "推送",
        "vendor": {"id": vendor, "name": f"{vendor} Ltd", "country": country},
        "category": category, "network": [{"domain": domain}],
        "provenance": [{"source": "curated"}], "match": [f"https://api.{domain}/x"],
    }
    data.update(extra)
    path = root / vendor / f"{sdk_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def sigdir(tmp_path: Path) -> Path:
    root = tmp_path / "sigs"
    write(root, "acme", "acme-push", "acmepush.cn")
    write(root, "beta", "beta-ads", "betaads.com", country="us", category="advertising",
          provenance=[{"source": "exodus", "exodus_id": 3, "license": "ODbL-1.0"}])
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["signatures", *args])
    return result.exit_code, result.output


def test_list_and_filters(sigdir: Path) -> None:
    code, out = run("list", "--dir", str(sigdir))
    assert code == 0 and out.count("\n") == 2 and "acme-push\tpush\tcn" in out
    code, out = run("list", "--dir", str(sigdir), "--country", "cn", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["acme-push"] and rows[0]["name_zh"] == "推送"
    code, out = run("list", "--dir", str(sigdir), "--category", "advertising")
    assert out.startswith("beta-ads\t")


def test_show(sigdir: Path) -> None:
    code, out = run("show", "acme-push", "--dir", str(sigdir))
    assert code == 0 and "acme/acme-push.yaml" in out and "domain: acmepush.cn" in out
    assert "# problem:" not in out
    write(sigdir, "gamma", "gamma-cloud", "myqcloud.com")
    code, out = run("show", "gamma-cloud", "--dir", str(sigdir))
    assert code == 0 and "# problem: network[0]: bare domain rule on shared platform" in out
    code, out = run("show", "acme", "--dir", str(sigdir))
    assert code == 3 and "no signature with id 'acme'" in out and "acme-push" in out


def test_match(sigdir: Path) -> None:
    code, out = run("match", "https://eu.acmepush.cn/reg", "--dir", str(sigdir))
    assert code == 0 and "acme-push" in out and "domain acmepush.cn" in out
    code, out = run("match", "x.acmepush.cn", "--kind", "tls_sni", "--dir", str(sigdir))
    assert "acme-push" in out
    code, out = run("match", "https://api.myapp.cn/", "--first-party", "myapp.cn", "--dir", str(sigdir))
    assert "first-party" in out
    code, out = run("match", "https://nobody.example/", "--dir", str(sigdir))
    assert "not attributed" in out
    code, out = run("match", "https://a.b/", "--header", "nocolon", "--dir", str(sigdir))
    assert code == 3


def test_validate_clean_and_broken(sigdir: Path) -> None:
    code, out = run("validate", "--dir", str(sigdir))
    assert code == 0 and "2 signature files, 0 problem(s)" in out
    bad = write(sigdir, "gamma", "gamma-cloud", "myqcloud.com")
    (sigdir / "gamma" / "broken.yaml").write_text("id: [x\n", encoding="utf-8")
    code, out = run("validate", "--dir", str(sigdir))
    assert code == 3
    lines = [line for line in out.splitlines() if line.startswith(str(sigdir))]
    assert any(line.startswith(f"{bad}: network[0]: bare domain rule on shared platform") for line in lines)
    assert any("broken.yaml: invalid YAML" in line for line in lines)
    assert "problem(s) in 2 file(s)" in out


def test_validate_selected_files(sigdir: Path) -> None:
    bad = write(sigdir, "gamma", "gamma-cloud", "myqcloud.com")
    good = sigdir / "acme" / "acme-push.yaml"
    code, out = run("validate", str(good))
    assert code == 0 and "1 signature files, 0 problem(s)" in out
    code, out = run("validate", str(good), str(bad))
    assert code == 3 and "shared platform" in out and "2 signature files, 1 problem(s) in 1 file(s)" in out
    code, out = run("validate", str(sigdir / "acme" / "missing.yaml"))
    assert code == 3 and "no such signature file" in out


def test_validate_missing_directory(tmp_path: Path) -> None:
    code, out = run("validate", "--dir", str(tmp_path / "nope"))
    assert code == 3 and "not a directory" in out


def test_stats(sigdir: Path, tmp_path: Path) -> None:
    code, out = run("stats", "--dir", str(sigdir))
    assert code == 0
    assert "SDKs:                               2" in out
    assert "Chinese SDKs with network rules:    1" in out
    assert "advertising" in out and "pass --exodus" in out
    exodus = tmp_path / "exodus.json"
    exodus.write_text(json.dumps({"trackers": {"3": {"id": 3, "name": "Beta", "network_signature": "betaads"},
                                               "4": {"id": 4, "name": "Gone", "network_signature": "gone"}}}))
    code, out = run("stats", "--dir", str(sigdir), "--exodus", str(exodus))
    assert "Exodus coverage:                    1 of 2" in out and "missing Exodus ids: 4" in out
    code, out = run("stats", "--dir", str(sigdir), "--exodus", str(exodus), "--json")
    assert json.loads(out)["exodus_missing"] == [4]
    exodus.write_text("{not json")
    code, out = run("stats", "--dir", str(sigdir), "--exodus", str(exodus))
    assert code == 3 and "unreadable Exodus file" in out


def test_console_script_exit_code(sigdir: Path) -> None:
    write(sigdir, "gamma", "gamma-cloud", "com.cn")
    result = subprocess.run([sys.executable, "-c", "from flowaudit.cli import main; main()", "signatures",
                             "validate", "--dir", str(sigdir)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "public suffix" in result.stdout and "Traceback" not in result.stderr
