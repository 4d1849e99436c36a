"""Configuration from the environment (ALLOTMENT_*), checked when it is read: a bad setting is
refused with one line that names it (`describe`), before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_SCHEMES = ("sqlite", "postgresql")
MIN_SECRET_LENGTH = 32
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOTMENT_", extra="ignore")

    database_url: str = ""
    """Default: a SQLite file under var_dir."""
    secret_key: SecretStr | None = None
    """Token signing secret; default: generated once and kept under var_dir."""
    var_dir: Path = Path("var")
    log_level: LogLevel = "INFO"
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_batch_items: int = Field(default=100_000, gt=0)
    max_page_size: int = Field(default=1000, gt=0)
    fast_password_hashing: bool = False
    """Cheap Argon2 parameters, for test suites only."""
    desk_session_idle_minutes: int = 30
    """The operations desk's session ends after this long without a request..."""
    desk_session_absolute_hours: int = 12
    """...and this long after the login, whatever its use."""
    keep_alive_seconds: int = Field(default=75, gt=0)
    """How long an idle HTTP connection stays open. Longer than a proxy's own idle timeout for
    its connections to the app (nginx's upstream keepalive_timeout, 60 s), so that the proxy,
    never the app, closes an idle one: a POST the proxy sends on a connection the app is closing
    at that instant is answered 502, and nginx does not resend a POST (decision 0050)."""
    idempotency_lease_seconds: int = Field(default=60, ge=5)
    """How long a claimed Idempotency-Key stays claimed without its request renewing it."""
    login_failures_per_minute: int = Field(default=10, gt=0)
    """Failed logins one user may have within a minute before the next is refused (429)."""
    login_failures_per_address_per_minute: int = Field(default=50, gt=0)
    """Failed logins from one address within a minute, whatever the user."""

    secret_keys_previous: SecretStr | None = None
    """Former signing secrets, comma-separated: tokens they signed are accepted until they
    expire; new tokens are signed with secret_key only (rotation, decision 0030)."""
    metrics_token: SecretStr | None = None
    """When set, /metrics answers only a request bearing it (Authorization: Bearer ...)."""
    metrics_networks: str = "127.0.0.0/8,::1/128"
    """Without a metrics token, /metrics answers only clients on these networks (CIDR, comma)."""
    otlp_endpoint: str | None = None
    """An OTLP/HTTP collector's base URL: when set (or OTEL_EXPORTER_OTLP_ENDPOINT), traces."""

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"the secret must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        import ipaddress

        for network in value.split(","):
            if network.strip():
                try:
                    ipaddress.ip_network(network.strip())
                except ValueError as error:
                    raise ValueError(f"not a network: {network.strip()!r}") from error
        return value

    @field_validator("secret_keys_previous", mode="before")
    @classmethod
    def _empty_previous_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("secret_keys_previous")
    @classmethod
    def _long_previous(cls, value: SecretStr | None) -> SecretStr | None:
        keys = value.get_secret_value().split(",") if value is not None else []
        if any(len(key.strip()) < MIN_SECRET_LENGTH for key in keys if key.strip()):
            raise ValueError(f"each secret must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as error:
            raise ValueError("not a database URL (e.g. postgresql://user@host/db)") from error
        if backend not in DATABASE_SCHEMES:
            raise ValueError(f"the database must be SQLite or PostgreSQL, not {backend}")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'allotment.db').resolve()}"

    def secret(self) -> str | None:
        return self.secret_key.get_secret_value() if self.secret_key else None

    def previous_secrets(self) -> list[str]:
        if self.secret_keys_previous is None:
            return []
        return [
            k.strip() for k in self.secret_keys_previous.get_secret_value().split(",") if k.strip()
        ]


def describe(error: ValidationError) -> str:
    """One line for a refused configuration: each bad setting by its variable, and why (never
    the value, which may be a secret)."""
    parts = []
    for item in error.errors():
        name = "_".join(str(part) for part in item.get("loc", ())).upper()
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"ALLOTMENT_{name}: {message}")
    return "invalid setting " + "; ".join(parts)
