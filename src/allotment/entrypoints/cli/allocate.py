"""`allotment allocate`: preview a split from the command line, with the same service (and
the same JSON) as `POST /api/v1/allocations/preview`; nothing is stored.

    allotment allocate --method Percentage --total 15 --participant A=10:accept --participant B=90
    allotment allocate --key 227 --total 1000 --fill 300@10.00 --fill 500@10.10 --fill 200@10.05
    allotment allocate --input request.json --json
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from allotment.bootstrap import build
from allotment.domain.errors import AllotmentError, Forbidden, InvalidInstruction, NotFound
from allotment.domain.identity import Principal, PrincipalKind, Scope
from allotment.entrypoints.preview_schemas import PreviewIn, PreviewOut, render, to_request
from allotment.services import preview as previews
from allotment.services.context import Context
from allotment.services.demo import COMPANY as DEMO_COMPANY
from allotment.services.ports import UnitOfWork

CLI_SUBJECT = "cli"
READ_ONLY = frozenset({Scope.READ})
PARTICIPANT_HELP = (
    "KEY=WEIGHT, then any of :accept :priority=N :min=QTY :max=QTY; repeatable "
    "(e.g. -p A=10:accept -p B=90). Leave =WEIGHT out for Equal, or for every participant "
    "of a NetLiquidation or AvailableEquity split to read the accounts' values from the "
    "ledger (KEY = account id)."
)
_FLAGS = {
    "priority": "priority",
    "p": "priority",
    "min": "minimum_quantity",
    "max": "maximum_quantity",
}


MethodOption = Annotated[
    str | None,
    typer.Option(
        "--method",
        "-m",
        help="Percentage, Unit, Ratio, Equal, NetLiquidation, AvailableEquity or Cash.",
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="A Saxo allocation key id of the company, instead of participants."),
]
PriceOption = Annotated[
    str | None,
    typer.Option(help="What Cash amounts buy at; prices the parts without fills."),
]
RateOption = Annotated[
    str | None, typer.Option("--commission-rate", help="Of the trade value: 0.05 is 5 %.")
]
PlacesOption = Annotated[
    int | None,
    typer.Option("--price-places", help="Places of the reported average price (default 4)."),
]
RoundingOption = Annotated[
    str | None,
    typer.Option("--price-rounding", help="Its rounding mode (default ROUND_HALF_UP)."),
]
InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input",
        help="A JSON file with the endpoint's request body, instead of the options above.",
        exists=True,
        dir_okay=False,
    ),
]
CompanyOption = Annotated[
    str, typer.Option(help="The company whose allocation keys and ledger are read.")
]


def allocate(
    method: MethodOption = None,
    total: str | None = typer.Option(None, "--total", "-t", help="The quantity to split."),
    participant: list[str] = typer.Option([], "--participant", "-p", help=PARTICIPANT_HELP),
    key: KeyOption = None,
    increment: str | None = typer.Option(None, help="Quantities are multiples of it."),
    round_lot: str | None = typer.Option(None, "--round-lot", help="Round lot."),
    minimum: str | None = typer.Option(None, "--minimum", help="Minimum quantity per account."),
    price: PriceOption = None,
    side: str | None = typer.Option(None, help="Buy or Sell, for net amounts (default Buy)."),
    fill: list[str] = typer.Option([], "--fill", help="QTY@PRICE, repeatable, in order."),
    fill_policy: str | None = typer.Option(None, "--fill-policy", help="ProRata or Priority."),
    commission_per_share: str | None = typer.Option(None, "--commission-per-share"),
    commission_rate: RateOption = None,
    commission_minimum: str | None = typer.Option(None, "--commission-minimum"),
    tax_rate: str | None = typer.Option(None, "--tax-rate", help="On the commission (GST)."),
    other_fees: str | None = typer.Option(None, "--other-fees", help="Flat, per allocation."),
    price_places: PlacesOption = None,
    price_rounding: RoundingOption = None,
    input_file: InputOption = None,
    as_json: bool = typer.Option(False, "--json", help="Print the endpoint's JSON answer."),
    company: CompanyOption = DEMO_COMPANY,
) -> None:
    """Preview how a total splits across participants (or an allocation key): quantities,
    remainder, average price and fees, and why each participant got what it got. Nothing
    is stored.

    Examples:

    allotment allocate --method Percentage --total 15 --participant A=10:accept -p B=90

    allotment allocate --key 227 --total 1000 --fill 300@10.00 --fill 500@10.10 --fill 200@10.05

    allotment allocate -m Ratio -t 100 -p A=1 -p B=2 --price 10 --commission-rate 0.01 --json

    allotment allocate --input request.json --json
    """
    given = dict(locals())  # the options by parameter name, before any other local exists
    body = _request(given)
    answer = _run(body, company)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        _print(answer)


REQUEST_FIELDS = {
    "method": "method",
    "total": "total",
    "key": "allocation_key_id",
    "increment": "increment",
    "round_lot": "round_lot",
    "minimum": "minimum_quantity",
    "price": "price",
    "side": "side",
    "fill_policy": "fill_policy",
    "price_places": "price_places",
    "price_rounding": "price_rounding",
}
"""The options that are fields of the endpoint's request, by parameter name."""
FEE_FIELDS = (
    "commission_per_share",
    "commission_rate",
    "commission_minimum",
    "tax_rate",
    "other_fees",
)


