"""`allotment serve --demo` as a real process on a free 127.0.0.1 port, for the tests that need a
served app (a browser, a vendor's client library), and the flags Debian's Chromium runs with.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ALLOTMENT = Path(sys.executable).parent / "allotment"
LOCAL = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
"""Without the background-networking flags Chromium keeps asking hosts a closed network refuses."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCAL, 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def served_demo(var_dir: Path, **settings: str) -> Iterator[str]:
    """The base URL of `allotment serve --demo` on its own SQLite file under `var_dir`, with
    `settings` as extra ALLOTMENT_* variables (e.g. FAST_PASSWORD_HASHING="true"); stopped when
    the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "ALLOTMENT_VAR_DIR": str(var_dir),
        "ALLOTMENT_LOG_LEVEL": "WARNING",
        **{f"ALLOTMENT_{name}": value for name, value in settings.items()},
    }
    env.pop("ALLOTMENT_DATABASE_URL", None)
    env.pop("ALLOTMENT_SECRET_KEY", None)
    process = subprocess.Popen(
        [str(ALLOTMENT), "serve", "--demo", "--host", LOCAL, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://{LOCAL}:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert process.poll() is None, "allotment serve --demo stopped"
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
