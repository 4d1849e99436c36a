"""A fill of a block order measured against the key's exact split, and split by the `Fair`
remainder policy when it applies (decision 0045).

Each participant's exact target of a fill is the fill pro rata to its exact target of the key's
split of the order (`Holder.exact_target`, kept when the order was placed), not to its whole
target: the fairness ledger then sees the rounding of the key's split as well as the fill's.

Under `LargestRemainder` a fill is shared against the holders' whole targets (`pro_rata_fill`).
Under `Fair` it is shared by the engine's `fair_shares`: each participant owes its exact target
of this fill less its carried cumulative deviation for (account, instrument, key), read from the
fairness ledger in one query, and the increments go to the most negative deviation first (ties:
remainder acceptors, priority, then account). What no whole target can take (an over-fill) goes
to the error account under either policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from allotment.domain.allocation.fair import TieKey, fair_shares
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.model import RemainderPolicy
from allotment.services.fairness import summarise
from allotment.services.journal.requests import FairnessNote
from allotment.services.ports import UnitOfWork
from allotment.services.saxo.records import BlockOrder, Holder

IN_LIST_LIMIT = 1000
"""Up to this many participants the ledger is read for their accounts; above, for the key."""


def policy_used(order: BlockOrder, requested: RemainderPolicy | None) -> RemainderPolicy:
    """The request's policy, else the order's (the block's own, else its key's at placement).
    A Priority key splits no fill pro rata: it is decided by priority, recorded as nothing."""
    if order.fill_policy is not FillPolicy.PRO_RATA:
        return RemainderPolicy.LARGEST_REMAINDER
    return requested or order.remainder_policy


def exact_targets(participants: Sequence[Holder]) -> list[Fraction]:
    """Each participant's exact target of the key's split of the order (its whole target for
    an order placed before exact targets were kept). Each distinct text is parsed once: the
    participants of a key mostly share a few targets."""
    parsed: dict[str | Decimal, Fraction] = {}
    found = []
    for holder in participants:
        text = holder.exact_target if holder.exact_target is not None else holder.target_quantity
        value = parsed.get(text)
        if value is None:
            value = parsed[text] = Fraction(text)
        found.append(value)
    return found


def fill_notes(
    participants: Sequence[Holder],
    quantity: Fraction,
    order: BlockOrder,
    policy: RemainderPolicy,
) -> dict[str, FairnessNote]:
    """Each participant's exact target of a fill of `quantity`: the fill pro rata to the
    exact targets of the key's split, with the policy that decided it. A Priority key asks for
    no pro rata split: it records nothing."""
    if order.fill_policy is not FillPolicy.PRO_RATA:
        return {}
    targets = exact_targets(participants)
    total = sum(targets, Fraction(0))
    if not total:
        return {}
    key = str(order.key_id)
    notes: dict[Fraction, FairnessNote] = {}
    found = {}
    for holder, target in zip(participants, targets, strict=True):
        if not target:
            continue
        note = notes.get(target)
        if note is None:
            note = notes[target] = FairnessNote(quantity * target / total, key, policy)
        found[holder.account_id] = note
    return found


def fair_fill(
    uow: UnitOfWork,
    context: tuple[int, int, str],
    participants: Sequence[Holder],
    usable: int,
    tie_key: TieKey,
) -> list[int]:
    """Increments of `usable` per participant under `Fair` (context: company, instrument,
    key): each owes its exact share of this fill less what it carries."""
    targets = exact_targets(participants)
    total = sum(targets, Fraction(0))
    if not total or not usable:
        return [0] * len(participants)
    owed = [Fraction(usable) * target / total for target in targets]
    carried = carried_deviations(uow, context, [h.account_id for h in participants])
    return fair_shares(
        usable,
        owed,
        [carried.get(h.account_id, Fraction(0)) for h in participants],
        ([0] * len(participants), [None] * len(participants)),
        tie_key,
    )


def carried_deviations(
    uow: UnitOfWork, context: tuple[int, int, str], account_ids: Sequence[str]
) -> dict[str, Fraction]:
    """Per account, the cumulative deviation (in increments) the fairness ledger holds for
    this instrument and key, in one query in the fill's unit of work."""
    company_id, instrument_id, key = context
    wanted = frozenset(account_ids) if len(account_ids) <= IN_LIST_LIMIT else None
    try:
        ledger = uow.fairness
    except KeyError:  # a unit of work without the fairness capability keeps no ledger
        return {}
    rows = ledger.deviations(company_id, wanted, instrument_id, key, (None, None))
    return {line.account_id: line.deviation_increments for line in summarise(rows)}
