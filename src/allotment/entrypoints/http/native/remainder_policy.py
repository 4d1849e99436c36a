"""Native API: the remainder policy of a stored allocation key (decision 0045). Saxo's key
shapes do not carry it; block orders placed with the key record it when they are placed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from allotment.domain.allocation.model import RemainderPolicy
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import Model
from allotment.services.saxo import key_policy

router = APIRouter(prefix="/api/v1", tags=["Fairness"])

KeyIdPath = Annotated[str, Path(min_length=1, max_length=50, description="The key's id")]


class KeyPolicyIn(Model):
    remainder_policy: RemainderPolicy = Field(
        description="LargestRemainder decides each allocation on its own; Fair gives the "
        "remainder to the participants with the most negative cumulative deviation."
    )


class KeyPolicyOut(BaseModel):
    allocation_key_id: str
    remainder_policy: RemainderPolicy


@router.get("/allocation-keys/{key_id}/remainder-policy", response_model=KeyPolicyOut)
def get_key_policy(key_id: KeyIdPath, ctx: NativeContext, box: ContainerDep) -> KeyPolicyOut:
    """The key's remainder policy: what block orders placed with it record, unless the block
    names its own."""
    with box.uow(write=False) as uow:
        found = key_policy.key_policy(uow, ctx, key_id)
    return KeyPolicyOut.model_validate(found.as_dict())


@router.put("/allocation-keys/{key_id}/remainder-policy", response_model=KeyPolicyOut)
def put_key_policy(
    key_id: KeyIdPath, body: KeyPolicyIn, ctx: NativeContext, box: ContainerDep
) -> KeyPolicyOut:
    """Set the key's remainder policy for the block orders placed with it from now on (orders
    already placed keep the policy they recorded)."""
    with box.uow() as uow:
        found = key_policy.set_key_policy(uow, ctx, key_id, body.remainder_policy)
        uow.commit()
    return KeyPolicyOut.model_validate(found.as_dict())