def _request(given: dict[str, Any]) -> PreviewIn:
    """The endpoint's request from the options: read from --input, or built from the rest."""
    options = {field: given[name] for name, field in REQUEST_FIELDS.items()}
    options = {field: value for field, value in options.items() if value is not None}
    fees = {name: given[name] for name in FEE_FIELDS if given[name] is not None}
    participant: list[str] = given["participant"]
    fill: list[str] = given["fill"]
    input_file: Path | None = given["input_file"]
    if input_file is not None:
        if options or fees or participant or fill:
            _fail_usage("--input takes the whole request; give no other request option")
        return _body_from_file(input_file)
    raw: dict[str, Any] = dict(options)
    if participant:
        raw["participants"] = [_participant(text) for text in participant]
    if fill:
        raw["fills"] = [_fill(text) for text in fill]
    if fees:
        raw["fees"] = fees
    return _validated(lambda: PreviewIn.model_validate(raw))


def _participant(text: str) -> dict[str, Any]:
    head, *flags = text.split(":")
    key, has_weight, weight = head.partition("=")
    if not key:
        raise typer.BadParameter(f"{text!r}: the participant needs a key", param_hint="-p")
    found: dict[str, Any] = {"key": key}
    if has_weight:
        found["weight"] = weight
    for flag in flags:
        name, has_value, value = flag.partition("=")
        if name in ("accept", "accepts") and not has_value:
            found["accepts_remainder"] = True
        elif name in _FLAGS and has_value:
            found[_FLAGS[name]] = value
        else:
            raise typer.BadParameter(
                f"{text!r}: unknown flag {flag!r} (accept, priority=N, min=QTY, max=QTY)",
                param_hint="--participant",
            )
    return found


def _fill(text: str) -> dict[str, str]:
    quantity, at, price = text.partition("@")
    if not at or not quantity or not price:
        raise typer.BadParameter(f"{text!r} is not QTY@PRICE", param_hint="--fill")
    return {"quantity": quantity, "price": price}


def _body_from_file(path: Path) -> PreviewIn:
    text = path.read_text(encoding="utf-8")
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"{path} is not JSON: {error}", 2)
    return _validated(lambda: PreviewIn.model_validate_json(text))


def _validated(parse: Callable[[], PreviewIn]) -> PreviewIn:
    """The body as the endpoint reads it; its validation errors in the endpoint's words."""
    try:
        return parse()
    except ValidationError as error:
        problems = [
            f"{'.'.join(map(str, item['loc'])) or 'body'}: "
            + str(item["msg"]).removeprefix("Value error, ")
            for item in error.errors()
        ]
        _fail("; ".join(problems), 2)


