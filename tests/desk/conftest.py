"""The desk's fixtures: a clock the tests move, and a client of the demo application over
HTTPS (the session cookie is Secure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from allotment.adapters.clock import FixedClock
from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app
from tests.desk.support import START


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def desk(demo_container: Container, clock: FixedClock) -> Iterator[TestClient]:
    box = dataclasses.replace(demo_container, clock=clock)
    app = create_app(container=box)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client
