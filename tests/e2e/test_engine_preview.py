"""`POST /api/v1/allocations/preview` answers what the allocation engine computes for the same
input (quantities, remainder, targets, deviations, average price, fees), reads an allocation key
or the ledger when asked, stores nothing, and answers each bad input with its own 422."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allotment.adapters.database import tables as t
from allotment.bootstrap import Container
from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.exact import fraction_text
from allotment.domain.allocation.fees import FeeSchedule, Side, compute_fees
from allotment.domain.allocation.fills import allocate_fills, fill_targets
from allotment.domain.allocation.pricing import Fill, price_block
from tests.conftest import bearer

PREVIEW = "/api/v1/allocations/preview"
KEY_227 = (  # the demo's allocation key 227: account, percentage, accepts the remainder
    Participant("SX-2001", Decimal(10), 1, accepts_remainder=True),
    Participant("SX-2002", Decimal(90), 1),
)
FILLS_1000 = [("300", "10.00"), ("500", "10.10"), ("200", "10.05")]


def engine_answer(body: dict[str, Any], participants: tuple[Participant, ...]) -> dict[str, Any]:
    """What the engine itself computes for a preview body (its participants given apart, as
    an allocation key would give them): the fields of the endpoint's answer that it decides."""
    request = SplitRequest(
        total=Decimal(body["total"]),
        participants=participants,
        method=Method(body["method"]),
        increment=Decimal(body.get("increment", "1")),
        round_lot=_decimal(body.get("round_lot")),
        minimum_quantity=_decimal(body.get("minimum_quantity")),
        price=_decimal(body.get("price")),
    )
    result = split(request)
    quantities, remainder = list(result.quantities), result.remainder
    expected: dict[str, Any] = {
        "explanation": [
            {
                "key": row.key,
                "target_exact": row.target_text(),
                "target": row.target_decimal(6),
                "quantity": row.quantity,
                "deviation_increments": fraction_text(row.deviation_increments),
                # Nothing carried in: the cumulative deviation is this split's.
                "cumulative_deviation_increments": fraction_text(row.deviation_increments),
                "reason": row.reason.value,
            }
            for row in result.explanation.participants
        ]
    }
    price = _decimal(body.get("price"))
    if body.get("fills"):
        fills = [Fill(Decimal(f["quantity"]), Decimal(f["price"])) for f in body["fills"]]
        filling = allocate_fills(
            fill_targets(result), [f.quantity for f in fills], increment=request.increment
        )
        quantities = [part.quantity for part in filling.cumulative]
        remainder = filling.remainder
        block = price_block(fills, [*quantities, remainder], places=body.get("price_places", 4))
        price = block.reported
        expected["average_price"] = (fraction_text(block.exact), block.reported)
        expected["cash_residue"] = block.residue
    expected["quantities"] = dict(zip([p.key for p in participants], quantities, strict=True))
    expected["allocated"] = sum(quantities, Decimal(0))
    expected["remainder"] = remainder
    if price is not None:
        schedule = FeeSchedule(**{k: Decimal(v) for k, v in body.get("fees", {}).items()})
        side = Side(body.get("side", "Buy"))
        expected["amounts"] = {
            p.key: compute_fees(side, quantity, price, schedule)
            for p, quantity in zip(participants, quantities, strict=True)
        }
    return expected


def assert_same_as_engine(
    answer: dict[str, Any], body: dict[str, Any], participants: tuple[Participant, ...]
) -> None:
    expected = engine_answer(body, participants)
    quantities = {part["key"]: Decimal(part["quantity"]) for part in answer["parts"]}
    assert quantities == expected["quantities"]
    assert Decimal(answer["allocated"]) == expected["allocated"]
    assert Decimal(answer["remainder"]) == expected["remainder"]
    rows = [
        {**row, "target": Decimal(row["target"]), "quantity": Decimal(row["quantity"])}
        for row in answer["explanation"]["participants"]
    ]
    assert rows == expected["explanation"]
    if "average_price" in expected:
        average = answer["average_price"]
        assert (average["exact"], Decimal(average["reported"])) == expected["average_price"]
        assert Decimal(answer["cash_residue"]) == expected["cash_residue"]
    if "amounts" in expected:
        for part in answer["parts"]:
            amounts = expected["amounts"][part["key"]]
            assert [Decimal(part[name]) for name in AMOUNTS] == [
                getattr(amounts, name) for name in AMOUNTS
            ]
    else:
        assert all(part["price"] is None for part in answer["parts"])


