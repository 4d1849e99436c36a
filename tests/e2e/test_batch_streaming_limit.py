"""A batch longer than the item limit is refused while it is being read: a 63 MB ETNA batch of
21,000,000 tiny items answers 413, and the serving process's memory grows by far less than the
body (one real server process, its peak resident memory read from /proc)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from allotment.bootstrap import build
from allotment.services import demo
from allotment.settings import Settings
from tests.conftest import SECRET

ALLOTMENT = Path(sys.executable).parent / "allotment"
ITEMS = 21_000_000
CHUNK_ITEMS = 21_000
PATH = "/v1.0/allocations/simple"


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, int]]:
    """`allotment serve` on a demo database, with the default limits (64 MiB bodies,
    100,000 items a batch); its address and process id."""
    path = tmp_path / "allotment.db"
    shutil.copy(sqlite_template, path)
    env = {
        **os.environ,
        "ALLOTMENT_DATABASE_URL": f"sqlite:///{path}",
        "ALLOTMENT_SECRET_KEY": SECRET,
        "ALLOTMENT_VAR_DIR": str(tmp_path / "var"),
        "ALLOTMENT_FAST_PASSWORD_HASHING": "true",
        "ALLOTMENT_LOG_LEVEL": "WARNING",
    }
    box = build(Settings(database_url=env["ALLOTMENT_DATABASE_URL"], secret_key=SECRET))
    with box.uow() as uow:
        demo.load(uow, box.hasher, box.clock.now())
        uow.commit()
    box.engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(ALLOTMENT), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert process.poll() is None, "allotment serve stopped"
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def _post_streaming(port: int, headers: dict[str, str]) -> tuple[bytes, int]:
    """POST the 63 MB batch, chunk by chunk, while reading the answer; the answer and how
    many bytes of the batch were sent."""
    chunk = b"{}," * CHUNK_ITEMS
    sent = 0
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)

    def send() -> None:
        nonlocal sent
        try:
            connection.sendall(
                f"POST {PATH} HTTP/1.1\r\nHost: allotment\r\nTransfer-Encoding: chunked\r\n"
                f"{head}\r\n".encode()
            )
            for index in range(ITEMS // CHUNK_ITEMS):
                piece = (b"[" if index == 0 else b"") + chunk
                connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            connection.sendall(b"2\r\n{}\r\n1\r\n]\r\n0\r\n\r\n")
        except OSError:
            return  # the server answered and closed the connection: the point of the test

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    while b"at most" not in answer and len(answer) < 65536:
        received = connection.recv(65536)
        if not received:
            break
        answer += received
    sender.join(timeout=60)
    connection.close()
    return answer, sent


def test_a_63_mb_batch_of_tiny_items_is_refused_while_read_with_bounded_memory(
    served: tuple[str, int],
) -> None:
    base, pid = served
    token = httpx.post(
        f"{base}/token",
        headers={"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"},
    ).json()["Token"]
    headers = {
        "Et-App-Key": "demo-app-key",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    # A batch that is read and parsed whole first, so that what the process loads once
    # (the parser, the booking path) counts in its start.
    warm = httpx.post(f"{base}{PATH}", content=b"[" + b"{}," * 999 + b"{}]", headers=headers)
    assert warm.status_code in (400, 409, 422), warm.text
    start = _memory_kib(pid, "VmRSS")

    answer, sent = _post_streaming(int(base.rsplit(":", 1)[1]), headers)

    assert sent > 60_000_000
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"at most 100000" in answer
    peak = _memory_kib(pid, "VmHWM")
    assert peak - start < 200 * 1024, f"peak {peak} KiB against {start} KiB at the start"
    assert httpx.get(f"{base}/health").status_code == 200
