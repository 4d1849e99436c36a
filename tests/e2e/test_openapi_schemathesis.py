"""The OpenAPI document tells the truth, and no input breaks the app: schemathesis generates
requests for every operation of the app (the native API, both token endpoints and the ETNA, Saxo,
block-trade and book-building dialects; each with the demo's credentials for its dialect) and
checks that no answer is a server error and that every answer's status, content type and body
are the ones the document declares. On SQLite and PostgreSQL, a bounded number of examples per
operation.

(schemathesis's pytest loaders do not run under this pytest; its Python API is used directly:
one Hypothesis run per operation, positive and negative data, derandomized so that a run is
repeatable. The positive run also sends the document's own examples (the seeds' requests on
the demo data), so that successful answers are checked too, not only refusals. A third, hostile
run takes valid requests and puts a NUL, a lone surrogate, a control character or full-width
digits into one of their strings, or an extreme number into one of their numbers, so that such
text and numbers reach the database's code, not only the schema's refusals.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.examples import generate_one
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url

from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app
from tests.conftest import bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HOSTILE = "hostile"
MODES: dict[str, list[GenerationMode | str]] = {
    "sqlite": [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    "postgresql": [GenerationMode.POSITIVE, HOSTILE],
}
"""What runs on which database: the schema's refusals (negative data) do not depend on it;
hostile text and numbers in valid requests reach PostgreSQL's, which refuses a NUL."""
HOSTILE_CHECKS = [not_a_server_error, content_type_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}


HOSTILE_EXAMPLES = 10
HOSTILE_TEXT = ["\x00", "\x07", "\x1b[0m", "\u0085", "１２３"]
LONE_SURROGATES = ["\ud800", "\udfff"]
"""Sent in JSON bodies only (as \\ud800 escapes): a URL or a form cannot carry one."""
HOSTILE_NUMBERS: list[int | float] = [1e30, -1e30, 1e-300, 2**70, -(2**63), 1e308]


def hostile(case: Any, choice: Any) -> Any:
    """The valid request with one of its strings or numbers (body, path or query) made
    hostile: a control character, a lone surrogate or full-width digits appended to a string,
    or an extreme number in place of a number."""
    places = _places(case.body, ("body",)) if case.body is not None else []
    for part in ("path_parameters", "query"):
        values = getattr(case, part) or {}
        places += [((part, name), value) for name, value in values.items()]
    if not places:
        return case
    where, value = choice.choice(places)
    json_body = where[0] == "body" and "json" in (case.media_type or "")
    if isinstance(value, str):
        new: Any = value + choice.choice(HOSTILE_TEXT + (LONE_SURROGATES if json_body else []))
    else:
        new = choice.choice(HOSTILE_NUMBERS)
    _put(case, where, new)
    return case


def _places(node: Any, where: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        return [p for name, value in node.items() for p in _places(value, (*where, name))]
    if isinstance(node, list):
        return [p for index, value in enumerate(node) for p in _places(value, (*where, index))]
    if isinstance(node, str) or (isinstance(node, int | float) and not isinstance(node, bool)):
        return [(where, node)]
    return []


def _put(case: Any, where: tuple[Any, ...], new: Any) -> None:
    if where[0] == "body" and len(where) == 1:
        case.body = new
        return
    container = case.body if where[0] == "body" else getattr(case, where[0])
    for step in where[1:-1]:
        container = container[step]
    container[where[-1]] = new


def _strategy(operation: Any, mode: GenerationMode | str) -> Any:
    if mode == HOSTILE:
        valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        return st.tuples(valid, st.randoms(use_true_random=False)).map(lambda t: hostile(*t))
    return operation.as_strategy(generation_mode=mode)


def _exercise(operation: Any, mode: GenerationMode | str, headers: dict[str, str]) -> None:
    hostile_run = mode == HOSTILE

    @given(case=_strategy(operation, mode))
    @settings(
        max_examples=HOSTILE_EXAMPLES if hostile_run else EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=HOSTILE_CHECKS if hostile_run else CHECKS)

    if mode is GenerationMode.POSITIVE:
        for strategy in operation.get_strategies_from_examples():
            run = example(case=generate_one(strategy))(run)
    run()


def credentials(client: TestClient) -> dict[str, dict[str, str]]:
    """The demo's credentials for each dialect: the ETNA login with its app key, the CAS
    client's token, and the native bearer token (Saxo and block-trade take it too)."""
    etna = client.post("/token", headers={"Username": "demo", "Password": "demo"} | APP_KEY)
    cas = client.post("/connect/token", data=CAS_FORM)
    return {
        "/v1": {"Authorization": f"Bearer {etna.json()['Token']}"} | APP_KEY,
        "/book-building/": {"Authorization": f"Bearer {cas.json()['access_token']}"},
        "": bearer(client),
    }


APP_KEY = {"Et-App-Key": "demo-app-key"}
CAS_FORM = {
    "grant_type": "client_credentials",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "scope": "allocations-read allocations-write",
}


def test_every_answer_of_every_operation_matches_the_openapi_document(
    demo_container: Container,
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
    with TestClient(app) as client:
        headers = credentials(client)
    modes = MODES[make_url(demo_container.settings.database_url).get_backend_name()]
    failures: list[str] = []
    for operation in operations:
        chosen = next(h for prefix, h in headers.items() if operation.path.startswith(prefix))
        for mode in modes:
            try:
                _exercise(operation, mode, chosen)
            except Unsatisfiable:
                continue  # no invalid request exists (e.g. only optional text headers)
            except (Exception, BaseExceptionGroup) as failure:
                failures.append(f"{operation.label} ({mode}): {failure}")
    assert not failures, "\n\n".join(failures)
