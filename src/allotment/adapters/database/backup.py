"""A consistent copy of the database while it serves.

SQLite in WAL mode keeps recent writes in its -wal file: copying the .db file alone (or the two
files at slightly different moments) can give a copy that is missing them or is corrupt. SQLite's
online backup API copies pages under its own locks, so the copy is one consistent state even
while other processes write. PostgreSQL is copied by its own tool, pg_dump, in one snapshot."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


@dataclass(frozen=True)
class PgDump:
    """The pg_dump command for a database: its arguments (no password in them) and the
    environment that carries the password, if the URL had one."""

    argv: list[str]
    password: str | None

    def shown(self) -> str:
        prefix = "PGPASSWORD=... " if self.password else ""
        return prefix + shlex.join(self.argv)


def sqlite_backup(database_url: str, output: Path, progress: Callable[[int, int], None]) -> int:
    """Copy the SQLite database to `output` with the online backup API; the pages copied."""
    source_path = make_url(database_url).database
    if not source_path or source_path == ":memory:":
        raise ValueError("an in-memory database has nothing to back up")
    if not Path(source_path).exists():
        raise FileNotFoundError(f"no database at {source_path}")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(partial)
    pages = 0

    def step(status: int, remaining: int, total: int) -> None:
        nonlocal pages
        pages = total
        progress(total - remaining, total)

    try:
        with target:
            source.backup(target, pages=1024, progress=step)
    finally:
        target.close()
        source.close()
    partial.replace(output)
    return pages


def pg_dump_command(database_url: str, output: Path) -> PgDump:
    """pg_dump in its custom format (compressed, restorable with pg_restore, table by table)."""
    url = make_url(database_url)
    plain = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    )
    argv = [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        f"--file={output}",
        f"--dbname={plain.render_as_string(hide_password=False)}",
    ]
    return PgDump(argv, url.password if url.password else None)


def run_pg_dump(command: PgDump) -> None:
    """Run pg_dump (raises when it is missing or fails: its own message in the error)."""
    executable = shutil.which(command.argv[0])
    if executable is None:
        raise FileNotFoundError("pg_dump is not installed")
    env = dict(os.environ)
    if command.password:
        env["PGPASSWORD"] = command.password
    done = subprocess.run(
        [executable, *command.argv[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"pg_dump exited with {done.returncode}")
