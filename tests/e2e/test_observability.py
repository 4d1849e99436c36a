"""Each request leaves one JSON log line with its id and caller, an X-Request-ID on its answer,
and counts in Prometheus's text at /metrics, which answers only the metrics networks or the
bearer of the metrics token and stays out of the OpenAPI document."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from allotment.adapters import logging as json_logs
from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app
from tests.e2e.test_etna_seed import PATH, SEED_REQUEST, USERNAMES_REQUEST, etna_headers

METRICS_TOKEN = "metrics-token-0123456789-abcdefghijkl"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    level = logging.getLogger().level
    json_logs.configure("INFO", stream=buffer)
    yield buffer
    json_logs.release()
    logging.getLogger().setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when it is absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_every_answer_carries_a_request_id_and_a_sane_one_given_is_kept(
    client: TestClient,
) -> None:
    made = client.get("/health")
    kept = client.get("/health", headers={"X-Request-ID": "proxy-7f3a.42"})
    replaced = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    missing = client.get("/no/such/route")

    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "proxy-7f3a.42"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert missing.status_code == 404 and missing.headers["x-request-id"]


def test_a_request_is_logged_as_one_json_line_with_its_id_caller_route_and_no_secret(
    client: TestClient, log_lines: io.StringIO
) -> None:
    headers = etna_headers(client)
    token = headers["Authorization"].removeprefix("Bearer ")

    response = client.post(
        PATH, content=SEED_REQUEST, headers={**headers, "X-Request-ID": "booking-1"}
    )

    assert response.status_code == 200, response.text
    lines = _lines(log_lines)
    [line] = [line for line in lines if line.get("request_id") == "booking-1"]
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", str(line["timestamp"]))
    assert line["dialect"] == "etna"
    assert line["route"] == "/v{version}/allocations/simple" or line["route"] == PATH
    assert line["method"] == "POST"
    assert line["status"] == 200
    assert line["user"] == "demo"
    assert isinstance(line["company"], int)
    assert float(str(line["duration_ms"])) > 0
    text = log_lines.getvalue()
    assert token not in text and "demo-app-key" not in text and '"demo"}' not in text


def test_a_field_named_like_a_credential_is_never_written(log_lines: io.StringIO) -> None:
    json_logs.get_logger("allotment.test").info(
        "login", password="hunter2", Authorization="Bearer abc", username="demo"
    )

    [line] = _lines(log_lines)
    assert line["password"] == "[redacted]" and line["Authorization"] == "[redacted]"
    assert line["username"] == "demo"
    assert "hunter2" not in log_lines.getvalue()


def test_metrics_show_the_requests_bookings_and_refusals_of_this_test(
    demo_container: Container,
) -> None:
    settings = demo_container.settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN)}
    )
    app = create_app(container=dataclasses.replace(demo_container, settings=settings))
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    with TestClient(app) as client:
        before = client.get("/metrics", headers=scrape).text
        headers = etna_headers(client)
        booked = client.post(PATH, content=SEED_REQUEST, headers=headers)
        refused = client.post(PATH, content=USERNAMES_REQUEST, headers=headers)
        after = client.get("/metrics", headers=scrape)

    assert booked.status_code == 200 and refused.status_code == 409
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    requests = "allotment_http_requests_total"
    labels = {"dialect": "etna", "method": "POST", "route": booked_route(after.text)}
    ok = _sample(after.text, requests, status="200", **labels)
    assert ok - _sample(before, requests, status="200", **labels) == 1
    conflict = _sample(after.text, requests, status="409", **labels)
    assert conflict - _sample(before, requests, status="409", **labels) == 1
    entries = "allotment_journal_entries_booked_total"
    assert _sample(after.text, entries, dialect="etna") > _sample(before, entries, dialect="etna")
    refusals = "allotment_refusals_total"
    assert sum_of(after.text, refusals) - sum_of(before, refusals) >= 1
    assert "allotment_http_request_duration_seconds_bucket" in after.text
    assert "allotment_db_pool_connections_in_use" in after.text
    assert "allotment_batch_items_count" in after.text


def booked_route(text: str) -> str:
    found = re.search(r'allotment_http_requests_total\{[^}]*route="(/v[^"]*simple)"', text)
    assert found, "no ETNA request counted"
    return found.group(1)


def sum_of(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")
    )


def test_metrics_refuse_a_caller_off_the_metrics_networks_or_without_the_token(
    demo_container: Container,
) -> None:
    outside = TestClient(create_app(container=demo_container), client=("203.0.113.9", 4000))
    loopback = TestClient(create_app(container=demo_container), client=("127.0.0.1", 4000))
    settings = demo_container.settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN)}
    )
    guarded = TestClient(
        create_app(container=dataclasses.replace(demo_container, settings=settings))
    )

    assert outside.get("/metrics").status_code == 403
    assert loopback.get("/metrics").status_code == 200
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_are_not_part_of_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    assert "/metrics" not in document["paths"]
