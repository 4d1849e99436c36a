"""Time-based one-time codes (TOTP, RFC 6238) for two-factor authentication, by pyotp."""

from __future__ import annotations

from datetime import datetime

import pyotp
from pyotp.exceptions import OTPVerificationError

DRIFT_STEPS = 1
"""A code of the 30-second step before or after the server's is accepted too (RFC 6238 §5.2
allows one step of clock drift between the authenticator and the server)."""
CODE_DIGITS = 6


class TotpCodes:
    """Six digits every 30 seconds from HMAC-SHA1: what authenticator apps read from the
    `otpauth://` URI they are given."""

    def new_secret(self) -> str:
        return pyotp.random_base32()  # 32 base32 characters: a 160-bit secret (RFC 4226 §4)

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step `code` belongs to (within the drift), or None when it is no code of
        this secret near `at`."""
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            return None
        try:
            return pyotp.TOTP(secret).verify_and_get_timecode(
                code, for_time=at, valid_window=DRIFT_STEPS
            )
        except OTPVerificationError:
            return None

    def code_at(self, secret: str, at: datetime) -> str:
        """The code of `at`'s time step (what the user's authenticator shows)."""
        return pyotp.TOTP(secret).at(at)
