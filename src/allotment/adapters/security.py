"""Password hashing (Argon2id) and signed, expiring tokens (JWT, HS256)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from allotment.domain.errors import Unauthorized
from allotment.services.ports import TokenClaims

ISSUER = "allotment"
COMPANY = "cmp"
"""The company's id. Tokens issued before `cid` became Saxo's ClientKey carried it as `cid`."""
SAXO_CLAIMS = ("cid", "uid")


class Argon2PasswordHasher:
    def __init__(self, *, fast: bool = False) -> None:
        # Tests may ask for cheap parameters; production keeps argon2-cffi's defaults.
        self._argon = Argon2(time_cost=1, memory_cost=8, parallelism=1) if fast else Argon2()

    def hash(self, secret: str) -> str:
        return self._argon.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        try:
            return self._argon.verify(hashed, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class JwtTokenCodec:
    """Signs with `secret_key`; verifies with it and then with each of `previous` (a rotated
    secret's tokens stay good until they expire)."""

    def __init__(self, secret_key: str, previous: Sequence[str] = ()) -> None:
        if any(len(key) < 32 for key in (secret_key, *previous)):
            raise ValueError("the token signing secret must be at least 32 characters")
        self._key = secret_key
        self._keys = (secret_key, *previous)

    def encode(self, claims: TokenClaims) -> str:
        payload = {
            "iss": ISSUER,
            "sub": claims.subject,
            COMPANY: claims.company_id,
            "knd": claims.kind,
            "scope": " ".join(sorted(claims.scopes)),
            "iat": int(datetime.now(UTC).timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        # Saxo's tokens carry the caller's ClientKey as `cid` and its UserKey as `uid` (Saxo's
        # samples read them); they are added when the issuer names them.
        payload.update(
            {name: str(claims.extra[name]) for name in SAXO_CLAIMS if name in claims.extra}
        )
        return jwt.encode(payload, self._key, algorithm="HS256")

    def _verified(self, token: str) -> dict[str, Any]:
        for key in self._keys[:-1]:
            try:
                return self._payload(token, key)
            except jwt.InvalidSignatureError:
                continue
        return self._payload(token, self._keys[-1])

    @staticmethod
    def _payload(token: str, key: str) -> dict[str, Any]:
        return jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )

    def decode(self, token: str) -> TokenClaims:
        try:
            payload = self._verified(token)
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("the token has expired") from error
        except jwt.PyJWTError as error:
            raise Unauthorized("the token is not valid") from error
        try:
            return TokenClaims(
                company_id=_company_of(payload),
                subject=str(payload["sub"]),
                kind=str(payload["knd"]),
                scopes=frozenset(str(payload.get("scope", "")).split()),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
                extra=_extra_of(payload),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise Unauthorized("the token is not valid") from error


def _company_of(payload: dict[str, Any]) -> int:
    """The company claim; a token issued before it moved to `cmp` had it (an int) in `cid`."""
    if COMPANY in payload:
        return int(payload[COMPANY])
    return int(payload["cid"])


def _extra_of(payload: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {
        name: payload[name]
        for name in SAXO_CLAIMS
        if isinstance(payload.get(name), str) and COMPANY in payload
    }
    if isinstance(payload.get("iat"), int):
        extra["issued_at"] = datetime.fromtimestamp(payload["iat"], UTC)
    return extra


def load_or_create_secret(path: Path) -> str:
    """The signing secret kept under ./var, generated once (never a constant in the code)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
