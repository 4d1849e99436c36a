"""The desk's sessions: login, the cookie, CSRF on every form, idle and absolute expiry,
logout; and the desk stays out of the API's OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from allotment.adapters.clock import FixedClock
from allotment.bootstrap import Container
from tests.desk.support import BOOKING, START, allocated_of_195, log_in


def test_the_session_cookie_is_secure_httponly_strict_and_holds_no_user_data(
    desk: TestClient,
) -> None:
    answer = desk.post("/desk/login", data={"username": "demo", "password": "demo"})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("allotment_desk=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/desk"):
        assert flag.lower() in cookie.lower()
    assert "demo" not in cookie.split(";")[0]


def test_a_wrong_password_opens_no_session(desk: TestClient) -> None:
    answer = desk.post("/desk/login", data={"username": "demo", "password": "nope"})
    assert answer.status_code == 401
    assert "invalid username or password" in answer.text
    assert "set-cookie" not in answer.headers
    assert desk.get("/desk/").status_code == 303


def test_a_page_without_a_session_leads_to_the_login_page(desk: TestClient) -> None:
    answer = desk.get("/desk/blocks/195")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/login?next=/desk/blocks/195"


def test_a_form_posted_without_its_csrf_token_is_refused_and_books_nothing(
    desk: TestClient,
) -> None:
    token = log_in(desk)
    missing = desk.post("/desk/blocks/195/book", data=BOOKING)
    wrong = desk.post("/desk/blocks/195/book", data={**BOOKING, "csrf_token": token[:-2] + "xx"})
    close = desk.post("/desk/eod/2026-03-02/close", data={"confirm": "yes"})
    assert (missing.status_code, wrong.status_code, close.status_code) == (403, 403, 403)
    assert "CSRF token is missing or wrong" in missing.text
    assert allocated_of_195(desk) == "0"
    booked = desk.post("/desk/blocks/195/book", data={**BOOKING, "csrf_token": token})
    assert booked.status_code == 303
    assert allocated_of_195(desk) == "100"


def test_another_sessions_csrf_token_is_refused(
    desk: TestClient, demo_container: Container
) -> None:
    first = log_in(desk)
    desk.cookies.clear()
    log_in(desk, "robert.z", "robert.z")
    answer = desk.post("/desk/blocks/195/book", data={**BOOKING, "csrf_token": first})
    assert answer.status_code == 403


def test_a_session_expires_after_its_idle_time(desk: TestClient, clock: FixedClock) -> None:
    log_in(desk)
    clock.at = START + timedelta(minutes=29)
    assert desk.get("/desk/").status_code == 200
    clock.at += timedelta(minutes=31)
    expired = desk.get("/desk/eod")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/desk/login?next=/desk/eod&reason=expired"
    assert "has expired" in desk.get(expired.headers["location"]).text
    clock.at -= timedelta(minutes=31)  # the session is gone, not merely out of time
    assert desk.get("/desk/").status_code == 303


def test_a_session_expires_after_its_absolute_lifetime_however_busy(
    desk: TestClient, clock: FixedClock
) -> None:
    log_in(desk)
    while clock.at < START + timedelta(hours=12):
        assert desk.get("/desk/").status_code == 200
        clock.at += timedelta(minutes=20)
    assert desk.get("/desk/").status_code == 303


def test_logging_out_ends_the_session(desk: TestClient) -> None:
    token = log_in(desk)
    cookie = desk.cookies.get("allotment_desk")
    answer = desk.post("/desk/logout", data={"csrf_token": token})
    assert answer.status_code == 303
    assert desk.get("/desk/", cookies={"allotment_desk": cookie or ""}).status_code == 303


def test_the_login_page_never_sends_the_user_to_another_site(desk: TestClient) -> None:
    answer = desk.post(
        "/desk/login", data={"username": "demo", "password": "demo", "next": "//evil.example/"}
    )
    assert answer.headers["location"] == "/desk/"


def test_the_desk_pages_carry_a_content_security_policy_without_other_hosts(
    desk: TestClient,
) -> None:
    log_in(desk)
    policy = desk.get("/desk/blocks/195").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "http" not in policy


def test_the_desk_is_not_part_of_the_api_document(desk: TestClient) -> None:
    paths = desk.get("/openapi.json").json()["paths"]
    assert [path for path in paths if path == "/" or path.startswith("/desk")] == []
    assert desk.get("/").headers["location"] == "/desk/"
