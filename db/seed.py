"""Deterministic fixture data for tests and benchmarks: a session of realistic-looking traffic.

Built by code with a fixed seed (never a committed database). Includes hostile text so every page and
export is exercised against it.
"""

from __future__ import annotations

import random

from flowaudit.core.model import Attribution, Detection, Observation, Source
from flowaudit.core.pipeline import Analysis
from flowaudit.core.redact import preview, value_hash
from flowaudit.db.store import SessionInfo, Store

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
SDKS = [
    ("umeng-analytics", "ulogs.umeng.com", "/unify_logs", ["imei", "oaid", "android_id"]),
    ("tencent-gdt", "mi.gdt.qq.com", "/gdt_mview.fcg", ["oaid", "precise_location"]),
    ("getui-push", "sdk-open-phone.getui.com", "/api.php", ["mac_address"]),
    ("amap-location", "restsdk.amap.com", "/v3/geocode/regeo", ["precise_location"]),
    (None, "collect.adtrack-x.example.com", "/v2/apps", ["installed_apps"]),
    (None, "api.app.example.cn", "/v1/feed", []),
]
VALUES = {"imei": "867530012345672", "oaid": "a1b2c3d4-0000-4e5f-9a8b-c0ffee123456", "android_id": "9774d56d682e549c",
          "mac_address": "3c:28:6d:1a:2b:3c", "precise_location": "116.397128,39.916527",
          "installed_apps": "com.tencent.mm,com.sina.weibo,com.taobao.taobao"}


def synthetic_analyses(count: int, *, seed: int = 42, start: float = 1_790_000_000.0,
                       salt: bytes = b"seed", hostile_every: int = 97) -> list[Analysis]:
    rng = random.Random(seed)
    analyses = []
    for i in range(count):
        sdk_id, host, path, types = SDKS[rng.randrange(len(SDKS))]
        hostile = hostile_every and i % hostile_every == 5
        query = f"q={HOSTILE}" if hostile else f"seq={i}"
        obs = Observation(ts=start + i * 0.5 + rng.random() * 0.1, host=host, source=Source.PROXY, method="POST",
                          scheme="https", port=443, path=path, query=query, tls=host != "api.app.example.cn",
                          headers=[("User-Agent", HOSTILE if hostile else "Dalvik/2.1.0"), ("X-Trace", str(i))],
                          body=(HOSTILE if hostile else '{"k": 1}').encode(), status=200)
        detections = [Detection(type=t, location="body", key=f"data.{t}" if not hostile else HOSTILE,
                                encoding="body>json", confidence=0.95, reason="seed", preview=preview(VALUES[t]),
                                value_hash=value_hash(VALUES[t], salt), raw_value=VALUES[t]) for t in types]
        attribution = None
        if sdk_id:
            attribution = Attribution(sdk_id, sdk_id, None, "vendor", "analytics", f"host {host}", 2)
        elif host.endswith("app.example.cn"):
            attribution = Attribution("first-party", "first party", None, "app", "first_party", "first party", 1,
                                      first_party=True)
        analyses.append(Analysis(obs, attribution, detections))
    return analyses


def seed_session(store: Store, name: str = "seeded", count: int = 500, *, seed: int = 42,
                 consent_after: int | None = 100, batch: int = 2000) -> SessionInfo:
    session = store.open_session(name, app_id="com.example.app", device="Test phone", first_party=["app.example.cn"])
    analyses = synthetic_analyses(count, seed=seed, salt=session.salt)
    for offset in range(0, count, batch):
        store.write_analyses(session, analyses[offset: offset + batch])
    if consent_after is not None and consent_after < count:
        store.add_marker(name, "consent", "seeded consent", ts=analyses[consent_after].observation.ts - 0.01)
    return session
