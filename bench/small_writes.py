"""Benchmark: small writes. Single-item ETNA PUTs (`PUT /v1.0/allocations/simple`, one share out
of the demo's average account 6687) and native deposits (`POST /api/v1/ledger/deposits` into the
same account), alternating, each with its own Idempotency-Key, from several concurrent clients
on kept-alive connections, against `allotment serve --workers N` on PostgreSQL (or three `serve`
processes behind nginx). Prints requests/s, p50 and p99 latency, the server's CPU per request
(the app processes and PostgreSQL's backends), and a kept-alive `GET /health`'s p50.

    python bench/small_writes.py [--clients 4] [--workers 2] [--seconds 30] [--via-proxy]
                                 [--baseline-dir OTHER_CHECKOUT] [--rounds 3]
    python bench/small_writes.py --in-process 1500 [--baseline-dir OTHER_CHECKOUT] [--rounds 3]

With --baseline-dir the same bench runs against another checkout's `.venv/bin/allotment`,
alternating with this one (--rounds times each), and prints both sides' medians and the ratio.
Every run gets a database of its own (`allotment demo` of the side that serves it), and ends with
`allotment ledger check`. PostgreSQL is ALLOTMENT_BENCH_POSTGRES_URL (or
ALLOTMENT_TEST_POSTGRES_URL); without one the bench runs one worker on SQLite.

--in-process N measures what the server spends on each request without a server or a second
client: the same requests, one at a time, handed straight to the ASGI application in this
process (each checkout's own, run by its own Python), and the process's CPU time per request
(the app's share alone, PostgreSQL's left out). On a host shared with other work it is the
steadier figure: it does not depend on how the host schedules the workers and the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
from tests.system import cluster  # noqa: E402  (the system test's nginx, reused)

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
AVERAGE, CLIENT = "6687", "6688"
APP_KEY = "demo-app-key"
SHARES = "10000000"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--via-proxy", action="store_true", help="three serve processes + nginx")
    parser.add_argument("--baseline-dir", type=Path, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side, alternating")
    parser.add_argument("--in-process", type=int, metavar="N", help="N requests, in process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
        "ALLOTMENT_TEST_POSTGRES_URL"
    )
    if args.in_process:
        in_process(args, admin_url)
        return
    if args.via_proxy and (not admin_url or cluster.missing()):
        print(f"--via-proxy: skipped ({cluster.missing() or 'set ALLOTMENT_BENCH_POSTGRES_URL'})")
        return
    sides = [("this", HERE)] + ([("baseline", args.baseline_dir)] if args.baseline_dir else [])
    results: dict[str, list[Result]] = {name: [] for name, _ in sides}
    for round_ in range(args.rounds):
        for name, checkout in sides:
            result = run(checkout, admin_url, args)
            results[name].append(result)
            print(f"round {round_ + 1} {name:<8} {result.line()}", flush=True)
    workers = args.workers if admin_url else 1
    mode = "3 hosts behind nginx" if args.via_proxy else f"--workers {workers}"
    backend = "PostgreSQL" if admin_url else "SQLite (one worker)"
    print()
    print(f"small writes, {args.clients} clients, {mode}, {backend}, {args.seconds:g} s each:")
    for name, _ in sides:
        print(f"  {name:<8} median of {len(results[name])}: {Result.median(results[name]).line()}")
    if args.baseline_dir:
        ours, theirs = (Result.median(results[name]) for name, _ in sides)
        print(f"  ratio    {ours.rate / theirs.rate:.1f}x the requests per second of the baseline")


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    failures: dict[int, int]
    app_cpu: float
    db_cpu: float
    health_p50: float
    health_one_worker: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    def line(self) -> str:
        failed = f" | FAILED {self.failures}" if self.failures else ""
        per = 1000 / max(self.requests, 1)
        p50, p99 = self.pct(0.5), self.pct(0.99)
        one = "" if self.health_one_worker is None else f" (1 worker {self.health_one_worker:.1f})"
        return (
            f"{self.rate:7,.0f} requests/s | p50 {p50:6.1f} ms | p99 {p99:6.1f} ms"
            f" | server CPU/request app {self.app_cpu * per:5.2f} ms + db"
            f" {self.db_cpu * per:5.2f} ms | kept-alive GET /health p50 {self.health_p50:5.1f} ms"
            f"{one}{failed}"
        )

    @staticmethod
    def median(runs: list[Result]) -> Result:
        """The run of median rate (its latencies and CPU are that run's own)."""
        return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


# One run: a database, the servers, the load --------------------------------------------------
def demo_database(
    stack: ExitStack, allotment: Path, admin_url: str | None
) -> tuple[Path, str, dict[str, str]]:
    """A database of the run's own (PostgreSQL when a server is named, else a SQLite file in a
    temporary folder) with the demo loaded: the folder, the database's URL and the environment
    that serves it."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="small-writes-")))
    if admin_url:
        url = stack.enter_context(postgres_database(admin_url))
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    env = {
        **os.environ,
        "ALLOTMENT_DATABASE_URL": url,
        "ALLOTMENT_SECRET_KEY": SECRET,
        "ALLOTMENT_VAR_DIR": str(folder / "var"),
        "ALLOTMENT_LOG_LEVEL": "WARNING",
        "ALLOTMENT_FAST_PASSWORD_HASHING": "true",
    }
    subprocess.run([str(allotment), "demo"], env=env, check=True, capture_output=True)
    return folder, url, env


def run(checkout: Path, admin_url: str | None, args: argparse.Namespace) -> Result:
    allotment = checkout / ".venv" / "bin" / "allotment"
    with ExitStack() as stack:
        folder, url, env = demo_database(stack, allotment, admin_url)
        workers = args.workers if admin_url else 1
        if args.via_proxy:
            ports = [cluster.free_port() for _ in range(3)]
            servers = [stack.enter_context(served(allotment, env, p, 1, folder)) for p in ports]
            proxy = cluster.Nginx(folder / "nginx", ports)
            proxy.start()
            stack.callback(proxy.stop)
            base = f"http://127.0.0.1:{proxy.port}"
        else:
            port = cluster.free_port()
            servers = [stack.enter_context(served(allotment, env, port, workers, folder))]
            base = f"http://127.0.0.1:{port}"
        headers = prepare(base)
        result = asyncio.run(load(base, headers, args.clients, args.seconds, servers, url))
        if workers > 1 and not args.via_proxy:
            result.health_one_worker = one_worker_health(allotment, env, folder)
        check = subprocess.run(
            [str(allotment), "ledger", "check"], env=env, capture_output=True, text=True
        )
        if check.returncode != 0:
            raise SystemExit(f"ledger check failed after the run: {check.stdout}{check.stderr}")
        return result


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"allotment_small_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served(
    allotment: Path, env: dict[str, str], port: int, workers: int, folder: Path
) -> Iterator[int]:
    """`allotment serve` on `port`; yields its process id."""
    command = serve_command(allotment, port, workers)
    log_file = folder / f"serve-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 300  # a busy host takes minutes to start workers
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start: {log_file.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


BASELINE_SERVE = """
import sys, uvicorn
host, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
uvicorn.run("allotment.entrypoints.http.asgi:app", host=host, port=port, workers=workers,
            log_level="warning", access_log=False, timeout_worker_healthcheck=300)
"""
"""What the version before decision 0037 ran for `serve` (after its schema check), with a longer
health check: its 5 s one kills workers that a busy host takes longer to start, endlessly."""


def serve_command(allotment: Path, port: int, workers: int) -> list[str]:
    """`allotment serve` of a checkout that has it as decision 0037 left it (its own connection
    protocol), else what the version before ran."""
    checkout = allotment.resolve().parents[2]
    own_serve = (checkout / "src" / "allotment" / "entrypoints" / "transport.py").exists()
    if checkout == HERE or own_serve or workers == 1:
        command = [str(allotment), "serve", "--host", "127.0.0.1", "--port", str(port)]
        return [*command, "--workers", str(workers)] if workers > 1 else command
    python = allotment.parent / "python"
    return [str(python), "-c", BASELINE_SERVE, "127.0.0.1", str(port), str(workers)]


def one_worker_health(allotment: Path, env: dict[str, str], folder: Path) -> float:
    """The kept-alive `GET /health` p50 of one worker on the same database, for comparison."""
    port = cluster.free_port()
    with served(allotment, env, port, 1, folder):
        return asyncio.run(health_p50(f"http://127.0.0.1:{port}"))


def prepare(base: str) -> dict[str, str]:
    """Log in as the demo user; give the average account shares and the client account cash
    for every request the run can make."""
    with httpx.Client(base_url=base, timeout=60) as client:
        login = {"Username": "demo", "Password": "demo", "Et-App-Key": APP_KEY}
        token = client.post("/token", headers=login).json()["Token"]
        headers = {"Authorization": f"Bearer {token}", "Et-App-Key": APP_KEY}
        for path, body in (
            (
                "/api/v1/ledger/opening-positions",
                {"account_id": AVERAGE, "symbol": "AAPL", "quantity": SHARES, "price": "135.89"},
            ),
            ("/api/v1/ledger/deposits", {"account_id": CLIENT, "amount": "9000000000"}),
        ):
            answer = client.post(path, json=body, headers=headers)
            if answer.status_code != 201:
                raise SystemExit(f"setting up: {path} answered {answer.status_code}: {answer.text}")
    return headers


# The load: raw HTTP/1.1 on kept-alive connections (the client's own cost kept small) ---------
def etna_request(host: str, headers: dict[str, str], number: int) -> bytes:
    return _request("PUT", "/v1.0/allocations/simple", host, headers, etna_body(number))


def etna_body(number: int) -> bytes:
    return json.dumps(
        {
            "FromAccount": AVERAGE,
            "ToAccount": CLIENT,
            "Symbol": "AAPL",
            "Quantity": 1,
            "Price": 135.89,
            "Commission": 0.01,
            "Action": "Buy",
            "AccountType": "Cash",
            "Comment": f"small write {number}",
        }
    ).encode()


def deposit_request(host: str, headers: dict[str, str]) -> bytes:
    body = json.dumps({"account_id": AVERAGE, "amount": "1.00", "currency": "USD"}).encode()
    return _request("POST", "/api/v1/ledger/deposits", host, headers, body)


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Idempotency-Key: {uuid.uuid4().hex}", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def client_loop(
    base: str, headers: dict[str, str], until: float, number: int, result: Result
) -> None:
    host = base.removeprefix("http://")
    address, port = host.split(":")
    reader, writer = await asyncio.open_connection(address, int(port))
    count = 0
    while time.perf_counter() < until:
        count += 1
        serial = number * 10_000_000 + count
        if count % 2:
            request = etna_request(host, headers, serial)
        else:
            request = deposit_request(host, headers)
        started = time.perf_counter()
        status = await exchange(reader, writer, request)
        result.latencies.append(time.perf_counter() - started)
        result.requests += 1
        if status not in (200, 201):
            result.failures[status] = result.failures.get(status, 0) + 1
    writer.close()


async def health_p50(base: str, times: int = 40) -> float:
    """A kept-alive `GET /health`, one at a time: its median in milliseconds."""
    host = base.removeprefix("http://")
    address, port = host.split(":")
    reader, writer = await asyncio.open_connection(address, int(port))
    request = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        await exchange(reader, writer, request)
        spent.append(time.perf_counter() - started)
    writer.close()
    return statistics.median(spent) * 1000


async def load(
    base: str, headers: dict[str, str], clients: int, seconds: float, servers: list[int], url: str
) -> Result:
    health = await health_p50(base)
    result = Result(0, seconds, [], {}, 0.0, 0.0, health)
    warm = time.perf_counter() + min(2.0, seconds / 5)
    await asyncio.gather(*(client_loop(base, headers, warm, n, result) for n in range(clients)))
    result.requests, result.latencies, result.failures = 0, [], {}
    app_before, db_before = app_cpu(servers), db_cpu(url)
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(client_loop(base, headers, until, n, result) for n in range(clients)))
    result.seconds = time.perf_counter() - started
    result.app_cpu = app_cpu(servers) - app_before
    result.db_cpu = _spent(db_before, db_cpu(url))
    return result


# CPU seconds, from /proc (Linux) --------------------------------------------------------------
def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def app_cpu(roots: list[int]) -> float:
    """CPU seconds of the serve processes and their workers."""
    tree, total, stack = _children(), 0.0, list(roots)
    while stack:
        pid = stack.pop()
        total += _cpu_of(pid)
        stack.extend(tree.get(pid, []))
    return total


def db_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the bench's database, by process id."""
    if not url.startswith("postgresql"):
        return {}
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        own = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        found = {pid: _cpu_of(pid) for pid in pids if pid != own}
    engine.dispose()
    return found


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# In process: the app's CPU per request, one request at a time -------------------------------
def in_process(args: argparse.Namespace, admin_url: str | None) -> None:
    if args.child:
        print(json.dumps(asyncio.run(drive(args.in_process))))
        return
    sides = [("this", HERE)] + ([("baseline", args.baseline_dir)] if args.baseline_dir else [])
    spent: dict[str, list[float]] = {name: [] for name, _ in sides}
    for round_ in range(args.rounds):
        for name, checkout in sides:
            cpu, wall = measured_in_process(checkout, admin_url, args.in_process)
            spent[name].append(cpu)
            print(
                f"round {round_ + 1} {name:<8} app CPU {cpu:6.2f} ms/request"
                f" | wall {wall:6.2f} ms/request",
                flush=True,
            )
    print()
    for name, _ in sides:
        print(
            f"  {name:<8} median of {len(spent[name])}: "
            f"{statistics.median(spent[name]):6.2f} ms of app CPU per request"
        )


def measured_in_process(
    checkout: Path, admin_url: str | None, requests: int
) -> tuple[float, float]:
    """One child process of `checkout`'s Python on a database of its own."""
    python = checkout / ".venv" / "bin" / "python"
    with ExitStack() as stack:
        _, _, env = demo_database(stack, python.parent / "allotment", admin_url)
        command = [str(python), __file__, "--child", "--in-process", str(requests)]
        done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        cpu, wall = json.loads(done.stdout.strip().splitlines()[-1])
        return cpu, wall


async def drive(requests: int) -> tuple[float, float]:
    """The demo's login and set-up, 200 requests to warm up, then `requests` keyed writes
    (ETNA PUTs and deposits, alternating) handed to the application one at a time."""
    from allotment.entrypoints.http.app import create_app

    app = create_app()
    life = ASGILife(app)
    await life.start()
    login = {"Username": "demo", "Password": "demo", "Et-App-Key": APP_KEY}
    token = json.loads((await asgi_call(app, "POST", "/token", login, b""))[1])["Token"]
    headers = {"Authorization": f"Bearer {token}", "Et-App-Key": APP_KEY}
    for path, body in (
        (
            "/api/v1/ledger/opening-positions",
            {"account_id": AVERAGE, "symbol": "AAPL", "quantity": SHARES, "price": "135.89"},
        ),
        ("/api/v1/ledger/deposits", {"account_id": CLIENT, "amount": "9000000000"}),
    ):
        status, _ = await asgi_call(app, "POST", path, headers, json.dumps(body).encode())
        assert status == 201, (path, status)
    deposit = json.dumps({"account_id": AVERAGE, "amount": "1.00", "currency": "USD"}).encode()

    async def one(number: int) -> None:
        keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        if number % 2:
            body = etna_body(number)
            status, answer = await asgi_call(app, "PUT", "/v1.0/allocations/simple", keyed, body)
        else:
            status, answer = await asgi_call(app, "POST", "/api/v1/ledger/deposits", keyed, deposit)
        assert status in (200, 201), (status, answer)

    for number in range(200):
        await one(number)
    cpu, wall = time.process_time(), time.perf_counter()
    for number in range(requests):
        await one(number)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await life.stop()
    return cpu * 1000 / requests, wall * 1000 / requests


HOST = "127.0.0.1:8000"


async def asgi_call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    """One HTTP request as a server hands it to the application."""
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    raw += [(b"host", HOST.encode()), (b"content-length", str(len(body)).encode())]
    if body:
        raw.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect while the answer is written
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


class ASGILife:
    """The application's lifespan (startup and shutdown), as a server runs it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.started = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async def send(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup"):
                self.started.set()

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.queue.get, send))
        await self.queue.put({"type": "lifespan.startup"})
        await self.started.wait()

    async def stop(self) -> None:
        await self.queue.put({"type": "lifespan.shutdown"})
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)


if __name__ == "__main__":
    main()
