"""Rotating the signing secret: tokens are signed with the current secret only; tokens signed
with a previous one are accepted until they expire; a secret no longer listed is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from allotment.adapters.security import JwtTokenCodec
from allotment.domain.errors import Unauthorized
from allotment.services.ports import TokenClaims
from allotment.settings import Settings

OLD = "old-secret-0123456789-abcdefghijklmnopqr"
NEW = "new-secret-0123456789-abcdefghijklmnopqr"
OLDER = "older-secret-0123456789-abcdefghijklmno"


def _claims(minutes: int = 30) -> TokenClaims:
    return TokenClaims(
        company_id=7,
        subject="demo",
        kind="user",
        scopes=frozenset({"allocations-read"}),
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
    )


def test_a_token_signed_with_the_previous_secret_is_accepted_after_rotation() -> None:
    token = JwtTokenCodec(OLD).encode(_claims())

    claims = JwtTokenCodec(NEW, previous=[OLDER, OLD]).decode(token)

    assert claims.subject == "demo" and claims.company_id == 7


def test_new_tokens_are_signed_with_the_current_secret_only() -> None:
    token = JwtTokenCodec(NEW, previous=[OLD]).encode(_claims())

    assert JwtTokenCodec(NEW).decode(token).subject == "demo"
    with pytest.raises(Unauthorized, match="not valid"):
        JwtTokenCodec(OLD).decode(token)


def test_a_secret_dropped_from_the_previous_list_no_longer_signs_anything_accepted() -> None:
    token = JwtTokenCodec(OLD).encode(_claims())

    with pytest.raises(Unauthorized, match="not valid"):
        JwtTokenCodec(NEW).decode(token)


def test_an_expired_token_of_a_previous_secret_is_refused_as_expired() -> None:
    token = JwtTokenCodec(OLD).encode(_claims(minutes=-5))

    with pytest.raises(Unauthorized, match="expired"):
        JwtTokenCodec(NEW, previous=[OLD]).decode(token)


def test_previous_secrets_are_read_comma_separated_and_each_must_be_long() -> None:
    settings = Settings(secret_key=NEW, secret_keys_previous=f"{OLD}, {OLDER}")

    assert settings.previous_secrets() == [OLD, OLDER]
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(secret_key=NEW, secret_keys_previous=f"{OLD},short")
