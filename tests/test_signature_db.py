"""Loading and validating signature directories (flowaudit/signature_db.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from flowaudit.core.model import Observation
from flowaudit.signature_db import (
    SignatureFileError,
    database_stats,
    default_index,
    exodus_coverage,
    file_problems,
    load_database,
    load_exodus,
    load_signature_file,
    load_signatures,
    signatures_dir,
    validate_directory,
)


def signature(sdk_id: str, vendor: str, domain: str, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": sdk_id, "name": sdk_id.title(), "name_zh": "测试",
        "vendor": {"id": vendor, "name": f"{vendor} Ltd", "country": "cn"},
        "category": "push", "network": [{"domain": domain}],
        "provenance": [{"source": "curated"}], "match": [f"https://api.{domain}/x"],
        "no_match": [f"https://{domain}.example.org/"],
    }
    data.update(extra)
    return data


def write(root: Path, vendor: str, stem: str, data: object) -> Path:
    path = root / vendor / f"{stem}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_clean_directory(tmp_path: Path) -> None:
    write(tmp_path, "acme", "acme-push", signature("acme-push", "acme", "acmepush.cn"))
    write(tmp_path, "beta", "beta-push", signature("beta-push", "beta", "betapush.cn"))
    assert validate_directory(tmp_path) == []
    database = load_database(tmp_path)
    assert sorted(database.index.signatures) == ["acme-push", "beta-push"]
    attribution = database.index.attribute(Observation(ts=0, host="x.betapush.cn"))
    assert attribution is not None and attribution.sdk_id == "beta-push"
    assert [s.id for s in load_signatures(tmp_path)] == ["acme-push", "beta-push"]


@pytest.mark.parametrize(("content", "fragment"), [
    ("", "expected a mapping"),
    ("- a\n- b\n", "expected a mapping"),
    ("id: [unclosed\n", "invalid YAML"),
    ("id: x\n", "name: Field required"),
    ("!!python/object/apply:os.system ['true']\n", "invalid YAML"),
])
def test_bad_files_give_one_line_errors_with_the_path(tmp_path: Path, content: str, fragment: str) -> None:
    path = write(tmp_path, "acme", "acme-x", content)
    with pytest.raises(SignatureFileError) as err:
        load_signature_file(path)
    assert fragment in str(err.value)
    assert all(line.startswith(str(path)) for line in str(err.value).splitlines())


def test_unreadable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "acme" / "acme-x.yaml"
    path.parent.mkdir()
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SignatureFileError, match="unreadable"):
        load_signature_file(path)


def test_file_level_problems(tmp_path: Path) -> None:
    wrong_stem = write(tmp_path, "acme", "acme-wrong", signature("acme-push", "acme", "acmepush.cn"))
    wrong_folder = write(tmp_path, "beta", "gamma-push", signature("gamma-push", "gamma", "gammapush.cn"))
    broken = write(tmp_path, "delta", "delta-push", "id: delta-push\n")
    broad = write(tmp_path, "eps", "eps-cloud", signature("eps-cloud", "eps", "aliyuncs.com",
                                                          match=["https://x.aliyuncs.com/"], no_match=[]))
    problems = {str(p.path): [] for p in validate_directory(tmp_path)}
    for problem in validate_directory(tmp_path):
        problems[str(problem.path)].append(problem.message)
    assert any("differs from the file name" in m for m in problems[str(wrong_stem)])
    assert any("differs from the folder" in m for m in problems[str(wrong_folder)])
    assert any("Field required" in m for m in problems[str(broken)])
    assert any("shared platform" in m for m in problems[str(broad)])


def test_collisions_and_examples_are_judged_against_the_whole_directory(tmp_path: Path) -> None:
    a = write(tmp_path, "acme", "acme-push", signature("acme-push", "acme", "shared-push.cn"))
    b = write(tmp_path, "beta", "beta-push", signature("beta-push", "beta", "shared-push.cn", overlaps=["ghost-sdk"]))
    database = load_database(tmp_path)
    a_problems = file_problems(a, database)
    b_problems = file_problems(b, database)
    assert any("also claimed by beta-push" in m for m in a_problems)
    assert any("also claimed by acme-push" in m for m in b_problems)
    assert any("unknown signature 'ghost-sdk'" in m for m in b_problems)
    # a tie with an SDK that is not a declared overlap is a wrong attribution for one of them
    assert any("match example" in m for m in a_problems + b_problems)


def test_declared_overlap_is_clean(tmp_path: Path) -> None:
    write(tmp_path, "acme", "acme-push", signature("acme-push", "acme", "shared-push.cn", overlaps=["beta-push"]))
    write(tmp_path, "beta", "beta-push", signature("beta-push", "beta", "shared-push.cn", overlaps=["acme-push"]))
    assert validate_directory(tmp_path) == []


def test_duplicate_ids_across_folders(tmp_path: Path) -> None:
    write(tmp_path, "acme", "same-id", signature("same-id", "acme", "acmepush.cn"))
    second = write(tmp_path, "beta", "same-id", signature("same-id", "beta", "betapush.cn"))
    problems = [p for p in validate_directory(tmp_path) if p.path == second]
    assert any("duplicate id" in p.message for p in problems)


def test_shipped_database_loads_and_attributes(caplog: pytest.LogCaptureFixture) -> None:
    assert (signatures_dir() / "umeng" / "umeng-analytics.yaml").is_file()
    with caplog.at_level(logging.WARNING):
        index = default_index()
    assert index.get("umeng-analytics") is not None
    attribution = index.attribute(Observation(ts=0, host="ulogs.umeng.com", path="/unify_logs"))
    assert attribution is not None and attribution.sdk_id == "umeng-analytics"


def test_default_index_skips_broken_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "acme", "acme-push", signature("acme-push", "acme", "acmepush.cn"))
    write(tmp_path, "beta", "beta-push", "not: [valid\n")
    database = load_database(tmp_path)
    assert list(database.index.signatures) == ["acme-push"] and len(database.load_problems) == 1


def test_stats_and_exodus_coverage(tmp_path: Path) -> None:
    write(tmp_path, "acme", "acme-push", signature(
        "acme-push", "acme", "acmepush.cn", provenance=[{"source": "exodus", "exodus_id": 7, "license": "ODbL-1.0"}]))
    us = signature("beta-ads", "beta", "betaads.com", category="advertising")
    us["vendor"] = {"id": "beta", "name": "Beta Inc", "country": "us"}
    us["network"] = [{"domain": "betaads.com"}, {"any_host": True, "headers": {"X-Beta": "."}}]
    write(tmp_path, "beta", "beta-ads", us)
    exodus_file = tmp_path / "exodus.json"
    exodus_file.write_text(json.dumps({"trackers": {
        "7": {"id": 7, "name": "Acme", "network_signature": "acmepush\\.cn"},
        "8": {"id": 8, "name": "Other", "network_signature": "other\\.com"},
        "9": {"id": 9, "name": "Code only", "network_signature": ""},
    }}))
    exodus = load_exodus(exodus_file)
    signatures = load_signatures(tmp_path)
    covered, missing = exodus_coverage(signatures, exodus)
    assert covered == {7} and missing == {8}
    stats = database_stats(signatures, exodus)
    assert stats["sdks"] == 2 and stats["sdks_with_network_rules"] == 2
    assert stats["chinese_sdks_with_network_rules"] == 1
    assert stats["categories"] == {"advertising": 1, "push": 1}
    assert stats["rules_by_kind"] == {"any_host": 1, "domain": 2, "with_conditions": 1}
    assert stats["exodus_covered"] == 1 and stats["exodus_with_network_signature"] == 2
    assert stats["exodus_missing"] == [8]


def test_stray_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "acme", "acme-push", signature("acme-push", "acme", "acmepush.cn"))
    (tmp_path / "loose.yaml").write_text("id: loose\n", encoding="utf-8")
    (tmp_path / "acme" / "old.yml").write_text("id: old\n", encoding="utf-8")
    (tmp_path / "acme" / "deeper").mkdir()
    (tmp_path / "acme" / "deeper" / "x.yaml").write_text("id: x\n", encoding="utf-8")
    stray = {p.path.name for p in validate_directory(tmp_path) if "not loaded" in p.message}
    assert stray == {"loose.yaml", "old.yml", "x.yaml"}


def test_alias_bomb_is_rejected_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]" for i in range(1, 9)]
    lines.append("id: acme-x\nname: Acme\naliases: *a8\nbomb: *a8\n")
    path = write(tmp_path, "acme", "acme-x", "\n".join(lines))
    with pytest.raises(SignatureFileError) as err:
        load_signature_file(path)      # 8**9 references if expanded; must fail on shape, not expand
    assert "aliases.0: Input should be a valid string" in str(err.value)
    assert "bomb: Extra inputs are not permitted" in str(err.value)
