"""Hostile input on every write route of every dialect (decision 0023): a valid request whose
strings in turn hold a NUL, a lone surrogate or full-width digits, and whose numbers in turn
are 1e30, 1e400 and 1e-400, never answers a server error; every refusal is in the dialect's
own error shape; the ledger check passes afterwards and every list and detail route still
answers 200, on SQLite and PostgreSQL.

`WRITES` holds one valid request per write route of the app; a route the app has and the table
lacks fails the test, so a new route cannot be left out (add one line for it).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app
from allotment.services.bookbuilding.demo import DEAL_ID, TRANCHE_ID, demo_id
from allotment.services.journal import ledger
from tests.e2e.test_blocktrade_seed import SEED_JSON, SEED_XML

HOSTILE_TEXT = {"NUL": "\x00", "lone surrogate": "\ud800"}
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
HOSTILE_NUMBERS = ("1e30", "1e400", "1e-400")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Raw(str):
    """A JSON number written as this exact text."""


@dataclass(frozen=True)
class Call:
    """A valid request of one write route: its body (JSON, XML or a form), the values of its
    path parameters and query, and whose credentials it carries."""

    body: Any = None
    xml: str | None = None
    form: dict[str, str] | None = None
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    auth: str = "native"
    content_type: str = "application/json"
    embedded: tuple[str, str, str, Any] | None = None
    """A Saxo batch's one request: method, target, X-Request-Id and JSON body (or None)."""


def key(**fields: Any) -> dict[str, Any]:
    participants = [
        {"AccountKey": "Hk9Jw0lYxXO7qcBuZMR1bQ==", "Priority": 1, "UnitValue": Raw("10")},
        {"AccountKey": "W1Y2v3E4R5t6y7U8i9O0pA==", "Priority": 1, "UnitValue": Raw("90")},
    ]
    for participant, remainder in zip(participants, (True, False), strict=True):
        participant["AcceptRemainderAmount"] = remainder
    body = {
        "AllocationKeyName": "Hostile_Key",
        "AllocationUnitType": "Percentage",
        "MarginHandling": "Reduce",
        "OneTime": False,
        "OwnerAccountKey": "LZTc7DdejXODf-WSl2aCyQ==",
        "ParticipatingAccountsInfo": participants,
    }
    return body | fields


