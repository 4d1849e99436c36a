"""Native API: the company's FIX sessions (admin scope). A session is named by the
counterparty's SenderCompID and ours, and acts as one user of the company; the acceptor
(`allotment fix serve`) serves the sessions stored when it starts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import Model
from allotment.services.fix import sessions as fix_sessions
from allotment.services.fix.sessions import FixSession

router = APIRouter(prefix="/api/v1", tags=["FIX sessions"])

COMP_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CompIdPath = Annotated[str, Path(pattern=COMP_ID, max_length=64)]


class FixSessionIn(Model):
    sender_comp_id: str = Field(pattern=COMP_ID, description="The counterparty's SenderCompID")
    target_comp_id: str = Field(pattern=COMP_ID, description="Our CompID (its TargetCompID)")
    username: str = Field(min_length=1, max_length=100, description="The user it acts as")
    subscribe_allocations: bool = Field(
        default=False,
        description="Sent an AllocationReport (35=AS) for every allocation of the company, "
        "whichever door booked it",
    )


class FixSessionOut(BaseModel):
    sender_comp_id: str
    target_comp_id: str
    username: str
    begin_string: str = "FIX.4.4"
    active: bool
    subscribe_allocations: bool
    created_at: datetime


def _out(session: FixSession) -> FixSessionOut:
    return FixSessionOut(
        sender_comp_id=session.sender_comp_id,
        target_comp_id=session.target_comp_id,
        username=session.username,
        active=session.active,
        subscribe_allocations=session.subscribe_allocations,
        created_at=session.created_at,
    )


@router.get("/fix-sessions", response_model=list[FixSessionOut])
def list_fix_sessions(ctx: NativeContext, box: ContainerDep) -> list[FixSessionOut]:
    """The company's FIX sessions."""
    with box.uow(write=False) as uow:
        return [_out(session) for session in fix_sessions.list_sessions(uow, ctx)]


@router.post("/fix-sessions", response_model=FixSessionOut, status_code=status.HTTP_201_CREATED)
def create_fix_session(body: FixSessionIn, ctx: NativeContext, box: ContainerDep) -> FixSessionOut:
    """A FIX session of the company acting as one of its users: its Logon must carry that
    user's Username (553) and Password (554). Served from the acceptor's next start."""
    with box.uow() as uow:
        session = fix_sessions.add_session(
            uow,
            ctx,
            body.sender_comp_id,
            body.target_comp_id,
            body.username,
            subscribe_allocations=body.subscribe_allocations,
        )
        uow.commit()
    return _out(session)


@router.delete(
    "/fix-sessions/{sender_comp_id}/{target_comp_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
def delete_fix_session(
    sender_comp_id: CompIdPath, target_comp_id: CompIdPath, ctx: NativeContext, box: ContainerDep
) -> Response:
    """Remove a FIX session: the acceptor no longer serves it from its next start."""
    with box.uow() as uow:
        fix_sessions.remove_session(uow, ctx, sender_comp_id, target_comp_id)
        uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
