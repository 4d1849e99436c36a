"""The desk's sessions on the wire: the cookie (Secure, HttpOnly, SameSite=Strict), the caller
of every page (a `Context` built from the session's principal, as the API builds it from a
token), the CSRF check of every form, login and logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from allotment.adapters.one_time_codes import TotpCodes
from allotment.bootstrap import Container
from allotment.domain.errors import Unauthorized
from allotment.entrypoints.http.deps import ContainerDep
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.services import calendar
from allotment.services.context import Context
from allotment.services.desk import sessions as desk

COOKIE = "allotment_desk"
ONE_TIME_CODES = TotpCodes()
CSRF_FIELD = "csrf_token"
router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Caller:
    ctx: Context
    session: desk.DeskSession
    box: Container

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def business_day(self) -> date:
        """The company's date in its own time zone: the day a page shows unless it is asked
        for another (the UTC date is tomorrow in New York every evening)."""
        with self.box.uow(write=False) as uow:
            return calendar.company_business_date(uow, self.ctx)


def lifetime(box: Container) -> desk.Lifetime:
    settings = box.settings
    return desk.Lifetime(
        idle=timedelta(minutes=settings.desk_session_idle_minutes),
        absolute=timedelta(hours=settings.desk_session_absolute_hours),
    )


def caller(request: Request, box: ContainerDep) -> Caller:
    """The session's principal, re-read; raises Unauthorized (to the login page) without one."""
    now = box.clock.now()
    refused: Unauthorized | None = None
    with box.uow() as uow:
        try:
            principal, session = desk.current(uow, request.cookies.get(COOKIE), now, lifetime(box))
        except Unauthorized as error:
            refused = error  # raised once an expired session is forgotten
        uow.commit()
    if refused is not None:
        raise refused
    return Caller(Context(principal=principal, dialect="desk", now=now), session, box)


async def posted(request: Request, box: ContainerDep) -> Caller:
    """A form's caller: a live session and the session's CSRF token in the form."""
    found = await run_in_threadpool(caller, request, box)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    desk.check_csrf(found.session, sent if isinstance(sent, str) else None)
    return found


Reader = Annotated[Caller, Depends(caller)]
Writer = Annotated[Caller, Depends(posted)]


def _next(target: str | None) -> str:
    """Only a path of the desk itself: never an open redirect."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return PREFIX + "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None, reason: str = "") -> Response:
    message = "Your session has expired: log in again." if reason == "expired" else None
    values = {"next": _next(next), "message": message, "user": None}
    return page(request, "login.html", values)


@router.post("/login")
async def log_in(request: Request, box: ContainerDep) -> Response:
    """The password; a user with two-factor authentication is then asked for its code."""
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _next(str(form.get("next", "")))
    try:
        with box.uow() as uow:
            opened = desk.log_in(uow, box.hasher, box.tokens, (username, password), box.clock.now())
            uow.commit()
    except Unauthorized as error:
        values = {"next": target, "message": str(error), "user": None, "username": username}
        return page(request, "login.html", values, 401)
    if isinstance(opened, desk.SecondStep):
        return _code_page(request, target, opened.ticket, username)
    return _opened(box, target, opened[0])


def _code_page(
    request: Request, target: str, ticket: str, username: str, message: str = ""
) -> Response:
    """The second step's form; the username rides along for the failed-login throttle only
    (the ticket says whose login it is)."""
    values = {"next": target, "ticket": ticket, "username": username, "message": message or None}
    values["user"] = None
    return page(request, "login_code.html", values, 401 if message else 200)


@router.post("/login/code")
async def log_in_with_code(request: Request, box: ContainerDep) -> Response:
    """The second step of a two-factor user's login: the ticket of the first and the code."""
    form = await request.form()
    ticket, code = str(form.get("ticket", "")), str(form.get("code", ""))
    target = _next(str(form.get("next", "")))
    try:
        with box.uow() as uow:
            token, _ = desk.log_in_with_code(
                uow, box.tokens, ONE_TIME_CODES, ticket, code, box.clock.now()
            )
            uow.commit()
    except desk.WrongCode as error:
        return _code_page(request, target, ticket, str(form.get("username", "")), str(error))
    except Unauthorized as error:
        values = {"next": target, "message": str(error), "user": None}
        return page(request, "login.html", values, 401)
    return _opened(box, target, token)


def _opened(box: Container, target: str, token: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=box.settings.desk_session_absolute_hours * 3600,
        path=PREFIX,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
def log_out(request: Request, found: Writer) -> Response:
    with found.box.uow() as uow:
        desk.log_out(uow, request.cookies.get(COOKIE))
        uow.commit()
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX, secure=True, httponly=True, samesite="strict")
    return response
