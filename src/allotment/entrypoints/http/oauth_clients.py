"""Client authentication at the OAuth2 token endpoint (RFC 6749 §2.3.1), as IdentityServer's
`/connect/token` accepts it: `client_secret_basic` (HTTP Basic, the client id and secret each
form-urlencoded before they are joined by a colon and base64-encoded) and `client_secret_post`
(`client_id` and `client_secret` in the form).

A client uses one method per request (RFC 6749 §2.3): Basic credentials and a form `client_id`
naming another client are an `invalid_request`; a form repeating the Basic id (some libraries
send it with Basic) is accepted, a form secret that differs from the Basic one is not.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    basic: bool
    """True when they came in the Authorization header (a refusal then challenges Basic)."""


class ClientAuthenticationError(Exception):
    """The credentials cannot be used: `error` and `status` as RFC 6749 §5.2 gives them."""

    def __init__(self, error: str, status: int, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.status = status
        self.description = description


def client_credentials(
    authorization: str | None, form_id: str | None, form_secret: str | None
) -> ClientCredentials:
    """The client's id and secret, from the Basic header or the form (never both)."""
    basic = _basic(authorization)
    if basic is None:
        if not form_id:
            raise ClientAuthenticationError(
                "invalid_request",
                400,
                "client_id is required: send client_id and client_secret in the form, or as "
                "HTTP Basic credentials",
            )
        if form_secret is None:
            raise ClientAuthenticationError(
                "invalid_request", 400, "client_secret is required with client_id in the form"
            )
        return ClientCredentials(form_id, form_secret, basic=False)
    client_id, secret = basic
    if form_id and form_id != client_id:
        raise ClientAuthenticationError(
            "invalid_request",
            400,
            "the form's client_id is not the client of the Basic credentials: authenticate "
            "with one method",
        )
    if form_secret is not None and form_secret != secret:
        raise ClientAuthenticationError(
            "invalid_request",
            400,
            "a client_secret is given both in the form and as Basic credentials: authenticate "
            "with one method",
        )
    return ClientCredentials(client_id, secret, basic=True)


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    encoded_id, colon, encoded_secret = decoded.partition(":")
    if not colon or not encoded_id:
        raise ClientAuthenticationError(
            "invalid_client",
            401,
            "the Basic credentials cannot be read: base64 of client_id:client_secret expected",
        )
    return unquote_plus(encoded_id), unquote_plus(encoded_secret)
