"""The typed error tree of allotment.

Errors carry facts (account, requested, available) and a stable `code`; they never carry an
HTTP status. Each entry point maps the classes to its own wire format in one table.
"""

from __future__ import annotations

from typing import Any


class AllotmentError(Exception):
    """Base of every error allotment raises on purpose."""

    code: str = "Error"

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        self.facts = facts


class NotFound(AllotmentError):
    code = "NotFound"


class InvalidInstruction(AllotmentError):
    """The request itself is malformed or out of range (wrong value, unknown field)."""

    code = "InvalidInstruction"


class RuleViolation(AllotmentError):
    """The request is well formed but a booking rule refuses it."""

    code = "RuleViolation"


class Conflict(AllotmentError):
    """The request clashes with the current state (duplicate, stale version, closed session)."""

    code = "Conflict"


class Unauthorized(AllotmentError):
    """No valid credentials: missing, wrong, expired or tampered."""

    code = "Unauthorized"


class Forbidden(AllotmentError):
    """Valid credentials that may not do this (missing scope, client not permitted)."""

    code = "Forbidden"


class DuplicateRequest(Conflict):
    code = "DuplicateRequest"


class IdempotencyKeyReused(InvalidInstruction):
    """The same Idempotency-Key came with a different request."""

    code = "IdempotencyKeyReused"


class StaleVersion(Conflict):
    code = "StaleVersion"


class SessionClosed(Conflict):
    code = "SessionClosed"


class LimitExceeded(InvalidInstruction):
    code = "LimitExceeded"


class AmountOutOfRange(InvalidInstruction):
    """An amount computed from the request has more digits than the ledger keeps exactly."""

    code = "NumberOutOfRange"
