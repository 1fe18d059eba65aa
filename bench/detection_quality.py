"""Detection quality on the labelled corpus: recall and precision per type and overall, for the tuning split
and for two held-out splits (other vendors, key names and encodings).

Held-out history, stated so that the figures can be trusted:
  * ``heldout``: first evaluated with recall 94.9%, precision 100.0%, 0 look-alike detections. Its misses
    (Android IDs under device-id keys, Wi-Fi lists) then led to two general rules, so it is no longer unseen.
  * ``fresh``: written after that and evaluated once, untouched since: recall 93.2%, precision 97.2%,
    0 look-alike detections (misses: OpenUDID / "devicetype" keys, a UUID under a one-letter key without a
    profile match; false: "os=ios" reported as os_version, which its labels leave out). The OpenUDID and
    "devicetype" keys were added to the key table afterwards.

A detection is correct when its (type, location, key) equals a label of its sample; labels of values that
only a device profile can find (hashed or encoded with no telling key) give the profile recall. Look-alike
samples (order numbers, trace ids, timestamps, versions, file hashes, placeholder MACs, prices) must produce
no detection at all.

    python bench/detection_quality.py [--quick] [--split tuning|heldout|both] [--show-errors N]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowaudit.core.detect import detect
from flowaudit.core.model import Observation
from flowaudit.core.profile import DeviceProfile

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "detection_corpus" / "build.py"


def load_corpus_module() -> Any:
    spec = importlib.util.spec_from_file_location("flowaudit_detection_corpus", CORPUS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Score:
    labels: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)
    detections: Counter = field(default_factory=Counter)
    correct: Counter = field(default_factory=Counter)
    profile_labels: int = 0
    profile_found: int = 0
    trap_samples: int = 0
    trap_detections: int = 0
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    def recall(self, type_id: str | None = None) -> float:
        total = self.labels[type_id] if type_id else sum(self.labels.values())
        hit = self.found[type_id] if type_id else sum(self.found.values())
        return hit / total if total else 1.0

    def precision(self, type_id: str | None = None) -> float:
        total = self.detections[type_id] if type_id else sum(self.detections.values())
        hit = self.correct[type_id] if type_id else sum(self.correct.values())
        return hit / total if total else 1.0

    @property
    def profile_recall(self) -> float:
        return self.profile_found / self.profile_labels if self.profile_labels else 1.0


def observation(sample: Any) -> Observation:
    return Observation(ts=0.0, host=sample.host, method=sample.method, scheme="https", path=sample.path,
                       query=sample.query, headers=list(sample.headers), body=sample.body, tls=True)


def evaluate(samples: list[Any], profile: DeviceProfile | None) -> Score:
    score = Score()
    for sample in samples:
        result = detect(observation(sample), profile, salt=b"corpus", data_fields=sample.data_fields or None,
                        to_sdk=sample.vendor not in ("first-party", "trap"))
        expected = {(lab["type"], lab["location"], lab["key"]): lab for lab in sample.labels}
        got = {(d.type, d.location, d.key): d for d in result.detections}
        for key, label in expected.items():
            score.labels[key[0]] += 1
            if label.get("profile"):
                score.profile_labels += 1
            if key in got:
                score.found[key[0]] += 1
                if label.get("profile"):
                    score.profile_found += 1
            else:
                score.missed.append(f"{sample.id} {sample.vendor}: {key}")
        for key, detection in got.items():
            score.detections[key[0]] += 1
            if key in expected:
                score.correct[key[0]] += 1
            else:
                score.false.append(f"{sample.id} {sample.vendor}: {key} {detection.reason} {detection.encoding}")
        if sample.trap:
            score.trap_samples += 1
            score.trap_detections += len(result.detections)
    return score


def noise(count: int, seed: int = 99) -> tuple[int, Counter]:
    """Detections on random identifiers under neutral keys (digits of 6-20, hex, UUIDs, base64, floats,
    integers): none of them is personal data, so every detection is a false positive."""
    import json
    import random
    import uuid

    rng = random.Random(seed)
    keys = ["gid", "item", "x", "val", "k", "ref", "data", "a1", "obj", "tag", "rid", "v", "extra", "info", "n"]

    def value() -> object:
        r = rng.random()
        if r < 0.45:
            return "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 20)))
        if r < 0.6:
            return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([8, 12, 16, 24, 32, 40, 64])))
        if r < 0.7:
            return str(uuid.UUID(int=rng.getrandbits(128)))
        if r < 0.8:
            return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(6, 40)))).decode()
        if r < 0.9:
            return round(rng.uniform(-200, 200), rng.randint(1, 7))
        return rng.randint(0, 10 ** rng.randint(1, 19))

    found: Counter = Counter()
    for _ in range(count // 5):
        document = {f"{rng.choice(keys)}{j}": value() for j in range(5)}
        obs = Observation(ts=0.0, host="log.example.cn", method="POST", body=json.dumps(document).encode(),
                          headers=[("Content-Type", "application/json")])
        found.update(d.type for d in detect(obs).detections)
    return count, found


def report(name: str, score: Score, show_errors: int) -> None:
    print(f"\n== {name} ==")
    print(f"{'type':20} {'labels':>7} {'recall':>8} {'detect':>7} {'precision':>10}")
    for type_id in sorted(set(score.labels) | set(score.detections)):
        print(f"{type_id:20} {score.labels[type_id]:7d} {score.recall(type_id):8.1%} "
              f"{score.detections[type_id]:7d} {score.precision(type_id):10.1%}")
    print(f"{'OVERALL':20} {sum(score.labels.values()):7d} {score.recall():8.1%} "
          f"{sum(score.detections.values()):7d} {score.precision():10.1%}")
    print(f"hashed/encoded profile values: {score.profile_found}/{score.profile_labels} = {score.profile_recall:.1%}")
    print(f"look-alike samples: {score.trap_samples}, detections on them: {score.trap_detections}")
    if show_errors:
        for line in score.missed[:show_errors]:
            print("  missed", line)
        for line in score.false[:show_errors]:
            print("  false ", line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of each split (CI)")
    parser.add_argument("--split", choices=("tuning", "heldout", "fresh", "all"), default="all")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N")
    args = parser.parse_args()
    corpus = load_corpus_module()
    splits = ("tuning", "heldout", "fresh") if args.split == "all" else (args.split,)
    verdicts = []
    for split in splits:
        samples, profile_values = corpus.build(split)
        if args.quick:
            samples = samples[::3]
        profile = DeviceProfile.from_mapping(profile_values)
        score = evaluate(samples, profile)
        report(f"{split} ({len(samples)} requests, device profile of {len(profile_values)} values)", score,
               args.show_errors)
        without = evaluate(samples, None)
        print(f"without the device profile: recall {without.recall():.1%}, precision {without.precision():.1%}")
        verdicts.append((split, score))
    values, false = noise(2000 if args.quick else 20000)
    print(f"\nrandom identifiers under neutral keys: {sum(false.values())} detections in {values} values "
          f"({sum(false.values()) / values:.2%}): {dict(false)}")
    print()
    for split, score in verdicts:
        ok = (score.recall() >= 0.95 and score.precision() >= 0.98 and score.profile_recall >= 0.95
              and score.trap_detections == 0)
        print(f"{split}: recall {score.recall():.1%} precision {score.precision():.1%} "
              f"profile recall {score.profile_recall:.1%} look-alike detections {score.trap_detections} "
              f"-> {'meets' if ok else 'BELOW'} the bar (recall >= 95%, precision >= 98%, profile >= 95%, 0 look-alikes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())