AMOUNTS = ("trade_value", "commission", "tax", "other_fees", "net_amount")


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def participants_of(body: dict[str, Any]) -> tuple[Participant, ...]:
    return tuple(
        Participant(
            p["key"],
            Decimal(p.get("weight", "0")),
            p.get("priority", 1),
            p.get("accepts_remainder", False),
            _decimal(p.get("minimum_quantity")),
            _decimal(p.get("maximum_quantity")),
        )
        for p in body["participants"]
    )


def preview(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(PREVIEW, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_key_227_splits_15_shares_as_2_and_13_as_the_engine_and_the_saxo_distribution_do(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    answer = preview(client, demo_headers, {"allocation_key_id": "227", "total": "15"})
    assert [(p["key"], p["weight"], p["quantity"]) for p in answer["parts"]] == [
        ("SX-2001", "10", "2"),
        ("SX-2002", "90", "13"),
    ]
    assert (answer["method"], answer["allocation_key_id"], answer["remainder"]) == (
        "Percentage",
        "227",
        "0",
    )
    assert_same_as_engine(answer, {"method": "Percentage", "total": "15"}, KEY_227)
    explained = answer["explanation"]
    assert explained["leftover_to_acceptors"] is True
    assert (explained["target_places"], explained["target_rounding"]) == (6, "ROUND_HALF_EVEN")
    assert [
        (r["target_exact"], r["target"], r["deviation_increments"])
        for r in explained["participants"]
    ] == [("3/2", "1.500000", "1/2"), ("27/2", "13.500000", "-1/2")]
    saxo = client.get(
        "/trade/v1/allocationkeys/distributions/227?Totalamount=15", headers=demo_headers
    ).json()
    assert [(s["AccountId"], Decimal(str(s["Amount"]))) for s in saxo["SubClientsInfo"]] == [
        (p["key"], Decimal(p["quantity"])) for p in answer["parts"]
    ]


def test_a_sale_of_25_shares_at_6_75_with_5_percent_commission_and_10_percent_tax(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    body = {
        "method": "Percentage",
        "total": "25",
        "participants": [{"key": "1574444-01", "weight": "100"}],
        "price": "6.75",
        "side": "Sell",
        "fees": {"commission_rate": "0.05", "tax_rate": "0.10"},
    }
    answer = preview(client, demo_headers, body)
    [part] = answer["parts"]
    assert [part[name] for name in ("quantity", "price", *AMOUNTS)] == [
        "25",
        "6.75",
        "168.75",
        "8.44",
        "0.84",
        "0.00",
        "159.47",
    ]
    assert answer["side"] == "Sell"
    assert answer["fees"] == {name: part[name] for name in AMOUNTS}
    assert answer["average_price"] is None and answer["cash_residue"] is None
    assert_same_as_engine(answer, body, participants_of(body))


def test_fills_of_300_at_10_00_500_at_10_10_and_200_at_10_05_average_10_06(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    fills = [{"quantity": q, "price": p} for q, p in FILLS_1000]
    body = {"allocation_key_id": "227", "total": "1000", "fills": fills, "price_places": 2}
    answer = preview(client, demo_headers, body)
    assert answer["average_price"] == {
        "exact": "503/50",
        "reported": "10.06",
        "places": 2,
        "rounding": "ROUND_HALF_UP",
    }
    assert [(p["key"], p["quantity"], p["price"]) for p in answer["parts"]] == [
        ("SX-2001", "100", "10.06"),
        ("SX-2002", "900", "10.06"),
    ]
    assert (answer["filled"], answer["cash_residue"], answer["side"]) == ("1000", "0.00", "Buy")
    assert_same_as_engine(answer, {**body, "method": "Percentage"}, KEY_227)
    # A block filled only in part is allocated fill by fill towards the key's split.
    partly = {**body, "fills": fills[:2], "price_places": 4}
    answer = preview(client, demo_headers, partly)
    assert [p["quantity"] for p in answer["parts"]] == ["80", "720"]
    assert answer["average_price"]["exact"] == "161/16"
    assert answer["average_price"]["reported"] == "10.0625"
    assert_same_as_engine(answer, {**partly, "method": "Percentage"}, KEY_227)


def test_random_requests_get_the_engines_quantities_targets_deviations_and_amounts(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    rng = random.Random(2026)
    for _ in range(12):
        body = random_body(rng)
        assert_same_as_engine(preview(client, demo_headers, body), body, participants_of(body))


def random_body(rng: random.Random) -> dict[str, Any]:
    method = rng.choice(["Percentage", "Ratio", "Unit", "Equal", "Cash", "NetLiquidation"])
    count = rng.randint(1, 8)
    increment = rng.choice(["1", "0.0001", "5"])
    total = Decimal(rng.randint(0, 5000)) * Decimal(increment)
    if method == "Percentage":
        cuts = sorted(rng.sample(range(1, 100), count - 1)) if count > 1 else []
        weights = [str(b - a) for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    else:
        weights = [str(Decimal(rng.randint(0, 10**6)).scaleb(-2)) for _ in range(count)]
        weights[0] = "1000.00"
    participants: list[dict[str, Any]] = []
    for index, weight in enumerate(weights):
        participant: dict[str, Any] = {"key": f"ACC{rng.randint(0, 999):03d}-{index}"}
        if method != "Equal":
            participant["weight"] = weight
        participant["priority"] = rng.randint(1, 3)
        participant["accepts_remainder"] = rng.random() < 0.3
        if rng.random() < 0.2:
            step = Decimal(increment)
            participant["maximum_quantity"] = str(total / 3 // step * step)
        participants.append(participant)
    body: dict[str, Any] = {
        "method": method,
        "total": str(total),
        "increment": increment,
        "participants": participants,
    }
    if method == "Cash" or rng.random() < 0.4:
        body["price"] = str(Decimal(rng.randint(1, 10**5)).scaleb(-2))
        body["side"] = rng.choice(["Buy", "Sell"])
        body["fees"] = {"commission_per_share": "0.01", "tax_rate": "0.10", "other_fees": "1.5"}
    if rng.random() < 0.3:
        body["minimum_quantity"] = increment
    return body


def test_net_liquidation_and_available_equity_weights_are_read_from_the_ledger(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    accounts = [{"key": "SX-2001"}, {"key": "SX-2002"}, {"key": "6687"}]
    body = {"method": "NetLiquidation", "total": "100", "participants": accounts}
    answer = preview(client, demo_headers, body)
    # 6687: cash 1,000,000.00 + 10,000 AAPL at an average cost of 135.89.
    weights = ["1000000.00", "1000000.00", "2358900.00"]
    assert [p["weight"] for p in answer["parts"]] == weights
    weighted = [{**a, "weight": w} for a, w in zip(accounts, weights, strict=True)]
    assert_same_as_engine(answer, body, participants_of({"participants": weighted}))
    # Available equity: cash, plus the credit limit of a margin account (6687: 1,000,000).
    body = {"method": "AvailableEquity", "total": "100", "participants": accounts}
    answer = preview(client, demo_headers, body)
    assert [p["weight"] for p in answer["parts"]] == ["1000000.00", "1000000.00", "2000000.00"]
    assert [p["quantity"] for p in answer["parts"]] == ["25", "25", "50"]


def test_ledger_weights_only_for_accounts_the_caller_may_see(client: TestClient) -> None:
    advisor = bearer(client, "advisor", "advisor")  # limited to client 1574444
    body = {
        "method": "NetLiquidation",
        "total": "10",
        "participants": [{"key": "1574444-01"}, {"key": "987558-01"}],
    }
    response = client.post(PREVIEW, json=body, headers=advisor)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "Forbidden"
    own = {**body, "participants": [{"key": "1574444-01"}]}
    assert preview(client, advisor, own)["parts"][0]["quantity"] == "10"


def test_the_preview_needs_the_allocations_read_scope_and_writes_nothing(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    admin = bearer(client)
    user = {"username": "writer", "password": "writer-password", "scopes": ["allocations-write"]}
    assert client.post("/api/v1/users", json=user, headers=admin).status_code == 201
    writer = bearer(client, "writer", "writer-password")
    body = {"allocation_key_id": "227", "total": "15"}
    response = client.post(PREVIEW, json=body, headers=writer)
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "this needs the allocations-read scope"
    assert client.post(PREVIEW, json=body).status_code == 401
    before = _written(demo_container)
    fills = [{"quantity": q, "price": p} for q, p in FILLS_1000]
    preview(client, demo_headers, {**body, "total": "1000", "fills": fills})
    assert _written(demo_container) == before


def _written(box: Container) -> list[int]:
    tables = [t.journal_entries, t.allocations, t.blocks, t.fills, t.audit_events]
    with box.engine.connect() as connection:
        return [
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in tables
        ]


PERCENT = {"method": "Percentage", "total": "15"}
BAD_INPUT: list[tuple[dict[str, Any], str, tuple[str, ...], dict[str, Any]]] = [
    (
        {**PERCENT, "participants": [{"key": "A", "weight": "10"}, {"key": "B", "weight": "80"}]},
        "PercentagesDoNotTotal100",
        ("must total 100", "total 90"),
        {"total": "90"},
    ),
    (
        {**PERCENT, "participants": [{"key": "A", "weight": "-10"}, {"key": "B", "weight": "110"}]},
        "NegativeWeight",
        ("'A'", "negative weight -10"),
        {"key": "A", "value": "-10"},
    ),
    (
        {**PERCENT, "total": "-15", "participants": [{"key": "A", "weight": "100"}]},
        "InvalidQuantity",
        ("total must be a non-negative quantity", "-15"),
        {"field": "total"},
    ),
    (
        {
            "method": "Ratio",
            "total": "10",
            "price": "5",
            "participants": [{"key": "A", "weight": "1"}],
            "fees": {"commission_rate": "-0.01"},
        },
        "InvalidQuantity",
        ("commission_rate must be a non-negative amount or rate",),
        {"field": "commission_rate"},
    ),
    ({**PERCENT, "participants": []}, "NoParticipants", ("at least one participant",), {}),
    (PERCENT, "NoParticipants", ("at least one participant",), {}),
    (
        {**PERCENT, "increment": "2", "participants": [{"key": "A", "weight": "100"}]},
        "IncrementDoesNotDivide",
        ("15 is not a multiple of the increment 2",),
        {"total": "15", "increment": "2"},
    ),
    (
        {**PERCENT, "round_lot": "0.5", "participants": [{"key": "A", "weight": "100"}]},
        "InvalidRoundLot",
        ("round lot 0.5", "multiple of the increment 1"),
        {"round_lot": "0.5"},
    ),
    (
        {**PERCENT, "increment": "0", "participants": [{"key": "A", "weight": "100"}]},
        "InvalidIncrement",
        ("increment must be a positive number",),
        {},
    ),
    (
        {"allocation_key_id": "999", "total": "15"},
        "UnknownAllocationKey",
        ("allocation key 999 does not exist",),
        {"key_id": "999"},
    ),
    (
        {"method": "Cash", "total": "15", "participants": [{"key": "A", "weight": "100"}]},
        "InvalidPrice",
        ("price must be a positive price",),
        {"field": "price"},
    ),
    (
        {**PERCENT, "participants": [{"key": "A", "weight": "50"}, {"key": "A", "weight": "50"}]},
        "DuplicateParticipant",
        ("'A' appears more than once",),
        {"key": "A"},
    ),
    (
        {"method": "Ratio", "total": "10", "participants": [{"key": "A"}]},
        "InvalidInstruction",
        ("'A' has no weight",),
        {"key": "A"},
    ),
    (
        {"method": "NetLiquidation", "total": "10", "participants": [{"key": "NOPE"}]},
        "UnknownAccount",
        ("'NOPE' is not an account of the company",),
        {"key": "NOPE"},
    ),
    (
        {**PERCENT, "allocation_key_id": "227", "participants": [{"key": "A", "weight": "100"}]},
        "InvalidInstruction",
        ("participants or an allocation_key_id, not both",),
        {},
    ),
    (
        {"allocation_key_id": "227", "total": "10", "fills": [{"quantity": "4", "price": "0"}]},
        "InvalidPrice",
        ("fill price must be a positive price",),
        {},
    ),
]


def test_each_bad_input_gets_a_422_problem_naming_it(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    for body, code, words, facts in BAD_INPUT:
        response = client.post(PREVIEW, json=body, headers=demo_headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (problem["code"], problem["status"]) == (code, 422), (body, problem)
        assert problem["type"] == f"https://allotment.dev/problems/{code}"
        for word in words:
            assert word in problem["detail"], (word, problem["detail"])
        assert facts.items() <= problem.get("facts", {}).items(), (facts, problem)


def test_a_malformed_field_is_named_by_the_schema(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    for body, field in [
        ({**PERCENT, "participants": [{"key": "A", "weight": 99.5}]}, "participants.0.weight"),
        ({**PERCENT, "participants": [{"key": "A", "priority": 0}]}, "participants.0.priority"),
        ({**PERCENT, "method": "Thirds", "participants": []}, "method"),
        ({**PERCENT, "participants": [], "price_places": 12}, "price_places"),
    ]:
        response = client.post(PREVIEW, json=body, headers=demo_headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "ValidationError"
        assert problem["errors"][0]["field"] == field
