"""OpenTelemetry traces (decision 0042): with an exporter, each request is one server span named
by its route template, carrying its request id, company, caller and dialect, with its SQL as
child spans; without an OTLP endpoint nothing is installed at all."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from allotment.bootstrap import Container
from allotment.entrypoints.http import tracing
from allotment.entrypoints.http.app import create_app
from tests.e2e.test_etna_seed import PATH, SEED_REQUEST, etna_headers


@pytest.fixture
def traced(demo_container: Container) -> Iterator[tuple[TestClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    app = create_app(container=demo_container)
    tracing.install(app, demo_container, exporter=exporter)
    try:
        with TestClient(app) as client:
            yield client, exporter
    finally:
        tracing.uninstall(app)


def _tree(spans: tuple[ReadableSpan, ...], request_id: str) -> tuple[ReadableSpan, list[str]]:
    """The server span of the request with this id, and the names of the spans beneath it."""
    (root,) = [s for s in spans if (s.attributes or {}).get("allotment.request_id") == request_id]
    assert root.context is not None
    trace_id = root.context.trace_id
    below = [
        s.name
        for s in spans
        if s.context is not None and s.context.trace_id == trace_id and s is not root
    ]
    return root, below


def test_a_booking_is_one_server_span_with_its_sql_beneath_and_the_callers_attributes(
    traced: tuple[TestClient, InMemorySpanExporter], demo_container: Container
) -> None:
    client, exporter = traced
    headers = {**etna_headers(client), "X-Request-ID": "trace-me-1"}
    exporter.clear()
    response = client.post(PATH, content=SEED_REQUEST, headers=headers)
    assert response.status_code == 200, response.text

    root, below = _tree(exporter.get_finished_spans(), "trace-me-1")
    assert root.kind == trace.SpanKind.SERVER
    assert root.name == f"POST {PATH}"
    attributes = dict(root.attributes or {})
    assert attributes["allotment.dialect"] == "etna"
    with demo_container.uow(write=False) as uow:
        company = uow.identity.company_by_name("Demo Broker")
    assert company is not None and attributes["allotment.company"] == company.id
    assert attributes["allotment.user"] == "demo"
    assert attributes["http.route"] == PATH
    statements = [name for name in below if name.split()[0] in {"SELECT", "INSERT", "UPDATE"}]
    assert any(name.startswith("INSERT") for name in statements), below
    assert any(name.startswith("SELECT") for name in statements), below
    for span in exporter.get_finished_spans():
        if span is not root and span.context and span.context.trace_id == root.context.trace_id:
            assert span.parent is not None


def test_a_route_with_a_path_parameter_is_named_by_its_template_and_probes_are_not_traced(
    traced: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    token = client.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}", "X-Request-ID": "t-2"}
    exporter.clear()
    assert client.get("/api/v1/accounts/6687/balances", headers=headers).status_code == 200
    assert client.get("/health").status_code == 200

    root, _ = _tree(exporter.get_finished_spans(), "t-2")
    assert root.name == "GET /api/v1/accounts/{account_id}/balances"
    assert dict(root.attributes or {})["allotment.dialect"] == "native"
    assert not [s for s in exporter.get_finished_spans() if "health" in s.name]


def test_without_an_otlp_endpoint_nothing_is_installed(
    demo_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in tracing.STANDARD_ENDPOINTS:
        monkeypatch.delenv(name, raising=False)
    assert demo_container.settings.otlp_endpoint is None
    app = create_app(container=demo_container)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200

    assert app.state.tracer_provider is None
    assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    layers = []
    layer = app.middleware_stack
    while layer is not None:
        layers.append(type(layer).__name__)
        layer = getattr(layer, "app", None)
    assert "OpenTelemetryMiddleware" not in layers, layers


def test_an_endpoint_of_allotments_own_setting_is_the_collectors_traces_path(
    demo_container: Container,
) -> None:
    settings = demo_container.settings.model_copy(
        update={"otlp_endpoint": "http://collector:4318/"}
    )
    box = dataclasses.replace(demo_container, settings=settings)
    assert tracing.configured(box)
    assert tracing.endpoint_of(box) == "http://collector:4318/v1/traces"
