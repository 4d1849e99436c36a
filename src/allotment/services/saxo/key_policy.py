"""The remainder policy of a stored allocation key (decision 0045): `LargestRemainder` unless
set, changed through the native API and the CLI only (Saxo's key shapes do not carry it).

A block order records its policy when it is placed (the block's own, else its key's), so
changing a key's policy decides the orders placed after the change, not those already placed.
"""

from __future__ import annotations

from dataclasses import dataclass

from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.errors import InvalidInstruction
from allotment.domain.identity import Scope
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork
from allotment.services.saxo.keys import key_view, repository


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    key_id: int
    remainder_policy: RemainderPolicy

    def as_dict(self) -> dict[str, str]:
        return {"allocation_key_id": str(self.key_id), "remainder_policy": self.remainder_policy}


def parse_policy(text: str) -> RemainderPolicy:
    """A policy by its name; anything else is refused with the names that are."""
    try:
        return RemainderPolicy(text)
    except ValueError as error:
        names = ", ".join(policy.value for policy in RemainderPolicy)
        raise InvalidInstruction(
            f"remainder_policy must be one of {names}", field="remainder_policy"
        ) from error


def key_policy(uow: UnitOfWork, ctx: Context, key_id: str) -> KeyPolicy:
    """The key's remainder policy (the caller must see every participant, as for the key)."""
    key = key_view(uow, ctx, key_id, clients=False).key
    assert key.id is not None
    return KeyPolicy(key.id, key.remainder_policy)


def set_key_policy(
    uow: UnitOfWork, ctx: Context, key_id: str, policy: RemainderPolicy
) -> KeyPolicy:
    """Set the key's remainder policy for the orders placed with it from now on."""
    ctx.require(Scope.WRITE)
    key = key_view(uow, ctx, key_id, lock=True, clients=False).key
    assert key.id is not None
    if key.remainder_policy is not policy:
        repository(uow).set_key_policy(key.id, policy)
        record(
            uow,
            ctx,
            "allocation_key.remainder_policy_set",
            "allocation_key",
            key.id,
            before={"remainder_policy": key.remainder_policy.value},
            after={"remainder_policy": policy.value},
        )
    return KeyPolicy(key.id, policy)
