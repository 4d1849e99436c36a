"""Native API: the company's business calendar (its time zone and business date)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from allotment.domain.identity import Scope
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.services import calendar

router = APIRouter(prefix="/api/v1", tags=["Calendar"])


class TimeZoneIn(BaseModel):
    time_zone: str = Field(min_length=1, max_length=64, examples=["Australia/Sydney"])


class CalendarOut(BaseModel):
    time_zone: str
    business_date: date


@router.get("/company/calendar", response_model=CalendarOut)
def get_calendar(ctx: NativeContext, box: ContainerDep) -> CalendarOut:
    """The company's time zone and its business date now: the trade date of a booking made
    now, unless that date is closed."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        zone = calendar.company_time_zone(uow, ctx.company_id)
    return CalendarOut(time_zone=zone, business_date=calendar.business_date(zone, ctx.now))


@router.put("/company/calendar", response_model=CalendarOut)
def set_calendar(body: TimeZoneIn, ctx: NativeContext, box: ContainerDep) -> CalendarOut:
    """Set the company's time zone (an IANA name such as America/New_York; admin scope)."""
    with box.uow() as uow:
        zone = calendar.set_time_zone(uow, ctx, body.time_zone)
        uow.commit()
    return CalendarOut(time_zone=zone, business_date=calendar.business_date(zone, ctx.now))
