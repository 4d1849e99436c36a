"""Saxo allocation keys on the desk: the company's keys, a new key (Saxo's rules, checked by
the same service as `POST /trade/v1/allocationkeys`, its errors beside the fields), and
deactivating one (as Saxo's DELETE does)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from allotment.domain.errors import AllotmentError, InvalidInstruction
from allotment.entrypoints.http.errors import status_for
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Reader, Writer
from allotment.services.saxo import keys as saxo
from allotment.services.saxo import queries as saxo_queries
from allotment.services.saxo.records import KeyStatus, MarginHandling, UnitType

router = APIRouter(prefix=f"{PREFIX}/keys", include_in_schema=False)
ROWS = 6
FIELDS = {
    "OwnerAccountKey": "owner",
    "ParticipatingAccountsInfo": "participants",
    "ExternalReference": "name",
}
"""The service's field names, and the form's fields they are shown beside."""


def _values(found: Reader, form: dict[str, str], error: AllotmentError | None) -> dict[str, Any]:
    with found.box.uow(write=False) as uow:
        keys = saxo_queries.list_keys(
            uow,
            found.ctx,
            saxo_queries.KeyFilter(statuses=frozenset({KeyStatus.ACTIVE, KeyStatus.ONE_TIME})),
        )
        owners = [
            account
            for account in uow.accounts.accounts_of_role(found.ctx.company_id, "average")
            if account.is_open
        ]
    named = str(error.facts.get("field", "")).split("[", 1)[0] if error else ""
    field = FIELDS.get(named)
    return {
        "user": found,
        "keys": keys.keys,
        "invalid": keys.invalid,
        "owners": owners,
        "unit_types": [u.value for u in UnitType],
        "margins": [m.value for m in MarginHandling],
        "rows": range(ROWS),
        "form": form,
        "error": str(error) if error else None,
        "error_field": field or ("form" if error else None),
    }


@router.get("")
def keys(request: Request, found: Reader) -> Response:
    values = _values(found, {}, None)
    values["created"] = request.query_params.get("created")
    values["deactivated"] = request.query_params.get("deactivated")
    return page(request, "keys.html", values)


def _participants(form: FormData) -> list[saxo.ParticipantDraft]:
    found = []
    for row in range(ROWS):
        account = str(form.get(f"account-{row}", "") or "").strip()
        value = str(form.get(f"value-{row}", "") or "").strip()
        if not account and not value:
            continue
        try:
            unit_value = Decimal(value)
        except InvalidOperation as error:
            raise InvalidInstruction(
                f"the unit value of row {row + 1} must be a number",
                field="ParticipatingAccountsInfo",
            ) from error
        remainder = form.get(f"remainder-{row}") == "yes"
        found.append(saxo.ParticipantDraft(unit_value, 1, remainder, account_id=account))
    return found


@router.post("")
async def create(request: Request, found: Writer) -> Response:
    form = await request.form()
    echo = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}
    try:
        unit_type = UnitType(str(form.get("unit_type", "")))
        margin = MarginHandling(str(form.get("margin_handling", "")))
        draft = saxo.KeyDraft(
            name=str(form.get("name", "") or "").strip(),
            unit_type=unit_type,
            margin_handling=margin,
            one_time=False,
            owner_account_key=str(form.get("owner", "") or ""),
            participants=_participants(form),
        )
        with found.box.uow() as uow:
            key = saxo.create_key(uow, found.ctx, draft)
            uow.commit()
    except ValueError:
        error = InvalidInstruction("choose a unit type and a margin handling")
        return page(request, "keys.html", _values(found, echo, error), 422)
    except AllotmentError as refused:
        return page(request, "keys.html", _values(found, echo, refused), status_for(refused))
    return RedirectResponse(f"{PREFIX}/keys?created={key.id}", status_code=303)


@router.post("/{key_id}/deactivate")
def deactivate(key_id: str, found: Writer) -> Response:
    with found.box.uow() as uow:
        saxo.delete_key(uow, found.ctx, key_id)
        uow.commit()
    return RedirectResponse(f"{PREFIX}/keys?deactivated={key_id}", status_code=303)
