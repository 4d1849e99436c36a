"""A client generated from the served `/openapi.json` by openapi-python-client works: one typed,
successful call per dialect (ETNA, Saxo, block-trade, book-building) and on the native API,
each answer parsed into the generated success type, on the demo data.

The generator runs here, on the document the app serves, into a temporary folder (no network);
the generated async client talks to the app through `httpx.ASGITransport`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from allotment.entrypoints.http.blocktrade.docs import EXAMPLE as BLOCKTRADE_SEED
from allotment.entrypoints.http.etna.wire import SEED_REQUEST as ETNA_SEED
from allotment.services.bookbuilding.demo import DEAL_ID, TRANCHE_ID, demo_id

BASE = "http://allotment.test"
CAS_ALLOCATION: dict[str, Any] = {
    "dealId": DEAL_ID,
    "trancheId": TRANCHE_ID,
    "investorAccountId": demo_id("investor-alpha"),
    "indicationId": demo_id("indication-alpha"),
    "sourceId": "generated-client-1",
    "allocationValue": {"type": "quantity", "data": {"amount": 1000}},
    "distributionType": "manual",
}
"""An allocation of the demo's tranche to its first investor, in the seed's shape."""


class Generated:
    """The generated package, and its endpoint modules found by operationId."""

    def __init__(self, package: str, root: Path, document: dict[str, Any]) -> None:
        self.package = package
        self.root = root
        self.operation_ids = {
            op["operationId"] for item in document["paths"].values() for op in item.values()
        }

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def endpoint(self, operation_id: str) -> ModuleType:
        """The module generated for `operation_id` (named by its letters and digits)."""
        assert operation_id in self.operation_ids, operation_id
        wanted = _letters(operation_id)
        found = [
            path for path in (self.root / "api").glob("*/*.py") if _letters(path.stem) == wanted
        ]
        assert len(found) == 1, (operation_id, found)
        tag = found[0].parent.name
        return self.module(f"api.{tag}.{found[0].stem}")

    def model(self, name: str) -> Any:
        return getattr(self.module("models"), name)


def _letters(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@pytest.fixture
def generated(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Generated:
    document = client.get("/openapi.json").json()
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(document))
    package = f"allotment_client_{uuid.uuid4().hex[:8]}"
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "package_name_override": package,
                "project_name_override": package,
                "post_hooks": [],
                # The ETNA and block-trade dialects also take ASP.NET's text/json.
                "content_type_overrides": {"text/json": "application/json"},
            }
        )
    )
    output = tmp_path / "generated" / package
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(source)]
    command += ["--meta", "none", "--config", str(config), "--output-path", str(output)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(output.parent))
    return Generated(package, output, document)


def test_a_generated_client_makes_one_typed_successful_call_per_dialect(
    client: TestClient, generated: Generated
) -> None:
    transport = httpx.ASGITransport(app=client.app)
    client_module = generated.module("client")
    anonymous = client_module.Client(base_url=BASE, httpx_args={"transport": transport})

    async def calls() -> dict[str, Any]:
        login = generated.endpoint("login_api_v1_auth_token_post")
        token = await login.asyncio(
            client=anonymous, body=generated.model("LoginIn")(username="demo", password="demo")
        )
        assert isinstance(token, generated.model("TokenOut")), token
        user = client_module.AuthenticatedClient(
            base_url=BASE, token=token.access_token, httpx_args={"transport": transport}
        )
        answers: dict[str, Any] = {}
        answers["native"] = await generated.endpoint(
            "balances_api_v1_accounts__account_id__balances_get"
        ).asyncio_detailed("6688", client=user)
        answers["etna"] = await _etna(generated, user.with_headers({"Et-App-Key": "demo-app-key"}))
        answers["saxo"] = await generated.endpoint(
            "get_key_trade_v1_allocationkeys__AllocationKeyId__get"
        ).asyncio_detailed("227", client=user)
        answers["blocktrade"] = await _blocktrade(generated, user)
        answers["bookbuilding"] = await _bookbuilding(generated, anonymous, transport)
        return answers

    answers = asyncio.run(calls())
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "native": 200,
        "etna": 200,
        "saxo": 200,
        "blocktrade": 200,
        "bookbuilding": 200,
    }, {name: answer.content for name, answer in answers.items()}

    balances = answers["native"].parsed
    assert isinstance(balances, generated.model("BalancesOut"))
    assert balances.account_id == "6688"

    (etna,) = answers["etna"].parsed
    assert type(etna).__name__ == "EtnaSimpleBatchV10Response200Item"
    assert etna.is_succeed is True

    key = answers["saxo"].parsed
    assert isinstance(key, generated.model("AllocationKeyDetails"))
    assert (key.allocation_key_id, key.allocation_key_name) == ("227", "MyAllocation_Key")

    children = answers["blocktrade"].parsed
    result_type = generated.model("BlockTradeBlockAllocationResult")
    assert [type(child) for child in children] == [result_type, result_type]
    assert [child.allocation_reference for child in children] == [
        line["AllocationReference"] for line in BLOCKTRADE_SEED["AllocationDetails"]
    ]

    allocation = answers["bookbuilding"].parsed
    assert isinstance(allocation, generated.model("Allocation"))
    assert (allocation.deal_id, allocation.source_id) == (DEAL_ID, CAS_ALLOCATION["sourceId"])
    assert allocation.allocation_value.data.amount == 1000


async def _etna(generated: Generated, client: Any) -> Any:
    """The seed's batch, built from the generated request type."""
    batch = generated.endpoint("etna_simple_batch_v1.0")
    request_type = generated.model("EtnaSimpleBatchV10JsonSimpleAllocationRequest")
    return await batch.asyncio_detailed(client=client, body=[request_type.from_dict(ETNA_SEED)])


async def _blocktrade(generated: Generated, client: Any) -> Any:
    create = generated.endpoint(
        "create_block_allocations_api_orders_blockTrade_block_allocations_post"
    )
    body_type = generated.model(
        "CreateBlockAllocationsApiOrdersBlockTradeBlockAllocationsPostJsonBody"
    )
    return await create.asyncio_detailed(client=client, body=body_type.from_dict(BLOCKTRADE_SEED))


async def _bookbuilding(generated: Generated, anonymous: Any, transport: Any) -> Any:
    """A client-credentials token from the generated token call, an allocation created, then
    read back."""
    token_call = generated.endpoint("connect_token_connect_token_post")
    form_type = generated.model("BodyConnectTokenConnectTokenPost")
    token = await token_call.asyncio(
        client=anonymous,
        body=form_type(
            grant_type="client_credentials", client_id="demo-client", client_secret="demo-secret"
        ),
    )
    assert isinstance(token, generated.model("OAuthToken")), token
    cas = generated.module("client").AuthenticatedClient(
        base_url=BASE, token=token.access_token, httpx_args={"transport": transport}
    )
    create = generated.endpoint("create_allocation_book_building_allocations_v4_allocations_post")
    body_type = generated.model(
        "CreateAllocationBookBuildingAllocationsV4AllocationsPostAllocation"
    )
    created = await create.asyncio(client=cas, body=body_type.from_dict(CAS_ALLOCATION))
    assert isinstance(created, generated.model("Allocation")), created
    get = generated.endpoint("get_allocation_book_building_allocations_v4_allocations__id__get")
    return await get.asyncio_detailed(created.id, client=cas)