ETNA_ITEM = {
    "FromAccount": "6687",
    "ToAccount": "6688",
    "Symbol": "AAPL",
    "Quantity": Raw("1"),
    "Price": Raw("130.00"),
    "Commission": Raw("1.36"),
    "Action": "Buy",
    "AccountType": "Cash",
    "Comment": "Hostile 1",
    "Instructions": {},
}
ETNA_MULTILEG = {
    "FromAccount": "6687",
    "ToAccount": "6688",
    "AccountType": "Cash",
    "Commission": Raw("1.39"),
    "Comment": "Hostile 2",
    "Legs": [{"Symbol": "AAPL", "Quantity": Raw("1"), "Price": Raw("130.00"), "Action": "Buy"}],
}
SAXO_ORDER = {
    "AccountKey": "LZTc7DdejXODf-WSl2aCyQ==",
    "Uic": Raw("4361"),
    "AssetType": "CfdOnStock",
    "BuySell": "Buy",
    "Amount": Raw("10"),
    "OrderType": "Market",
    "AllocationKeyId": "227",
}
V4 = "/book-building/allocations/v4/allocations"
V4_BODY = {
    "dealId": DEAL_ID,
    "trancheId": TRANCHE_ID,
    "investorAccountId": demo_id("investor-alpha"),
    "indicationId": demo_id("indication-alpha"),
    "sourceId": "hostile-1",
    "sourceRowVersion": "1",
    "allocationValue": {"type": "quantity", "data": {"amount": Raw("1000")}},
    "distributionType": "manual",
}
CAS_FORM = {
    "grant_type": "client_credentials",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "scope": "allocations-read allocations-write",
}
ALLOCATION_FILE = (
    '--hostile\r\nContent-Disposition: form-data; name="file"; filename="f.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
    "average_account_id,account_id,symbol,side,quantity,price\r\n"
    "6687,6688,AAPL,Buy,1,135.89\r\n--hostile--\r\n"
)
PREVIEW = {"allocation_key_id": "227", "total": "15", "price_places": Raw("2")}
WRITES: dict[str, list[Call]] = {
    "POST /token": [Call(auth="login")],
    "POST /v1.0/token": [Call(auth="login")],
    "POST /connect/token": [Call(form=CAS_FORM, auth="none")],
    "POST /api/v1/auth/token": [Call({"username": "demo", "password": "demo"}, auth="none")],
    "POST /api/v1/users": [Call({"username": "u1", "password": "password-1", "scopes": []})],
    "POST /api/v1/users/{user_id}/two-factor": [Call(path={"user_id": "@user"})],
    "DELETE /api/v1/users/{user_id}/two-factor": [Call(path={"user_id": "@user"})],
    "POST /api/v1/api-clients": [Call({"name": "c1", "scopes": ["allocations-read"]})],
    "POST /api/v1/app-keys": [Call({"name": "k1"})],
    "POST /api/v1/clients": [Call({"name": "Client 1", "id": Raw("4001")})],
    "POST /api/v1/accounts": [
        Call({"id": "H-1", "client_id": Raw("1001"), "type": "Cash", "credit_limit": "0"})
    ],
    "POST /api/v1/accounts/{account_id}/close": [Call(path={"account_id": "@account"})],
    "POST /api/v1/instruments": [Call({"symbol": "HOST1", "uic": Raw("99001"), "currency": "USD"})],
    "POST /api/v1/ledger/deposits": [Call({"account_id": "6688", "amount": "10.50"})],
    "POST /api/v1/ledger/withdrawals": [Call({"account_id": "6688", "amount": "1.25"})],
    "POST /api/v1/ledger/opening-positions": [
        Call({"account_id": "6687", "symbol": "AAPL", "quantity": "3", "price": "134.11"})
    ],
    "POST /api/v1/ledger/entries/{entry_id}/reverse": [
        Call({"reason": "hostile 1"}, path={"entry_id": "1"})
    ],
    "POST /api/v1/blocks": [
        Call({"account_id": "6687", "symbol": "AAPL", "side": "Buy", "quantity": "10"})
    ],
    "POST /api/v1/allocation-files": [
        Call(
            xml=ALLOCATION_FILE,
            content_type="multipart/form-data; boundary=hostile",
        )
    ],
    "POST /api/v1/blocks/{block_id}/fills": [
        Call({"quantity": "1", "price": "135.89"}, path={"block_id": "@block"})
    ],
    "PUT /api/v1/blocks/{block_id}/intent": [
        Call({"lines": [{"account_id": "6688", "quantity": "10"}]}, path={"block_id": "@bare"})
    ],
    "PUT /api/v1/allocation-keys/{key_id}/remainder-policy": [
        Call({"remainder_policy": "Fair"}, path={"key_id": "227"})
    ],
    "POST /v1.0/allocations/simple": [Call([ETNA_ITEM], auth="etna", query={"atomic": "true"})],
    "PUT /v1.0/allocations/simple": [Call(ETNA_ITEM, auth="etna")],
    "POST /v1.0/allocations/multileg": [Call([ETNA_MULTILEG], auth="etna")],
    "PUT /v1.0/allocations/multileg": [Call(ETNA_MULTILEG, auth="etna")],
    "POST /v1/allocations/simple": [Call([ETNA_ITEM], auth="etna")],
    "PUT /v1/allocations/simple": [Call(ETNA_ITEM, auth="etna")],
    "POST /v1/allocations/multileg": [Call([ETNA_MULTILEG], auth="etna")],
    "PUT /v1/allocations/multileg": [Call(ETNA_MULTILEG, auth="etna")],
    "POST /trade/v2/orders": [Call(SAXO_ORDER)],
    "POST /trade/v2/orders/precheck": [Call(SAXO_ORDER | {"OrderPrice": Raw("12.5")})],
    "DELETE /trade/v2/orders/{OrderIds}": [
        Call(path={"OrderIds": "@order"}, query={"AccountKey": "LZTc7DdejXODf-WSl2aCyQ=="})
    ],
    "POST /port/batch": [Call(embedded=("GET", "/openapi/port/v1/users/me", "1", None))],
    "POST /trade/batch": [Call(embedded=("POST", "/trade/v2/orders/precheck", "2", SAXO_ORDER))],
    "POST /trade/v1/allocationkeys": [Call(key())],
    "DELETE /trade/v1/allocationkeys/{AllocationKeyId}": [Call(path={"AllocationKeyId": "227"})],
    "PUT /api/v1/fee-schedules": [Call({"commission_per_share": "0.01", "other_fees": "1.5"})],
    "PUT /api/v1/clients/{client_id}/fee-schedule": [
        Call({"commission_rate": "0.001"}, path={"client_id": "2002"})
    ],
    "POST /api/orders/blockTrade/block-allocations": [
        Call(json.loads(SEED_JSON, parse_float=Raw, parse_int=Raw), auth="basic"),
        Call(xml=SEED_XML, auth="basic", content_type="application/xml"),
    ],
    f"POST {V4}/search": [
        Call(
            {"criteria": [{"field": "trancheId", "operator": "=", "value": TRANCHE_ID}]}, auth="cas"
        )
    ],
    f"POST {V4}": [Call(V4_BODY, auth="cas")],
    f"PUT {V4}": [Call(V4_BODY | {"id": "@v4", "sourceId": "hostile-2"}, auth="cas")],
    f"PUT {V4}/{{id}}": [Call(V4_BODY | {"sourceId": "hostile-3"}, path={"id": "@v4"}, auth="cas")],
    f"PATCH {V4}/{{id}}": [
        Call(
            [{"op": "replace", "path": "/allocationValue/data/amount", "value": Raw("1500.5")}],
            path={"id": "@v4"},
            auth="cas",
            content_type="application/json-patch+json",
        )
    ],
    f"DELETE {V4}/{{id}}": [Call(path={"id": "@v4"}, auth="cas")],
    f"DELETE {V4}": [Call(query={"sourceId": "hostile-1"}, auth="cas")],
    "POST /api/v1/clearing/sessions/{trade_date}/close": [Call(path={"trade_date": "2026-01-02"})],
    "POST /api/v1/deals": [Call({"name": "Hostile IPO 1", "issuer": "Hostile Inc."})],
    "POST /api/v1/deals/{deal_id}/tranches": [
        Call(
            {"name": "t1", "offered_size": "1000", "offer_price": "20.00", "currency": "USD"},
            path={"deal_id": DEAL_ID},
        )
    ],
    "POST /api/v1/investor-accounts": [Call({"name": "Investor 1", "finra_5130": False})],
    "POST /api/v1/tranches/{tranche_id}/indications": [
        Call(
            {"investor_account_id": demo_id("investor-alpha"), "demand_amount": "1000"},
            path={"tranche_id": TRANCHE_ID},
        )
    ],
    "POST /api/v1/tranches/{tranche_id}/distribute": [
        Call(path={"tranche_id": TRANCHE_ID}, query={"preview": "true"})
    ],
    "POST /api/v1/tranches/{tranche_id}/distribute/preview": [
        Call(path={"tranche_id": TRANCHE_ID})
    ],
    "POST /api/v1/allocations/preview": [Call(PREVIEW)],
    "PUT /api/v1/company/calendar": [Call({"time_zone": "America/New_York"})],
    "POST /api/v1/fix-sessions": [
        Call({"sender_comp_id": "HOSTILE-OMS", "target_comp_id": "ALLOTMENT", "username": "demo"})
    ],
    "DELETE /api/v1/fix-sessions/{sender_comp_id}/{target_comp_id}": [
        Call(path={"sender_comp_id": "DEMO-OMS", "target_comp_id": "ALLOTMENT"})
    ],
}
"""One valid request per write route ("METHOD path"); a text "@name" (a path value or a
string of the body) is the id of an object made for the test (see `resolve`)."""

