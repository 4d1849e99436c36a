"""The journal service: the one way entries and balances reach the ledger (decision 0035)."""

from allotment.services.journal.journal import Journal

__all__ = ["Journal"]
