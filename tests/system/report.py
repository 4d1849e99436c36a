"""The system test's checks against the database after the load, and its printed report."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tests.system import scenario
from tests.system.load import (
    BROKERAGE,
    ETNA_COMMISSION,
    ETNA_PRICE,
    FILL_PRICE,
    MASTER_PRICE,
    Fates,
    Outcome,
    Plan,
)


def booked_once(name: str, fates: Fates, found: dict[str, int]) -> int:
    """Every write answered as booked is in the database once; every refused one is not; one
    whose answer was lost is there at most once; nothing else is there. The number booked."""
    for ref in fates.booked:
        assert found.get(ref) == 1, (name, ref, found.get(ref), fates.attempts.get(ref))
    for ref in fates.refused:
        assert ref not in found, (name, "refused but booked", ref, fates.attempts.get(ref))
    for ref in fates.answer_lost:
        assert found.get(ref, 0) <= 1, (name, ref, found.get(ref), fates.attempts.get(ref))
    assert set(found) <= fates.booked | fates.answer_lost, (name, set(found) - fates.booked)
    return len(found)


@dataclass
class Checks:
    """What the database holds after the load, against what the load was answered."""

    url: str
    plan: Plan
    outcome: Outcome
    before: dict[str, dict[tuple[str, str], Decimal]]
    holdings_before: dict[str, Decimal]
    lines: list[str] = field(default_factory=list)

    ACCOUNTS = ("6687", "6688", "B-AVG", "B-C1", "1574444-01", "987558-01")

    def etna(self) -> None:
        found = scenario.count_by(self.url, "allocations", "comment", "sys-etna-")
        booked = booked_once("etna", self.outcome.etna, found)
        after = scenario.holdings(self.url, list(self.ACCOUNTS))
        for company in self.plan.companies:
            mine = [ref for ref in found if ref.startswith(f"sys-etna-{company.tag}-")]
            moved = sum((self.outcome.etna.size[ref] for ref in mine), Decimal(0))
            cost = ETNA_PRICE * moved + ETNA_COMMISSION * len(mine)
            delta = self._delta(after, company.source, company.target)
            assert delta[f"{company.source} AAPL"] == -moved, (company.tag, delta, moved)
            assert delta[f"{company.target} AAPL"] == moved, (company.tag, delta, moved)
            assert delta[f"{company.target} USD"] == -cost, (company.tag, delta, cost)
            assert delta[f"{company.source} USD"] == ETNA_PRICE * moved, (company.tag, delta)
        self.lines.append(f"ETNA items booked {booked}, {self._fates(self.outcome.etna)}")

    def saxo_fills(self) -> None:
        found = scenario.fills_by_reference(self.url, self.plan.saxo_orders)
        booked = booked_once("saxo fill", self.outcome.fills, found)
        blocks = scenario.blocks(self.url, self.plan.saxo_orders)
        for block_id, (ordered, filled, allocated) in blocks.items():
            mine = [ref for ref in found if ref.startswith(f"{block_id}@")]
            assert filled == sum(self.outcome.fills.size[ref] for ref in mine), block_id
            assert filled <= ordered and allocated == filled, (block_id, blocks[block_id])
        filled = sum((row[1] for row in blocks.values()), Decimal(0))
        self.lines.append(
            f"Saxo fills booked {booked} ({filled} units over {len(blocks)} orders), "
            f"{self._fates(self.outcome.fills)}"
        )

    def blocktrade(self) -> None:
        found = scenario.count_by(self.url, "allocations", "reference", "sb")
        booked = booked_once("block trade", self.outcome.blocktrade, found)
        masters = scenario.blocks(self.url, [block_id for block_id, _ in self.plan.masters])
        for block_id, (ordered, _filled, allocated) in masters.items():
            assert allocated <= ordered, (block_id, masters[block_id])
        after = scenario.holdings(self.url, list(self.ACCOUNTS))
        for client in (1574444, 987558):
            mine = [ref for ref in found if ref.endswith(f"-{client}")]
            bought = sum((self.outcome.blocktrade.size[ref] for ref in mine), Decimal(0))
            paid = MASTER_PRICE * bought + (BROKERAGE * Decimal("1.1")) * len(mine)
            account = f"{client}-01"
            delta = self._delta(after, account)
            assert delta.get(f"{account} BHP", Decimal(0)) == bought, (client, delta, bought)
            assert delta.get(f"{account} AUD", Decimal(0)) == -paid, (client, delta, paid)
        allocated = sum((row[2] for row in masters.values()), Decimal(0))
        self.lines.append(
            f"block-trade children booked {booked} ({allocated} of "
            f"{sum(row[0] for row in masters.values())} master units), "
            f"{self._fates(self.outcome.blocktrade)}"
        )

    def cas(self) -> None:
        found = scenario.count_by(self.url, "bookbuilding_allocations", "source_id", "sys-cas-")
        created = booked_once("cas", self.outcome.cas, found)
        self.lines.append(
            f"CAS allocations created {created}, searches {self.outcome.searches}, "
            f"{self._fates(self.outcome.cas)}"
        )

    def conservation(self) -> None:
        """What each company's accounts hold is unchanged, but for the Saxo fills: a fill is
        bought from the market (the external account), so the demo company holds the filled
        CFDs more and their price less."""
        after = scenario.totals_by_company(self.url)
        assert set(after) >= {"Demo Broker", scenario.SECOND}, set(after)
        blocks = scenario.blocks(self.url, self.plan.saxo_orders)
        filled = sum((row[1] for row in blocks.values()), Decimal(0))
        market = {("security", "CFD4361"): filled, ("cash", "USD"): -filled * FILL_PRICE}
        for company, totals in sorted(after.items()):
            before = self.before.get(company, {})
            bought = market if company == "Demo Broker" else {}
            for key in set(totals) | set(before):
                change = totals.get(key, Decimal(0)) - before.get(key, Decimal(0))
                assert change == bought.get(key, 0), (company, key, change, before, totals)
            held = ", ".join(f"{asset} {amount}" for (_, asset), amount in sorted(totals.items()))
            self.lines.append(f"held by {company}'s accounts after: {held} (conserved)")

    def _delta(self, after: dict[str, Decimal], *accounts: str) -> dict[str, Decimal]:
        keys = {k for k in after | self.holdings_before if k.split()[0] in accounts}
        return {
            key: after.get(key, Decimal(0)) - self.holdings_before.get(key, Decimal(0))
            for key in keys
        }

    @staticmethod
    def _fates(fates: Fates) -> str:
        return (
            f"refused {len(fates.refused)} {dict(fates.reasons)}, "
            f"answer lost after booking {len(fates.answer_lost)}"
        )
