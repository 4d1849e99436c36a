"""The desk's drift page: the chart of cumulative deviation per account (server-drawn SVG), the
drift over a period, and one block's drift with its reasons, under the same checks as the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.services.fairness import intent
from tests.desk.support import log_in
from tests.integration.test_intent_and_drift import _short_of_cash
from tests.integration.test_saxo_block_orders import context, fill, order


def _block_with_intent_and_fills(box: Container) -> int:
    _short_of_cash(box)
    block_id = order(box, "227", 1000)
    with box.uow() as uow:
        intent.record_intent(uow, context(uow), block_id, intent.IntentDraft())
        uow.commit()
    fill(box, block_id, 7, "10.00")
    fill(box, block_id, 500, "10.00")
    return block_id


def test_the_drift_page_draws_each_account_and_lists_the_block_s_reasons(
    desk: TestClient, demo_container: Container
) -> None:
    block_id = _block_with_intent_and_fills(demo_container)
    log_in(desk)
    page = desk.get("/desk/drift", params={"block": str(block_id)})
    assert page.status_code == 200, page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    svg = re.search(r"<svg.*?</svg>", page.text, re.S)
    assert svg is not None and 'role="img"' in svg.group(0)
    assert len(re.findall(r"<polyline", svg.group(0))) == 2  # SX-2001 and SX-2002
    assert "SX-2001" in svg.group(0) and "SX-2002" in svg.group(0)
    events = re.search(r'<ul id="block-events">(.*?)</ul>', page.text, re.S)
    assert events is not None
    assert "MarginReduction" in events.group(1) and "ErrorAccount" in events.group(1)
    assert "Remainder" in events.group(1)
    totals = re.search(r'<table id="drift-totals">(.*?)</table>', page.text, re.S)
    assert totals is not None and "SX-2001" in totals.group(1)
    one = desk.get("/desk/drift", params={"account": "SX-2002"})
    assert one.status_code == 200
    assert "SX-2001" not in one.text.split('id="deviation-heading"')[1]
    bad = desk.get("/desk/drift", params={"start": "2026-13-01"})
    assert bad.status_code == 422


def test_an_advisor_sees_only_its_clients_drift(
    desk: TestClient, demo_container: Container
) -> None:
    _block_with_intent_and_fills(demo_container)
    log_in(desk, "advisor", "advisor")
    assert desk.get("/desk/drift").status_code == 403
    assert desk.get("/desk/drift", params={"account": "SX-2001"}).status_code in (403, 404)