READS: dict[str, dict[str, str]] = {
    "/api/v1/users/{user_id}": {"user_id": "1"},
    "/api/v1/clients/{client_id}": {"client_id": "1001"},
    "/api/v1/accounts/{account_id}": {"account_id": "6687"},
    "/api/v1/instruments/{symbol}": {"symbol": "AAPL"},
    "/api/v1/accounts/{account_id}/balances": {"account_id": "6687"},
    "/api/v1/ledger/entries/{entry_id}": {"entry_id": "1"},
    "/api/v1/allocations/{allocation_id}": {"allocation_id": "@allocation"},
    "/api/v1/blocks/{block_id}": {"block_id": "@block"},
    "/api/v1/blocks/{block_id}/fills": {"block_id": "@block"},
    "/api/v1/blocks/{block_id}/intent": {"block_id": "@intended"},
    "/api/v1/blocks/{block_id}/drift": {"block_id": "@intended"},
    "/api/v1/blocks/{block_id}/drift.csv": {"block_id": "@intended"},
    "/api/v1/allocations/{allocation_id}/explanation": {"allocation_id": "@allocation"},
    "/api/v1/allocation-keys/{key_id}/remainder-policy": {"key_id": "227"},
    "/trade/v1/allocationkeys/distributions/{AllocationKeyId}": {
        "AllocationKeyId": "227",
        "?Totalamount": "100",
    },
    "/trade/v1/allocationkeys/{AllocationKeyId}": {"AllocationKeyId": "227"},
    "/api/v1/clients/{client_id}/fee-schedule": {"client_id": "2001"},
    "/port/v1/users/{UserKey}": {"UserKey": "demo"},
    "/port/v1/clients/{ClientKey}": {"ClientKey": "ck-2001"},
    "/port/v1/orders/{ClientKey}/{OrderId}": {"ClientKey": "ck-2001", "OrderId": "@order"},
    f"{V4}/{{id}}": {"id": "@v4"},
    "/api/v1/clearing/sessions/{trade_date}": {"trade_date": "2026-01-02"},
    "/api/v1/clearing/sessions/{trade_date}/report": {"trade_date": "2026-01-02"},
    "/api/v1/clearing/sessions/{trade_date}/report.csv": {"trade_date": "2026-01-02"},
    "/api/v1/deals/{deal_id}": {"deal_id": DEAL_ID},
    "/api/v1/deals/{deal_id}/tranches": {"deal_id": DEAL_ID},
    "/api/v1/tranches/{tranche_id}": {"tranche_id": TRANCHE_ID},
    "/api/v1/investor-accounts/{investor_id}": {"investor_id": demo_id("investor-alpha")},
    "/api/v1/tranches/{tranche_id}/indications": {"tranche_id": TRANCHE_ID},
    "/api/v1/indications/{indication_id}": {"indication_id": demo_id("indication-alpha")},
    "/api/v1/accounts/{account_id}/statement.csv": {"account_id": "6688", "?date": "2026-01-02"},
    "/api/v1/accounts/{account_id}/statement.pdf": {"account_id": "6688", "?date": "2026-01-02"},
}
"""The path values (and required query) of every read route with parameters."""

