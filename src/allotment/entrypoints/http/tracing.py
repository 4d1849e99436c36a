"""OpenTelemetry traces, when an OTLP endpoint is configured (decision 0042).

`ALLOTMENT_OTLP_ENDPOINT` (a collector's base URL, e.g. `http://otel-collector:4318`) or the
standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` turns them on: a
server span per HTTP request (the ASGI instrumentation, outside everything else, so that the
request's log line and metrics are inside it) and a child span per SQL statement (the SQLAlchemy
instrumentation on the container's engine), sent in batches over OTLP/HTTP. The request's span
is named by its route template and carries its request id, company and dialect (set by the
observability middleware). Without an endpoint nothing is installed: no tracer provider, no
middleware, no engine listeners, so there is nothing to pay.

The standard `OTEL_*` variables keep their meaning (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`…)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from allotment.bootstrap import Container

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter

STANDARD_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
UNTRACED = "/health$,/metrics$,/hc/status$"
"""Probes and scrapes: frequent, and nothing to follow in them."""


def endpoint_of(box: Container) -> str | None:
    """Where spans go by allotment's own setting (a base URL; `/v1/traces` is added); None
    leaves the exporter to read the standard variables."""
    base = box.settings.otlp_endpoint
    return f"{base.rstrip('/')}/v1/traces" if base else None


def configured(box: Container) -> bool:
    return bool(box.settings.otlp_endpoint) or any(os.environ.get(n) for n in STANDARD_ENDPOINTS)


def install(app: FastAPI, box: Container, exporter: SpanExporter | None = None) -> None:
    """Trace every request and its SQL when an OTLP endpoint is configured (or an exporter is
    given: a test's in-memory one, sent to synchronously); otherwise do nothing at all."""
    if exporter is None and not configured(box):
        app.state.tracer_provider = None
        return
    # Imported here: a process without traces does not even load the SDK.
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=_resource())
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint_of(box))))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    app.state.tracer_provider = provider
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()  # one provider per process: the last app built wins
    # The instrumentation declares SQLAlchemy < 2.1; the events it listens to are unchanged.
    instrumentor.instrument(engine=box.engine, tracer_provider=provider, skip_dep_check=True)
    inner = app.build_middleware_stack
    app.build_middleware_stack = lambda: OpenTelemetryMiddleware(  # type: ignore[method-assign]
        inner(),
        excluded_urls=UNTRACED,
        default_span_details=_by_method,
        tracer_provider=provider,
        exclude_spans=["receive", "send"],
    )


def uninstall(app: FastAPI) -> None:
    """Flush and stop the app's tracer provider and take the SQL listeners off (tests build
    several apps in one process)."""
    provider = getattr(app.state, "tracer_provider", None)
    if provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().uninstrument()
    provider.shutdown()
    app.state.tracer_provider = None


def _by_method(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The span's first name is the method alone: the raw path would make a name per account
    or block. The observability middleware renames it to `METHOD /route/{template}`."""
    return str(scope.get("method", "HTTP")), {}


def _resource() -> Resource:
    from opentelemetry.sdk.resources import Resource

    named = os.environ.get("OTEL_SERVICE_NAME")
    return Resource.create({} if named else {"service.name": "allotment"})
