"""Saxo's shapes of allocation keys and accounts, built from the services' answers."""

from __future__ import annotations

from typing import Any

from allotment.domain.accounts import AccountRole, AccountType
from allotment.entrypoints.http.saxo.wire import utc_text
from allotment.services.saxo.accounts import AccountRow, client_fields
from allotment.services.saxo.keys import KeyView, shown_total
from allotment.services.saxo.queries import KeyPage
from allotment.services.saxo.records import AllocationKey


def key_details(view: KeyView, company_id: int) -> dict[str, Any]:
    """Saxo's AllocationKeyDetails, in the seed's field order, then ErrorAccount, IsValid and
    our PartialFillPolicy; absent optional fields are left out."""
    key, accounts = view.key, view.accounts
    participants = []
    for participant in key.participants:
        account = accounts[participant.account_id]
        client_id, client_key = client_fields(account, view.clients, company_id)
        participants.append(
            {
                "AccountId": account.id,
                "AccountKey": account.account_key,
                "ClientId": client_id,
                "ClientKey": client_key,
                "Priority": participant.priority,
                "UnitValue": participant.unit_value,
                "AcceptRemainderAmount": participant.accepts_remainder,
            }
        )
    details: dict[str, Any] = {
        "AllocationUnitType": key.unit_type.value,
        "MarginHandling": key.margin_handling.value,
        "ParticipatingAccountsInfo": participants,
        "AllocationKeyId": str(key.id),
        "AllocationKeyName": key.name,
        "Status": key.status.value,
        "OwnerAccountKey": accounts[key.owner_account_id].account_key,
        "Participants": key.participant_count,
        "CreationTime": utc_text(key.created_at),
        "TotalUnitValues": shown_total(key.total_unit_values),
        "Uic": key.uic,
        "AssetType": key.asset_type,
        "BuySell": key.buy_sell,
        "ExternalReference": key.external_reference,
        "ErrorAccount": key.error_account_id,
        "IsValid": view.is_valid,
        "PartialFillPolicy": key.fill_policy.value,
    }
    return {name: value for name, value in details.items() if value is not None}


def key_summary(key: AllocationKey, page: KeyPage) -> dict[str, Any]:
    """Saxo's AllocationKeySummary."""
    summary: dict[str, Any] = {
        "AllocationKeyId": str(key.id),
        "AllocationKeyName": key.name,
        "AssetType": key.asset_type,
        "BuySell": key.buy_sell,
        "CreationTime": utc_text(key.created_at),
        "ExternalReference": key.external_reference,
        "IsValid": key.id not in page.invalid,
        "OwnerAccountKey": page.owner_keys.get(key.owner_account_id),
        "Participants": key.participant_count,
        "Status": key.status.value,
        "TotalUnitValues": shown_total(key.total_unit_values),
        "Uic": key.uic,
    }
    return {name: value for name, value in summary.items() if value is not None}


def account_row(row: AccountRow, legal_asset_types: tuple[str, ...]) -> dict[str, Any]:
    """Saxo's account: block trading accounts are the average accounts, the rest Normal."""
    account = row.account
    return {
        "AccountId": account.id,
        "AccountKey": account.account_key,
        "AccountType": "BlockTrading" if account.role is AccountRole.AVERAGE else "Normal",
        "Active": account.is_open,
        "ClientId": row.client_id,
        "ClientKey": row.client_key,
        "Currency": account.currency,
        "CurrencyDecimals": 2,
        "IsMarginTradingAllowed": account.type is not AccountType.CASH,
        "LegalAssetTypes": list(legal_asset_types),
    }
