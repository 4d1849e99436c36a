"""The desk's pages over HTTP: allocations searched and exported, the error page, and a form
whose input the engine refuses shown beside the form."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from allotment.services import demo
from tests.desk.support import BOOKING, log_in


def test_booked_allocations_are_found_by_block_and_exported_as_csv(desk: TestClient) -> None:
    token = log_in(desk)
    assert desk.post("/desk/blocks/195/book", data={**BOOKING, "csrf_token": token}).is_redirect
    found = desk.get("/desk/allocations", params={"block": 195})
    exported = desk.get("/desk/allocations/export.csv", params={"account": "987558-01"})
    assert found.status_code == 200
    assert found.text.count('<a href="/desk/blocks/195">195</a>') == 2
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.headers["content-type"].startswith("text/csv")
    assert [(r["account_id"], r["quantity"], r["price"], r["dialect"]) for r in rows] == [
        ("987558-01", "75", "6.75", "desk")
    ]


def test_an_unknown_block_answers_the_desks_error_page(desk: TestClient) -> None:
    log_in(desk)
    answer = desk.get("/desk/blocks/99999")
    assert answer.status_code == 404
    assert "<h1>Not found</h1>" in answer.text and "block 99999 does not exist" in answer.text


def test_a_preview_the_engine_refuses_is_explained_beside_the_form(desk: TestClient) -> None:
    token = log_in(desk)
    answer = desk.post(
        "/desk/blocks/195/preview",
        data={"csrf_token": token, "method": "Percentage", "weight:1574444-01": "30"},
    )
    assert answer.status_code == 422
    assert 'class="error" role="alert"' in answer.text
    assert 'value="30"' in answer.text  # the form keeps what was typed


def test_the_exceptions_queue_lists_a_blocks_remainder_until_it_is_allocated(
    desk: TestClient,
) -> None:
    token = log_in(desk)
    # The demo's blocks are of today in the demo company's time zone.
    day = {"day": datetime.now(ZoneInfo(demo.TIME_ZONE)).date().isoformat()}
    partial = {"csrf_token": token, "method": "Unit", "weight:1574444-01": "25"}
    rest = {"csrf_token": token, "method": "Unit", "weight:987558-01": "75"}

    before = desk.get("/desk/exceptions", params=day).text
    assert desk.post("/desk/blocks/195/book", data=partial).is_redirect
    between = desk.get("/desk/exceptions", params=day).text
    assert desk.post("/desk/blocks/195/book", data=rest).is_redirect
    after = desk.get("/desk/exceptions", params=day).text

    assert "Allocate block 195" in before and "Allocate block 195" in between
    assert re.search(r"<td class=\"num\">25</td><td class=\"num\">75</td>", between)
    assert "Allocate block 195" not in after


def test_a_control_character_in_a_form_is_refused_on_the_desks_error_page(
    desk: TestClient,
) -> None:
    token = log_in(desk)
    answer = desk.post(
        "/desk/allocations/1/reverse",
        content=f"csrf_token={token}&reason=bad%00reason",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert 'class="error" role="alert"' in answer.text
