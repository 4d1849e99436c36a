"""The OpenAPI document tells the truth: schemathesis generates requests for every operation of
the app (the native API, both token endpoints and the ETNA, Saxo, block-trade and book-building
dialects; with a valid demo bearer token) and checks that no answer is a server error and that
every answer's status, content type and body are the ones the document declares. SQLite only, a
bounded number of examples per operation.

(schemathesis's pytest loaders do not run under this pytest; its Python API is used directly:
one Hypothesis run per operation, positive and negative data, derandomized so that a run is
repeatable. The positive run also sends the document's own examples (the seeds' requests on
the demo data), so that successful answers are checked too, not only refusals.)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.examples import generate_one
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """This module runs on SQLite only (overrides the two-database fixture)."""
    path = tmp_path / "allotment.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _exercise(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    if mode is GenerationMode.POSITIVE:
        for strategy in operation.get_strategies_from_examples():
            run = example(case=generate_one(strategy))(run)
    run()


def test_every_answer_of_every_operation_matches_the_openapi_document(
    demo_container: Container, demo_headers: dict[str, str]
) -> None:
    app = create_app(container=demo_container)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results: list[Any] = list(schema.get_all_operations())
    operations = [result.ok() for result in results]  # an invalid operation fails here
    declared = [
        method
        for item in app.openapi()["paths"].values()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    ]
    assert len(operations) == len(declared), "every operation of the document is exercised"
    failures: list[str] = []
    for operation in operations:
        for mode in EXAMPLES:
            try:
                _exercise(operation, mode, demo_headers)
            except Unsatisfiable:
                continue  # no invalid request exists (e.g. only optional text headers)
            except (Exception, BaseExceptionGroup) as failure:
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
