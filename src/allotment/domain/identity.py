"""Who is asking: companies, users, API clients, app keys, scopes and the resolved principal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Scope(StrEnum):
    READ = "allocations-read"
    WRITE = "allocations-write"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


class PrincipalKind(StrEnum):
    USER = "user"
    API_CLIENT = "api_client"


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    name: str
    tax_rate: Decimal
    """Tax on commission (GST), e.g. 0.10."""
    currency: str
    time_zone: str = "UTC"
    """The IANA time zone whose date is the company's business date."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, resolved from a verified token or basic credentials."""

    company_id: int
    subject: str
    kind: PrincipalKind
    scopes: frozenset[Scope]
    client_ids: frozenset[int] | None
    """None: every client of the company; otherwise only these clients."""

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def may_act_for_client(self, client_id: int | None) -> bool:
        """House accounts (no client) are the company's own: any principal of it may use them."""
        if self.client_ids is None or client_id is None:
            return True
        return client_id in self.client_ids


def parse_scopes(text: str | None) -> frozenset[Scope]:
    """Scopes from a space-separated OAuth2 scope string; unknown words are ignored."""
    if not text:
        return frozenset()
    known = {scope.value: scope for scope in Scope}
    return frozenset(known[word] for word in text.split() if word in known)