SHAPES: list[tuple[str, Callable[[Response], bool]]] = [
    ("/api/orders/blockTrade/", lambda r: _is_blocktrade(r)),
    ("/book-building/", lambda r: {"type", "title", "status", "detail"} <= set(r.json())),
    ("/trade/", lambda r: _is_saxo(r.json())),
    ("/port/", lambda r: _is_saxo(r.json())),
    ("/v1.0/", lambda r: _is_etna(r.json())),
    ("/v1/", lambda r: _is_etna(r.json())),
    ("/token", lambda r: set(r.json()) == {"error"}),
    ("/connect/token", lambda r: "error" in r.json()),
    ("/api/", lambda r: {"type", "title", "status", "detail", "code"} <= set(r.json())),
]
"""The error body each dialect answers (the first prefix that matches)."""


def _is_saxo(body: Any) -> bool:
    """Saxo's error body, or its trading error (the same members under ErrorInfo)."""
    return {"ErrorCode", "Message"} <= set(body) or {"ErrorCode", "Message"} <= set(
        body.get("ErrorInfo") or {}
    )


def _is_etna(body: Any) -> bool:
    """ETNA's {"error": ...}, or its list of per-item results (a batch that booked not all)."""
    items = body if isinstance(body, list) else [body]
    if all({"IsSucceed", "Description"} <= set(item) for item in items):
        return True
    return isinstance(body, dict) and set(body) == {"error"}


