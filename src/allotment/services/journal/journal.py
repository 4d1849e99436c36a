"""One unit of work's bookings: balances read under lock once, decided in memory, written once.

Whoever books (a single entry, a batch of allocations, a fill and everything its allocation
books, the average-pricing adjustments) decides on one `LedgerState` held here, and the final
balances are written by one statement at the end (`write`). A caller that knows every account
it will touch (a fill: the external and average accounts, the participants, the error and fee
accounts) locks them in one statement up front (`lock`), after reading and validating what it
needs, so that the hot accounts stay locked only for the decision and the writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from allotment.domain.accounts import Account
from allotment.domain.ledger import BalanceKey, LedgerState
from allotment.services.ports import UnitOfWork


class Journal:
    """The balances one unit of work decides on, and the one write of those it changed."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._accounts: dict[str, Account] = {}
        self.state = LedgerState(self._accounts, {})
        self._asked: set[BalanceKey] = set()
        """The keys read already (a key with no row is absent from the balances)."""

    def lock(self, company_id: int, account_ids: Iterable[str]) -> dict[str, Account]:
        """The company's accounts among `account_ids`, locked until the transaction ends, in
        one statement (account id order): later reads of their balances lock nothing more."""
        found = self._uow.ledger.lock_accounts(
            company_id, sorted(set(account_ids)), with_balances=True
        )
        self._accounts.update(found)
        return found

    @property
    def accounts(self) -> Mapping[str, Account]:
        """Every account known to the decision so far (locked, or named by a booking)."""
        return self._accounts

    def balances(self, accounts: Mapping[str, Account], keys: Iterable[BalanceKey]) -> LedgerState:
        """The state to decide on, holding `keys` (read under lock the first time each is
        asked for; afterwards as this journal's decisions left it) and `accounts`' rules."""
        if accounts is not self._accounts:
            self._accounts.update(accounts)
        asked = self._asked
        missing = [key for key in dict.fromkeys(keys) if key not in asked]
        if missing:
            found = self._uow.ledger.lock_balances(missing)
            balances = self.state.balances
            balances.update({key: found[key] for key in found if key not in balances})
            asked.update(missing)
        return self.state

    def write(self) -> None:
        """The changed balances written, in one statement; the journal can go on deciding."""
        changed = self.state.changed()
        if changed:
            self._uow.ledger.write_balances(changed)
        self.state.touched.clear()
