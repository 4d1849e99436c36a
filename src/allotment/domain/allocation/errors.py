"""Typed errors of the allocation engine.

Every error is an ``EngineError``, an invalid instruction of the one error tree
(``domain.errors``): it carries the facts that caused it as attributes, a stable ``code`` (the
class name) for the edges to map, and a human message.
"""

from __future__ import annotations

from decimal import Decimal

from allotment.domain.errors import InvalidInstruction


class EngineError(InvalidInstruction):
    """Base of every error the allocation engine raises."""

    code = "EngineError"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class NoParticipants(EngineError):
    code = "NoParticipants"

    def __init__(self) -> None:
        super().__init__("an allocation needs at least one participant")


class DuplicateParticipant(EngineError):
    code = "DuplicateParticipant"

    def __init__(self, key: str) -> None:
        super().__init__(f"participant {key!r} appears more than once")
        self.key = key


class NegativeWeight(EngineError):
    code = "NegativeWeight"

    def __init__(self, key: str, value: Decimal) -> None:
        super().__init__(f"participant {key!r} has a negative weight {value}")
        self.key = key
        self.value = value


class InvalidWeight(EngineError):
    code = "InvalidWeight"

    def __init__(self, key: str, value: Decimal) -> None:
        super().__init__(f"participant {key!r} has a weight that is not a finite number: {value}")
        self.key = key
        self.value = value


class PercentagesDoNotTotal100(EngineError):
    code = "PercentagesDoNotTotal100"

    def __init__(self, total: Decimal) -> None:
        super().__init__(f"percentages must total 100, they total {total}")
        self.total = total


class ZeroTotalWeight(EngineError):
    code = "ZeroTotalWeight"

    def __init__(self, method: str) -> None:
        super().__init__(f"the weights of a {method} allocation add up to zero")
        self.method = method


class InvalidIncrement(EngineError):
    code = "InvalidIncrement"

    def __init__(self, increment: Decimal) -> None:
        super().__init__(f"the quantity increment must be a positive number, not {increment}")
        self.increment = increment


class IncrementDoesNotDivide(EngineError):
    code = "IncrementDoesNotDivide"

    def __init__(self, total: Decimal, increment: Decimal) -> None:
        super().__init__(f"the quantity {total} is not a multiple of the increment {increment}")
        self.total = total
        self.increment = increment


class InvalidRoundLot(EngineError):
    code = "InvalidRoundLot"

    def __init__(self, round_lot: Decimal, increment: Decimal) -> None:
        super().__init__(
            f"the round lot {round_lot} must be a positive multiple of the increment {increment}"
        )
        self.round_lot = round_lot
        self.increment = increment


class InvalidQuantity(EngineError):
    code = "InvalidQuantity"

    def __init__(self, field: str, value: Decimal, requirement: str) -> None:
        super().__init__(f"{field} must be {requirement}, not {value}")
        self.field = field
        self.value = value
        self.requirement = requirement


class InvalidPrice(EngineError):
    code = "InvalidPrice"

    def __init__(
        self, field: str, value: Decimal | None, requirement: str = "a positive price"
    ) -> None:
        super().__init__(f"{field} must be {requirement}, not {value}")
        self.field = field
        self.value = value
        self.requirement = requirement


class UnknownParticipant(EngineError):
    code = "UnknownParticipant"

    def __init__(self, key: str) -> None:
        super().__init__(f"participant {key!r} is not one of the allocation's participants")
        self.key = key


class NoFills(EngineError):
    code = "NoFills"

    def __init__(self) -> None:
        super().__init__("an average price needs at least one fill with a positive quantity")
