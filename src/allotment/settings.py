"""Configuration from the environment (ALLOTMENT_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOTMENT_", extra="ignore")

    database_url: str = ""
    """Default: a SQLite file under var_dir."""
    secret_key: str = ""
    """Token signing secret; default: generated once and kept under var_dir."""
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    max_body_bytes: int = 64 * 1024 * 1024
    max_batch_items: int = 100_000
    max_page_size: int = 1000
    fast_password_hashing: bool = False
    desk_session_idle_minutes: int = 30
    """The operations desk's session ends after this long without a request..."""
    desk_session_absolute_hours: int = 12
    """...and this long after the login, whatever its use."""
    """Cheap Argon2 parameters, for test suites only."""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'allotment.db').resolve()}"
