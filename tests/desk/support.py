"""What the desk's tests share: the start of their clock, logging in, and a booking's form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOOKING = {"method": "Unit", "weight:1574444-01": "25", "weight:987558-01": "75"}


def log_in(desk: TestClient, username: str = "demo", password: str = "demo") -> str:
    """Log in and answer the session's CSRF token, read from a page's form."""
    answer = desk.post("/desk/login", data={"username": username, "password": password})
    assert answer.status_code == 303, answer.text
    page = desk.get("/desk/")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def allocated_of_195(desk: TestClient) -> str:
    page = desk.get("/desk/blocks/195")
    found = re.search(r"<dt>Allocated</dt><dd>([^<]*)</dd>", page.text)
    assert found is not None
    return found.group(1)
