from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from flowaudit.db.seed import seed_session
from flowaudit.db.store import Store
from flowaudit.server.app import create_app


@pytest.fixture
def seeded_store(db_url) -> Store:
    store = Store(db_url)
    seed_session(store, "seeded", 300)
    return store


@pytest.fixture
def client(seeded_store) -> TestClient:
    return TestClient(create_app(store=seeded_store))


def csrf_headers(client: TestClient) -> dict[str, str]:
    client.get("/api/sessions")
    return {"X-CSRF-Token": client.cookies.get("flowaudit_csrf")}
