"""The one place that wires settings -> engine -> unit of work -> services' ports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from allotment.adapters import logging as json_logs
from allotment.adapters import metrics
from allotment.adapters.clock import SystemClock
from allotment.adapters.database import schema  # noqa: F401  (every capability's tables)
from allotment.adapters.database.engine import make_engine
from allotment.adapters.database.migrate import is_current, upgrade
from allotment.adapters.database.uow import SqlUnitOfWorkFactory
from allotment.adapters.security import Argon2PasswordHasher, JwtTokenCodec, load_or_create_secret
from allotment.services.blocks import FillListener
from allotment.services.ports import Clock, PasswordHasher, TokenCodec, UnitOfWorkFactory
from allotment.services.saxo import orders as saxo_orders
from allotment.settings import Settings


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    tokens: TokenCodec
    clock: Clock
    fill_listeners: tuple[FillListener, ...]
    """What allocates a block's fills as they arrive, handed to every entry point adding fills."""


def build(settings: Settings | None = None) -> Container:
    settings = settings or Settings()
    json_logs.configure(settings.log_level)
    engine = make_engine(settings.resolved_database_url())
    metrics.instrument(engine)
    secret = settings.secret() or load_or_create_secret(settings.var_dir / "secret_key")
    return Container(
        settings=settings,
        engine=engine,
        uow=SqlUnitOfWorkFactory(engine),
        hasher=Argon2PasswordHasher(fast=settings.fast_password_hashing),
        tokens=JwtTokenCodec(secret, settings.previous_secrets()),
        clock=SystemClock(),
        fill_listeners=(saxo_orders.allocates_fills,),
    )


def migrate(container: Container) -> None:
    upgrade(container.engine)


def schema_is_current(container: Container) -> bool:
    """Is the database at the schema this version expects? (`allotment db upgrade` brings it.)"""
    return is_current(container.engine)
