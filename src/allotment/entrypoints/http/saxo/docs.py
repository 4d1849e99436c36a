"""What the Saxo dialect answers, for the OpenAPI document: the answer models (Saxo's
AllocationKeyDetails, AllocationKeySummary, account, distribution) and, for each route, every
status it can answer with Saxo's error body `{"ErrorCode", "Message", "ModelState"}`.

The routes write their answers themselves (`saxo_wire.encode`, so that decimals keep their
digits); these models only describe them. Fields the answer leaves out when they are empty are
optional here and never null; `additionalProperties: false` keeps the document from hiding a
field the answer has.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from allotment.entrypoints.http.errors import IDEMPOTENCY_KEY

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
"""A decimal written as a JSON number from its own digits."""
Time = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Omitted = SkipJsonSchema[None]
"""With `absent()`: a field the answer leaves out (never null)."""
Status = Literal["Active", "DeactivateAfterOrderPlacement", "Inactive", "OneTime"]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent() -> Any:
    """A field the answer leaves out rather than writing null."""
    return Field(default=None, json_schema_extra=_no_default)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TradingError(Answer):
    """Saxo's trade v2 orders' error: a TradingErrorCode (IllegalAccount, IllegalInstrumentId,
    AllocationKeyNotFound, AllocationKeyDoesNotMatchAccount, AmountLowerThanAllocationKeyUnits,
    OrderNotFound, TooLateToCancelOrder, ...) and its message."""

    ErrorCode: str = Field(examples=["AllocationKeyNotFound"])
    Message: str


class SaxoError(Answer):
    """Saxo's error body. ModelState names each invalid field (`ParticipatingAccountsInfo[1]
    .UnitValue` style) with its messages; it is left out when no field is to blame."""

    ErrorCode: str = Field(
        examples=["InvalidModelState", "DomainValidationError", "AllocationKeyNotFound"]
    )
    Message: str
    ModelState: dict[str, list[str]] | Omitted = absent()
    ErrorInfo: TradingError | Omitted = absent()


class AllocationKeyCreated(Answer):
    AllocationKeyId: str = Field(examples=["227"])


class OrderPlaced(Answer):
    OrderId: str


class ParticipantView(Answer):
    """Saxo's AllocationKeyAccountInfoView."""

    AccountId: str
    AccountKey: str
    ClientId: str
    ClientKey: str
    Priority: int
    UnitValue: Number
    AcceptRemainderAmount: bool


class AllocationKeyDetails(Answer):
    """Saxo's AllocationKeyDetails (the seed's answer), then ErrorAccount, IsValid and
    PartialFillPolicy."""

    AllocationUnitType: Literal["Percentage", "Unit", "CashAmount"]
    MarginHandling: Literal["Reduce", "Reject"]
    ParticipatingAccountsInfo: list[ParticipantView]
    AllocationKeyId: str
    AllocationKeyName: str
    Status: Status
    OwnerAccountKey: str
    Participants: int
    CreationTime: Time
    TotalUnitValues: Number
    Uic: int | Omitted = absent()
    AssetType: str | Omitted = absent()
    BuySell: Literal["Buy", "Sell"] | Omitted = absent()
    ExternalReference: str | Omitted = absent()
    ErrorAccount: str
    IsValid: bool
    PartialFillPolicy: Literal["ProRata", "Priority"]


class AllocationKeySummary(Answer):
    AllocationKeyId: str
    AllocationKeyName: str
    AssetType: str | Omitted = absent()
    BuySell: Literal["Buy", "Sell"] | Omitted = absent()
    CreationTime: Time
    ExternalReference: str | Omitted = absent()
    IsValid: bool
    OwnerAccountKey: str | Omitted = absent()
    Participants: int
    Status: Status
    TotalUnitValues: Number
    Uic: int | Omitted = absent()


class AllocationKeyList(Answer):
    count: int = Field(alias="__count")
    next: str | Omitted = Field(
        default=None,
        alias="__next",
        description="The next page's path and query, while there is one.",
        json_schema_extra=_no_default,
    )
    Data: list[AllocationKeySummary]
    MaxRows: int


class SubClientInfo(Answer):
    AccountId: str
    Amount: Number
    MultiLegAmount: Number


class Distribution(Answer):
    Remainder: Number
    SubClientsInfo: list[SubClientInfo]


class AccountView(Answer):
    AccountId: str
    AccountKey: str
    AccountType: Literal["BlockTrading", "Normal"]
    Active: bool
    ClientId: str
    ClientKey: str
    Currency: str
    CurrencyDecimals: int
    IsMarginTradingAllowed: bool
    LegalAssetTypes: list[str]


class AccountList(Answer):
    count: int = Field(alias="__count")
    next: str | Omitted = Field(
        default=None,
        alias="__next",
        description="The next page's path and query, while there is one.",
        json_schema_extra=_no_default,
    )
    Data: list[AccountView]


class PrecheckResult(Answer):
    """Saxo's precheck answer: PreCheckResult Ok (the order can be placed) or Error with
    ErrorInfo; the cash estimate when the order names an OrderPrice."""

    PreCheckResult: Literal["Ok", "Error"]
    ErrorInfo: TradingError | Omitted = absent()
    EstimatedCashRequired: Number | Omitted = absent()
    EstimatedCashRequiredCurrency: str | Omitted = absent()


class OpenOrderView(Answer):
    """An open block order as Saxo's portfolio service shows it."""

    AccountId: str
    AccountKey: str
    AllocationKeyId: str
    Amount: Number
    AssetType: str
    BuySell: Literal["Buy", "Sell"]
    ClientKey: str
    ExternalReference: str | Omitted = absent()
    FilledAmount: Number
    OpenOrderType: str
    OrderAmountType: Literal["Quantity"]
    OrderId: str
    OrderTime: Time
    Status: Literal["Working"]
    Uic: int


class OpenOrderList(Answer):
    count: int = Field(alias="__count")
    Data: list[OpenOrderView]


class CancelledOrder(Answer):
    OrderId: str


class CancelledOrders(Answer):
    Orders: list[CancelledOrder]


class UserView(Answer):
    """Saxo's user details (GET /port/v1/users/me)."""

    ClientKey: str
    Culture: str
    Language: str
    LastLoginStatus: Literal["Successful"] | Omitted = absent()
    LastLoginTime: Time | Omitted = absent()
    LegalAssetTypes: list[str]
    MarketDataViaOpenApiTermsAccepted: bool
    Name: str
    UserId: str
    UserKey: str


class ClientView(Answer):
    """Saxo's client details (GET /port/v1/clients/me)."""

    ClientId: str
    ClientKey: str
    CurrencyDecimals: int
    DefaultAccountId: str | Omitted = absent()
    DefaultAccountKey: str | Omitted = absent()
    DefaultCurrency: str
    IsMarginTradingAllowed: bool
    LegalAssetTypes: list[str]
    Name: str


ERRORS: dict[int, str] = {
    400: "Invalid request (ErrorCode InvalidModelState, ModelState says which field; "
    "InvalidRequest) or a broken rule (DomainValidationError, "
    "AllocationKeyDoesNotMatchAccount, ...)",
    401: "No valid credentials (ErrorCode Unauthorized)",
    403: "Without the needed scope, or not permitted for a client (ErrorCode Forbidden)",
    404: "No such object (AllocationKeyNotFound, NotFound)",
    409: "Conflict, or a request with the same Idempotency-Key still running",
    413: "The body is over the size limit",
    422: "The Idempotency-Key was used for another request (IdempotencyKeyReused)",
}
WRITE_ERRORS = (400, 409, 413, 422)
"""What every write may answer besides its own errors (the Idempotency-Key and body size
middleware: a malformed key is a 400, one still in use a 409, one reused a 422)."""
IDEMPOTENT: dict[str, Any] = {"parameters": [IDEMPOTENCY_KEY]}
"""A write's `openapi_extra`: the Idempotency-Key header it accepts."""


def responses(
    status: int, model: type[BaseModel] | None, description: str, *errors: int, write: bool
) -> dict[int | str, dict[str, Any]]:
    """The route's answers: `status` with `model` (None: no body), and Saxo's error body for
    each of `errors` (and for what every write may answer)."""
    answers: dict[int | str, dict[str, Any]] = {status: {"description": description}}
    if model is not None:
        answers[status]["model"] = model
    for code in sorted({*errors, *(WRITE_ERRORS if write else ())}):
        answers[code] = {"model": SaxoError, "description": ERRORS[code]}
    return answers


KEY_EXAMPLE: dict[str, Any] = {
    "AllocationKeyName": "MyAllocation_Key",
    "AllocationUnitType": "Percentage",
    "MarginHandling": "Reduce",
    "OneTime": False,
    "OwnerAccountKey": "LZTc7DdejXODf-WSl2aCyQ==",
    "ParticipatingAccountsInfo": [
        {
            "AccountKey": "Hk9Jw0lYxXO7qcBuZMR1bQ==",
            "Priority": 1,
            "UnitValue": 10,
            "AcceptRemainderAmount": True,
        },
        {
            "AccountKey": "W1Y2v3E4R5t6y7U8i9O0pA==",
            "Priority": 1,
            "UnitValue": 90,
            "AcceptRemainderAmount": False,
        },
    ],
    "Uic": 4361,
    "AssetType": "CfdOnStock",
    "BuySell": "Buy",
    "ExternalReference": "Order123",
}
"""The seed's key 227 as a create request (the demo's accounts)."""
ORDER_EXAMPLE: dict[str, Any] = {
    "AccountKey": "LZTc7DdejXODf-WSl2aCyQ==",
    "Uic": 4361,
    "AssetType": "CfdOnStock",
    "BuySell": "Buy",
    "Amount": 1000,
    "OrderType": "Market",
    "ManualOrder": False,
    "OrderDuration": {"DurationType": "DayOrder"},
    "AllocationKeyId": "227",
}
"""A block order of 1,000 on the demo's key 227."""