def _is_blocktrade(response: Response) -> bool:
    """The vendor's Error Response (a string) or its list of error results, in JSON or XML."""
    if "xml" in response.headers.get("content-type", ""):
        root = re.sub(r"^<\?xml[^>]*>\s*", "", response.text)
        return root.startswith(("<string ", "<ArrayOfBlockTradeBlockAllocationErrorResult "))
    body = response.json()
    return isinstance(body, str) or all("Errors" in item for item in body)


def write_routes(app: FastAPI) -> set[str]:
    """Every "METHOD path" of the app that writes, found by walking its routers."""
    found: set[str] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            if not getattr(route, "include_in_schema", True):
                continue  # the desk's HTML forms: tests/desk
            for method in WRITE_METHODS & set(getattr(route, "methods", None) or ()):
                found.add(f"{method} {route.path}")

    walk(list(app.routes))
    return found


# --- requests -------------------------------------------------------------------------------


def encode(document: Any) -> bytes:
    """JSON with Raw numbers written as their text and strings escaped (a lone surrogate
    becomes the escape \\ud800, as a JSON client writes it)."""
    marked = json.dumps(document, default=str, cls=_Marking)
    return re.sub(r'"@@(.*?)@@"', r"\1", marked).encode()


class _Marking(json.JSONEncoder):
    def encode(self, o: Any) -> str:
        return super().encode(_mark(o))


def _mark(node: Any) -> Any:
    if isinstance(node, Raw):
        return f"@@{node}@@"
    if isinstance(node, dict):
        return {name: _mark(value) for name, value in node.items()}
    if isinstance(node, list):
        return [_mark(value) for value in node]
    return node