def _run(body: PreviewIn, company: str) -> PreviewOut:
    request = to_request(body)
    now = datetime.now(UTC)
    try:
        if not previews.needs_database(request):
            # Nothing stored is read: no database, and no company to act for.
            principal = Principal(0, CLI_SUBJECT, PrincipalKind.USER, READ_ONLY, None)
            return render(previews.preview(Context(principal, "cli", now), request))
        box = build()
        try:
            with box.uow(write=False) as uow:
                ctx = _company_context(uow, company, now)
                return render(previews.preview(ctx, request, uow))
        finally:
            box.engine.dispose()
    except AllotmentError as error:
        _fail(f"{error.code}: {error.message}", _exit_code(error))


def _company_context(uow: UnitOfWork, name: str, now: datetime) -> Context:
    found = uow.identity.company_by_name(name)
    if found is None:
        _fail(f"no company is named {name!r}", 3)
    principal = Principal(found.id, CLI_SUBJECT, PrincipalKind.USER, READ_ONLY, None)
    return Context(principal, "cli", now)


def _exit_code(error: AllotmentError) -> int:
    if isinstance(error, InvalidInstruction):
        return 2
    if isinstance(error, NotFound):
        return 3
    return 4 if isinstance(error, Forbidden) else 1


def _print(answer: PreviewOut) -> None:
    console = Console()
    table = Table(title=f"{answer.method.value} split of {answer.total}")
    for name in ("key", "weight", "target", "quantity", "deviation", "reason"):
        right = name not in ("key", "reason")
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for part, row in zip(answer.parts, answer.explanation.participants, strict=True):
        target = str(row.target)
        if "/" in row.target_exact:
            target += f" ({row.target_exact})"
        weight = "" if part.weight is None else str(part.weight)
        deviation = _signed(row.deviation_increments)
        table.add_row(part.key, weight, target, str(part.quantity), deviation, row.reason.value)
    console.print(table)
    if any(part.price is not None for part in answer.parts):
        console.print(_amounts_table(answer))
    for line in _summary(answer):
        console.print(line, highlight=False, soft_wrap=True)


def _amounts_table(answer: PreviewOut) -> Table:
    side = answer.side.value if answer.side is not None else ""
    table = Table(title=f"{side} amounts".strip())
    for name in ("key", "price", "trade value", "commission", "tax", "other fees", "net"):
        table.add_column(name, justify="left" if name == "key" else "right", overflow="fold")
    for part in answer.parts:
        amounts = (part.price, part.trade_value, part.commission, part.tax, part.other_fees)
        table.add_row(part.key, *map(_text, (*amounts, part.net_amount)))
    return table


def _summary(answer: PreviewOut) -> list[str]:
    lines = [f"allocated {answer.allocated}, remainder {answer.remainder}"]
    if answer.filled is not None:
        lines[0] += f" (of {answer.filled} filled)"
    if answer.average_price is not None:
        average = answer.average_price
        lines.append(
            f"average price {average.reported} (exact {average.exact}; "
            f"{average.places} places, {average.rounding})"
        )
        lines.append(f"cash residue {answer.cash_residue} (to the error account)")
    if answer.fees is not None:
        fees = answer.fees
        lines.append(
            f"{answer.side.value if answer.side else 'Buy'}: trade value {fees.trade_value}, "
            f"commission {fees.commission}, tax {fees.tax}, other fees {fees.other_fees}, "
            f"net {fees.net_amount}"
        )
    lines.append(
        f"targets at {answer.explanation.target_places} places, "
        f"{answer.explanation.target_rounding}; deviation in increments of {answer.increment}"
    )
    return lines


def _signed(text: str) -> str:
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _fail(message: str, code: int) -> NoReturn:
    line = f"[red]error:[/red] {escape(message)}"
    Console(stderr=True).print(line, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _fail_usage(message: str) -> NoReturn:
    raise typer.BadParameter(message, param_hint="--input")
