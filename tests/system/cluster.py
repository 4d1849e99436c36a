"""A small production on one machine, for the system test: a private PostgreSQL cluster (Debian's
PostgreSQL 15 binaries, in a temporary directory, on a free port: never the machine's shared
server), several `allotment serve` processes and nginx in front of them (Debian's nginx)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ALLOTMENT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "allotment"


def missing() -> str | None:
    """Why the cluster cannot be built here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15's binaries are not installed ({PG_BIN})"
    if not Path(NGINX).exists():
        return "nginx is not installed (make test installs Debian's nginx where it can)"
    if not ALLOTMENT.exists():
        return "the allotment command is not installed in .venv"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to run initdb as the postgres user"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PrivatePostgres:
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/allotment"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"],
            timeout=120,
        )
        self.start()
        self._run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "allotment",
            ],
            timeout=30,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "postgres.log"),
                "-w",
                "start",
            ],
            timeout=60,
        )

    def stop(self) -> None:
        self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
            timeout=60,
            check=False,
        )

    def _run(self, argv: list[str], timeout: int, check: bool = True) -> None:
        done = subprocess.run(
            _as_postgres(argv), timeout=timeout, capture_output=True, text=True, cwd=self.root
        )
        if check and done.returncode != 0:
            log = self.root / "postgres.log"
            tail = log.read_text()[-800:] if log.exists() else ""
            message = done.stderr.strip() or done.stdout.strip()
            raise RuntimeError(f"{argv[0]} failed: {message}\n{tail}")


@dataclass
class App:
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(ALLOTMENT), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_healthy(self, seconds: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"allotment on port {self.port} did not become healthy")


NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream allotment {{
{servers}
        keepalive 16;
        keepalive_timeout 60s;
    }}
    map $http_x_request_id $allotment_request_id {{
        default $http_x_request_id;
        ""      $request_id;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 2m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Request-ID $allotment_request_id;
        proxy_next_upstream error timeout;
        location = /metrics {{ deny all; }}
        location / {{ proxy_pass http://allotment; }}
    }}
}}
"""


@dataclass
class Nginx:
    root: Path
    upstreams: list[int]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
            for port in self.upstreams
        )
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.root / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(user=user, root=self.root, servers=servers, port=self.port)
        )
        self.process = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("nginx did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