def _part(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def send(client: TestClient, method: str, route: str, call: Call, headers: dict[str, str]) -> Any:
    path = route
    for name, value in call.path.items():
        path = path.replace(f"{{{name}}}", _part(value))
    if call.query:
        path += "?" + "&".join(f"{_part(k)}={_part(v)}" for k, v in call.query.items())
    content: bytes | None = None
    if call.body is not None:
        content = encode(call.body)
    elif call.xml is not None:
        content = call.xml.encode("utf-8", "surrogatepass")
    elif call.form is not None:
        content = urlencode(call.form, encoding="utf-8", errors="surrogatepass").encode()
    elif call.embedded is not None:
        content = batch(*call.embedded)
    kind = "application/x-www-form-urlencoded" if call.form is not None else call.content_type
    if call.embedded is not None:
        kind = "multipart/mixed; boundary=hostile"
    sent = {**headers, "Content-Type": kind} if content is not None else headers
    return client.request(method, path, content=content, headers=sent)


def batch(method: str, target: str, request_id: str, body: Any) -> bytes:
    """A Saxo batch of one embedded request, its JSON body (if any) encoded as `encode` does."""
    head = f"{method} {target} HTTP/1.1\r\nX-Request-Id: {request_id}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    part = "--hostile\r\nContent-Type: application/http; msgtype=request\r\n\r\n" + head
    text = part.encode("utf-8", "surrogatepass") + b"\r\n"
    if body is not None:
        text += encode(body)
    return text + b"\r\n--hostile--\r\n"


def embedded_statuses(response: Response) -> list[int]:
    """The status of each embedded answer of a batch's multipart answer."""
    if not response.headers.get("content-type", "").startswith("multipart/mixed"):
        return []
    answers = re.findall(r"^HTTP/1\.1 (\d{3})(.*?)(?=^--|\Z)", response.text, re.M | re.S)
    return [400 if _is_precheck_error(text) else int(code) for code, text in answers]


def _is_precheck_error(text: str) -> bool:
    """Saxo's precheck answers a refused order 200 with PreCheckResult Error (0018)."""
    return re.search(r'"PreCheckResult":\s*"Error"', text) is not None


def variants(call: Call) -> Iterator[tuple[str, Call, bool]]:
    """(what, the call changed, whether it must be refused): each string in turn with each
    hostile text and with full-width digits, each number in turn with each hostile number."""
    for name, value in call.path.items():
        for label, text in _texts(value):
            yield f"path {name} {label}", replace(call, path=call.path | {name: text}), _must(label)
    for name, value in call.query.items():
        for label, text in _texts(value):
            query = call.query | {name: text}
            yield f"query {name} {label}", replace(call, query=query), _must(label)
    if call.form is not None:
        for name, value in call.form.items():
            for label, text in _texts(value):
                form = call.form | {name: text}
                yield f"form {name} {label}", replace(call, form=form), _must(label)
    if call.body is not None:
        for where, changed, refused in _document_variants(call.body):
            yield f"body {where}", replace(call, body=changed), refused
    if call.xml is not None:
        for where, xml, refused in _xml_variants(call.xml):
            yield f"xml {where}", replace(call, xml=xml), refused
    if call.embedded is not None:
        yield from _embedded_variants(call, *call.embedded)


def _embedded_variants(
    call: Call, method: str, target: str, request_id: str, body: Any
) -> Iterator[tuple[str, Call, bool]]:
    """A batch's embedded request with hostile text in its path and its X-Request-Id header,
    and each hostile variant of its JSON body."""
    for label, text in _texts(target):
        yield (
            f"embedded path {label}",
            replace(call, embedded=(method, text, request_id, body)),
            (_must(label)),
        )
    for label, text in _texts(request_id):
        changed = (method, target, text, body)
        yield f"embedded X-Request-Id {label}", replace(call, embedded=changed), _must(label)
    if body is not None:
        for where, document, refused in _document_variants(body):
            changed = (method, target, request_id, document)
            yield f"embedded body {where}", replace(call, embedded=changed), refused


def _must(label: str) -> bool:
    return label in HOSTILE_TEXT


def _texts(value: str) -> Iterator[tuple[str, str]]:
    for label, text in HOSTILE_TEXT.items():
        yield label, value + text
    if any(c.isdigit() for c in value):
        yield "full-width digits", value.translate(FULL_WIDTH)


def _document_variants(document: Any) -> Iterator[tuple[str, Any, bool]]:
    for where, value, put in _leaves(document):
        if isinstance(value, Raw):
            for number in HOSTILE_NUMBERS:
                yield f"{where} = {number}", put(Raw(number)), True
        elif isinstance(value, str):
            for label, text in _texts(value):
                yield f"{where} {label}", put(text), _must(label)
            if _is_decimal(value):
                for number in HOSTILE_NUMBERS:
                    yield f"{where} = {number!r}", put(number), True


def _is_decimal(text: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", text) is not None


def _leaves(node: Any, where: str = "") -> Iterator[tuple[str, Any, Callable[[Any], Any]]]:
    """Every string and number leaf: (its path, its value, a function that makes a copy of
    the whole document with that leaf replaced)."""
    if isinstance(node, dict):
        for name, value in node.items():
            for inner, leaf, put in _leaves(value, f"{where}.{name}"):
                yield inner, leaf, _putter(node, name, put)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            for inner, leaf, put in _leaves(value, f"{where}[{index}]"):
                yield inner, leaf, _putter(node, index, put)
    elif isinstance(node, str):
        yield where, node, lambda new: new


def _putter(node: Any, slot: Any, put: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def outer(new: Any) -> Any:
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[slot] = put(new)
        return copy

    return outer


def _xml_variants(xml: str) -> Iterator[tuple[str, str, bool]]:
    for match in re.finditer(r">([^<>\s][^<>]*)</", xml):
        start, end = match.span(1)
        value = match.group(1)
        hostile = {"NUL": "\x00", "lone surrogate": "&#xD800;"}
        for label, text in hostile.items():
            yield f"{value!r} {label}", xml[:start] + value + text + xml[end:], True
        if any(c.isdigit() for c in value):
            fullwidth = value.translate(FULL_WIDTH)
            yield f"{value!r} full-width digits", xml[:start] + fullwidth + xml[end:], False
        if _is_decimal(value):
            for number in HOSTILE_NUMBERS:
                yield f"{value!r} = {number}", xml[:start] + number + xml[end:], True


# --- the test -------------------------------------------------------------------------------


@pytest.fixture
def app(demo_container: Container) -> FastAPI:
    return create_app(container=demo_container)


def credentials(client: TestClient) -> dict[str, dict[str, str]]:
    token = client.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
    etna = client.post("/token", headers={"Username": "demo", "Password": "demo"} | ETNA_KEY)
    cas = client.post("/connect/token", data=CAS_FORM)
    basic = base64.b64encode(b"demo:demo").decode()
    return {
        "native": {"Authorization": f"Bearer {token.json()['access_token']}"},
        "etna": {"Authorization": f"Bearer {etna.json()['Token']}"} | ETNA_KEY,
        "cas": {"Authorization": f"Bearer {cas.json()['access_token']}"},
        "basic": {"Authorization": f"Basic {basic}"},
        "none": ETNA_KEY,
        "login": {"Username": "demo", "Password": "demo"} | ETNA_KEY,
    }


ETNA_KEY = {"Et-App-Key": "demo-app-key"}


def shape_of(path: str) -> Callable[[Response], bool]:
    return next(check for prefix, check in SHAPES if path.startswith(prefix))


def resolve(client: TestClient, headers: dict[str, dict[str, str]]) -> dict[str, str]:
    """The ids the tables name with "@", of objects made for the test: a book-building
    allocation, a block and an ETNA allocation."""
    made = {}
    for name, route, call in [
        ("@v4", f"POST {V4}", Call(V4_BODY | {"sourceId": f"h-{uuid.uuid4()}"}, auth="cas")),
        ("@block", "POST /api/v1/blocks", WRITES["POST /api/v1/blocks"][0]),
        ("@bare", "POST /api/v1/blocks", WRITES["POST /api/v1/blocks"][0]),
        ("@intended", "POST /api/v1/blocks", WRITES["POST /api/v1/blocks"][0]),
        ("@etna", "POST /v1.0/allocations/simple", Call([ETNA_ITEM], auth="etna")),
        (
            "@account",
            "POST /api/v1/accounts",
            Call({"id": "H-2", "client_id": Raw("1001"), "type": "Cash"}),
        ),
        (
            "@user",
            "POST /api/v1/users",
            Call({"username": "h2", "password": "password-2", "scopes": []}),
        ),
        ("@order", "POST /trade/v2/orders", Call(SAXO_ORDER)),
    ]:
        method, path = route.split(" ", 1)
        response = send(client, method, path, call, headers[call.auth])
        assert response.status_code in (200, 201), response.text
        answer = response.json()
        made[name] = "" if name == "@etna" else str(answer.get("id", answer.get("OrderId")))
    intent = Call(
        {"lines": [{"account_id": "6688", "quantity": "10"}]}, path={"block_id": made["@intended"]}
    )
    route = "/api/v1/blocks/{block_id}/intent"
    assert send(client, "PUT", route, intent, headers["native"]).status_code == 201
    allocations = client.get("/api/v1/allocations", headers=headers["native"]).json()["items"]
    return made | {"@allocation": str(allocations[0]["id"])}


def resolved(call: Call, ids: dict[str, str]) -> Call:
    """The call with every "@name" replaced by the id of the object made for it."""

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            return {name: swap(value) for name, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return ids.get(node, node) if isinstance(node, str) else node

    return replace(call, path=swap(call.path), body=swap(call.body))


def test_every_write_route_has_a_valid_request_in_the_table(app: FastAPI) -> None:
    missing = write_routes(app) - set(WRITES)
    assert not missing, f"add a valid request for each of these routes to WRITES: {missing}"


def test_hostile_strings_and_numbers_on_every_write_route_are_refused_in_the_dialects_shape(
    app: FastAPI, demo_container: Container
) -> None:
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = credentials(client)
        ids = resolve(client, headers)
        for route, calls in sorted(WRITES.items()):
            method, path = route.split(" ", 1)
            for call in calls:
                call = resolved(call, ids)
                for what, changed, refused in variants(call):
                    response = send(client, method, path, changed, headers[call.auth])
                    problem = _judge(path, response, refused)
                    if problem:
                        failures.append(f"{route} {what}: {problem}")
        failures += _reads_fail(client, app, headers, ids)
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
        assert ledger.check_references(uow) == []
    assert not failures, "\n".join(failures)


def _judge(path: str, response: Response, refused: bool) -> str | None:
    inner = embedded_statuses(response)  # a batch answers 200 with each request's answer
    status = max([response.status_code, *inner])
    if status >= 500:
        return f"{status} {response.text[:200]}"
    if response.status_code == 200 and _is_precheck_error(response.text):
        status = 400
    if refused and (status < 400 or any(code < 400 for code in inner)):
        return f"accepted with {status}: {response.text[:200]}"
    if response.status_code >= 400:
        try:
            if not shape_of(path)(response):
                return f"not the dialect's error shape: {response.text[:200]}"
        except ValueError:
            return f"not the dialect's error shape: {response.text[:200]}"
    return None


def _reads_fail(
    client: TestClient, app: FastAPI, headers: dict[str, dict[str, str]], ids: dict[str, str]
) -> list[str]:
    """Every read route answers 200 (the routes with parameters take them from READS)."""
    failures = []
    for path, item in app.openapi()["paths"].items():
        if "get" not in item:
            continue
        if "{" in path and path not in READS:
            failures.append(f"GET {path}: add its path values to READS")
            continue
        values = READS.get(path, {})
        url = path
        for name, value in values.items():
            if not name.startswith("?"):
                url = url.replace(f"{{{name}}}", ids.get(value, value))
        query = {name[1:]: value for name, value in values.items() if name.startswith("?")}
        auth = headers["cas" if path.startswith("/book-building/") else "native"]
        response = client.get(url, params=query, headers=auth)
        if response.status_code != 200:
            failures.append(f"GET {url}: {response.status_code} {response.text[:200]}")
    return failures


def test_the_reported_inputs_are_refused_in_each_dialects_shape_and_the_blocks_still_read(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    order = WRITES["POST /trade/v2/orders"][0].body
    for amount in ("1e30", "1000000000000000000", '"１０"'):
        text = encode(order).replace(b'"Amount": 10', b'"Amount": ' + amount.encode())
        assert amount.encode() in text
        response = client.post("/trade/v2/orders", content=text, headers=demo_headers)
        assert response.status_code == 400, (amount, response.text)
        assert response.json()["ErrorCode"] == "InvalidModelState", response.text
    for total in ("1e400", "１００", "1e-400"):
        response = client.get(
            "/trade/v1/allocationkeys/distributions/227",
            params={"Totalamount": total},
            headers=demo_headers,
        )
        assert response.status_code == 400, (total, response.text)
    assert (
        client.get(
            "/trade/v1/allocationkeys/distributions/２２７?Totalamount=1", headers=demo_headers
        ).status_code
        == 404
    )
    for path in (
        "/api/v1/accounts/66%0087",
        "/api/v1/accounts/%ED%A0%80",
        "/api/v1/accounts?x=%00",
    ):
        response = client.get(path, headers=demo_headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "InvalidCharacter", response.text
    assert client.get("/api/v1/blocks", headers=demo_headers).status_code == 200
