"""Checks of a FIX allocation instruction against its block, before anything is booked.

Each check answers None (passes) or the refusal, with FIX 4.4's AllocRejCode: the block is
found by its orders (OrderID 37 is our block id, ClOrdID 11 its master reference) or its
executions (ExecID 17 is a fill id); side, instrument, average price and quantity must match
it; every account must be a client account the session's user may act for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.allocation.engine import split
from allotment.domain.allocation.errors import EngineError
from allotment.domain.allocation.model import Method, Participant, SplitRequest
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import fits_storage, plain
from allotment.services import blocks
from allotment.services.context import Context
from allotment.services.fix.values import AccountRefusal, AllocLine, Instruction, RejectCode
from allotment.services.ports import BlockRecord, BlockRepository


class Refused(Exception):
    """A block level refusal: the instruction books nothing."""

    def __init__(self, code: RejectCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def find_block(
    blocks: BlockRepository, ctx: Context, instruction: Instruction, block_of_fill: dict[int, int]
) -> BlockRecord:
    """The one block the instruction's orders and executions name, locked."""
    named: set[int] = set()
    for order_id in instruction.order_ids:
        block = blocks.get(ctx.company_id, int(order_id)) if order_id.isdigit() else None
        if block is None or block.id is None:
            raise Refused(RejectCode.UNKNOWN_ORDER_ID, f"unknown OrderID {order_id}")
        named.add(block.id)
    for cl_ord_id in instruction.cl_ord_ids:
        block = blocks.by_master_reference(ctx.company_id, cl_ord_id)
        if block is None or block.id is None:
            raise Refused(RejectCode.UNKNOWN_CL_ORD_ID, f"unknown ClOrdID {cl_ord_id}")
        named.add(block.id)
    for exec_id in instruction.exec_ids:
        found = block_of_fill.get(int(exec_id)) if exec_id.isdigit() else None
        if found is None:
            raise Refused(RejectCode.UNKNOWN_EXEC_ID, f"unknown ExecID {exec_id}")
        named.add(found)
    if not named:
        raise Refused(RejectCode.UNKNOWN_ORDER_ID, "name the block by OrderID, ClOrdID or ExecID")
    if len(named) > 1:
        raise Refused(RejectCode.MISMATCHED_DATA, "the orders and executions name several blocks")
    block = blocks.get(ctx.company_id, named.pop(), lock=True)
    assert block is not None
    return block


ISIN = "4"
EXCHANGE_SYMBOL = "8"
"""The SecurityIDSource values (22) an instruction may name its instrument by."""


def check_terms(instruction: Instruction, block: BlockRecord, instrument: Instrument) -> None:
    """Side, instrument, average price and quantity against the block."""
    if instruction.side != block.side:
        raise Refused(RejectCode.MISMATCHED_DATA, f"the block is a {block.side}")
    source, security_id = instruction.security_id_source, instruction.security_id
    if security_id is not None and source not in (ISIN, EXCHANGE_SYMBOL):
        raise Refused(
            RejectCode.MISMATCHED_DATA,
            f"SecurityIDSource {source} is not supported: name the instrument by Symbol, or "
            "SecurityID with SecurityIDSource 4 (ISIN) or 8 (exchange symbol)",
        )
    if security_id is not None and source == ISIN:
        if security_id != instrument.isin:
            raise Refused(
                RejectCode.MISMATCHED_DATA,
                f"the block's instrument is {instrument.symbol} (ISIN {instrument.isin or 'none'})",
            )
    elif (instruction.symbol or security_id) != instrument.symbol:
        raise Refused(RejectCode.MISMATCHED_DATA, f"the block's instrument is {instrument.symbol}")
    average = blocks.average_price(block)
    if average is None or instruction.average_price != average:
        raise Refused(
            RejectCode.INCORRECT_AVERAGE_PRICE,
            f"the block's average price is {plain(average) if average is not None else 'none'}",
        )
    quantity = instruction.quantity
    if quantity <= 0 or not fits_storage(quantity):
        raise Refused(RejectCode.INCORRECT_QUANTITY, "Quantity must be positive")
    if quantity > blocks.unallocated(block):
        raise Refused(
            RejectCode.INCORRECT_QUANTITY,
            f"the block has {plain(blocks.unallocated(block))} unallocated",
        )


def quantities(instruction: Instruction, instrument: Instrument) -> list[Decimal]:
    """Each line's quantity: as given (calculated), or split by the engine (preliminary)."""
    return allotted(instruction, instrument)[0]


def allotted(
    instruction: Instruction, instrument: Instrument
) -> tuple[list[Decimal], list[Fraction] | None]:
    """Each line's quantity, and, when the engine split them (preliminary), each line's exact
    target (for the fairness ledger)."""
    lines = instruction.lines
    if not lines:
        raise Refused(RejectCode.INCORRECT_ALLOCATED_QUANTITY, "NoAllocs lists no account")
    if instruction.preliminary:
        return _split(instruction, instrument)
    given = [line.quantity for line in lines]
    if any(quantity is None for quantity in given):
        raise Refused(
            RejectCode.INCORRECT_ALLOCATED_QUANTITY, "a calculated allocation gives every AllocQty"
        )
    known = [quantity for quantity in given if quantity is not None]
    if sum(known, Decimal(0)) != instruction.quantity:
        raise Refused(
            RejectCode.INCORRECT_ALLOCATED_QUANTITY,
            f"the AllocQty total {plain(sum(known, Decimal(0)))} is not the Quantity",
        )
    return known, None


def _split(
    instruction: Instruction, instrument: Instrument
) -> tuple[list[Decimal], list[Fraction]]:
    weights = [line.quantity for line in instruction.lines]
    ratio = all(weight is not None for weight in weights)
    participants = tuple(
        Participant(str(i), weight or Decimal(0), accepts_remainder=True)
        for i, weight in enumerate(weights)
    )
    try:
        result = split(
            SplitRequest(
                instruction.quantity,
                participants,
                Method.RATIO if ratio else Method.EQUAL,
                increment=instrument.quantity_increment,
            )
        )
    except EngineError as error:
        raise Refused(RejectCode.INCORRECT_ALLOCATED_QUANTITY, str(error)) from error
    if result.remainder:
        raise Refused(
            RejectCode.INCORRECT_QUANTITY,
            f"{plain(result.remainder)} cannot be split across the accounts",
        )
    targets = [row.target_quantity for row in result.explanation.participants]
    return list(result.quantities), targets


def judge_accounts(
    ctx: Context, lines: Sequence[AllocLine], found: Mapping[str, Account]
) -> tuple[AccountRefusal, ...]:
    """Every line's account (among those `found`): known in the company, a client account,
    open, permitted."""
    refusals: list[AccountRefusal] = []
    seen: set[str] = set()
    for line in lines:
        text = _account_problem(ctx, found.get(line.account), line.account, seen)
        seen.add(line.account)
        if text is not None:
            code = RejectCode.UNKNOWN_ACCOUNT if "unknown" in text else RejectCode.OTHER
            refusals.append(AccountRefusal(line.account, code, text))
    return tuple(refusals)


def _account_problem(
    ctx: Context, account: Account | None, account_id: str, seen: set[str]
) -> str | None:
    if account is None or account.company_id != ctx.company_id:
        return f"unknown account {account_id}"
    if account_id in seen:
        return f"account {account_id} is listed twice"
    if account.role is not AccountRole.CLIENT:
        return f"account {account_id} is not a client account"
    if not account.is_open:
        return f"account {account_id} is closed"
    if not ctx.principal.may_act_for_client(account.client_id):
        return f"not authorised for account {account_id}"
    return None
