from fastapi.testclient import TestClient


def test_the_demo_company_sees_its_average_account_holding_10000_aapl(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/accounts/6687/balances", headers=demo_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["positions"][0]["symbol"] == "AAPL"
    assert body["positions"][0]["quantity"] == "10000"
    assert body["positions"][0]["average_cost"].startswith("135.89")


def test_a_block_with_fills_reports_its_average_price(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/blocks/195", headers=demo_headers)
    assert response.status_code == 200, response.text
    assert response.json()["average_price"] == "6.750000"
    assert response.json()["master_reference"] == "XCCMa3aR573uzw"
