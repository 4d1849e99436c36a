"""What a FIX allocation instruction says and what allotment answers, as plain values.

The FIX codec (adapters/fix) reads a 35=J into an `Instruction` and writes an `Answer` as a
35=P and its 35=AS reports; nothing here knows tags. Status and refusal codes are FIX 4.4's own
numbers (AllocStatus 87, AllocRejCode 88, IndividualAllocRejCode 776), so that the codec only
copies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any

from allotment.domain.numbers import ZERO, plain


class TransType(StrEnum):
    """AllocTransType (71)."""

    NEW = "0"
    REPLACE = "1"
    CANCEL = "2"


class AllocStatus(IntEnum):
    """AllocStatus (87)."""

    ACCEPTED = 0
    BLOCK_LEVEL_REJECT = 1
    ACCOUNT_LEVEL_REJECT = 2
    RECEIVED = 3


class RejectCode(IntEnum):
    """AllocRejCode (88) and IndividualAllocRejCode (776), FIX 4.4's values."""

    UNKNOWN_ACCOUNT = 0
    INCORRECT_QUANTITY = 1
    INCORRECT_AVERAGE_PRICE = 2
    COMMISSION_DIFFERENCE = 4
    UNKNOWN_ORDER_ID = 5
    OTHER = 7
    INCORRECT_ALLOCATED_QUANTITY = 8
    UNKNOWN_EXEC_ID = 10
    MISMATCHED_DATA = 11
    UNKNOWN_CL_ORD_ID = 12


@dataclass(frozen=True, slots=True)
class AllocLine:
    """One NoAllocs entry: an account and, for a calculated allocation, its quantity."""

    account: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    commission: Decimal = ZERO
    tax: Decimal = ZERO
    other_fees: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Instruction:
    """An AllocationInstruction (35=J). `preliminary` is AllocType 2: allotment works out the
    quantities (by the lines' AllocQty taken as ratios, or equally when none is given)."""

    alloc_id: str
    trans_type: TransType
    side: str
    """Buy or Sell."""
    quantity: Decimal
    average_price: Decimal
    trade_date: date
    lines: tuple[AllocLine, ...]
    preliminary: bool = False
    ref_alloc_id: str | None = None
    symbol: str | None = None
    security_id: str | None = None
    security_id_source: str | None = None
    settlement_date: date | None = None
    order_ids: tuple[str, ...] = ()
    cl_ord_ids: tuple[str, ...] = ()
    exec_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Origin:
    """Which FIX session and message an instruction came in: named in every audit event."""

    session: str
    msg_seq_num: int


@dataclass(frozen=True, slots=True)
class AccountRefusal:
    account: str
    code: RejectCode
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    """One booked allocation, as its AllocationReport (35=AS) tells it."""

    allocation_id: int
    account: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    tax: Decimal
    other_fees: Decimal
    net_money: Decimal
    settlement_date: date | None = None
    """The allocation's own (decision 0024), told in the report's SettlDate (64)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What allotment answers an instruction: its 35=P, and a 35=AS per booked allocation."""

    alloc_id: str
    trans_type: TransType
    status: AllocStatus
    reject_code: RejectCode | None = None
    text: str = ""
    refusals: tuple[AccountRefusal, ...] = ()
    reports: tuple[Report, ...] = ()
    side: str = ""
    symbol: str = ""
    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    trade_date: date | None = None
    settlement_date: date | None = None
    block_id: int | None = None
    ref_alloc_id: str | None = None
    preliminary: bool = False

    @property
    def accepted(self) -> bool:
        return self.status is AllocStatus.ACCEPTED

    def as_json(self) -> dict[str, Any]:
        """The answer as stored, so that a repeated AllocID is answered as the first was."""
        return {
            "alloc_id": self.alloc_id,
            "trans_type": self.trans_type.value,
            "status": int(self.status),
            "reject_code": None if self.reject_code is None else int(self.reject_code),
            "text": self.text,
            "refusals": [[r.account, int(r.code), r.text] for r in self.refusals],
            "reports": [_report_json(report) for report in self.reports],
            "side": self.side,
            "symbol": self.symbol,
            "quantity": plain(self.quantity),
            "average_price": plain(self.average_price),
            "trade_date": None if self.trade_date is None else self.trade_date.isoformat(),
            "settlement_date": _iso(self.settlement_date),
            "block_id": self.block_id,
            "ref_alloc_id": self.ref_alloc_id,
            "preliminary": self.preliminary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        return cls(
            alloc_id=data["alloc_id"],
            trans_type=TransType(data["trans_type"]),
            status=AllocStatus(data["status"]),
            reject_code=None if data["reject_code"] is None else RejectCode(data["reject_code"]),
            text=data["text"],
            refusals=tuple(
                AccountRefusal(account, RejectCode(code), text)
                for account, code, text in data["refusals"]
            ),
            reports=tuple(_report(item) for item in data["reports"]),
            side=data["side"],
            symbol=data["symbol"],
            quantity=Decimal(data["quantity"]),
            average_price=Decimal(data["average_price"]),
            trade_date=_date(data["trade_date"]),
            settlement_date=_date(data["settlement_date"]),
            block_id=data["block_id"],
            ref_alloc_id=data["ref_alloc_id"],
            preliminary=data["preliminary"],
        )


_AMOUNTS = ("quantity", "price", "commission", "tax", "other_fees", "net_money")


def _report_json(report: Report) -> dict[str, Any]:
    amounts = {name: plain(getattr(report, name)) for name in _AMOUNTS}
    return {
        "allocation_id": report.allocation_id,
        "account": report.account,
        **amounts,
        "settlement_date": _iso(report.settlement_date),
    }


def _report(data: dict[str, Any]) -> Report:
    amounts = {name: Decimal(data[name]) for name in _AMOUNTS}
    return Report(
        allocation_id=data["allocation_id"],
        account=data["account"],
        **amounts,
        settlement_date=_date(data.get("settlement_date")),
    )


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def block_reject(instruction: Instruction, code: RejectCode, text: str) -> Answer:
    return Answer(
        instruction.alloc_id,
        instruction.trans_type,
        AllocStatus.BLOCK_LEVEL_REJECT,
        code,
        text,
        ref_alloc_id=instruction.ref_alloc_id,
    )
