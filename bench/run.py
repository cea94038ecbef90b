"""Benchmark Vestibule against a bare Flask app in the same run; print one table.

Seeds a database with 100,000 members through a bulk insert, starts both apps under
gunicorn with the same settings, drives each page with wrk, and reports requests/s,
p50, p99, worker RSS and the ratio to bare Flask; then serves each app alone with 1
and 4 worker processes under load and reports total PSS and USS per worker. Both apps
are served as `make run` serves (one gthread worker, 2 threads) unless
`--workers`, `--worker-class` and `--threads` say otherwise. Run it with `make bench`.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, Text, inspect, text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key-not-for-production"
# The production settings, on SQLite and in-memory limits on purpose: production
# refuses both unless told (app/config.py, refuse_unsafe_settings). The limits the
# benchmark meets are set out of its reach, so counting them per worker changes
# nothing it measures; gunicorn's own --workers sets the worker count.
BENCH_SETTINGS = {
    "ALLOW_SQLITE_IN_PRODUCTION": True,
    "WEB_CONCURRENCY": 1,
    "BASE_URL": "http://127.0.0.1",
}
BENCH_ENVIRONMENT = {
    "ALLOW_SQLITE_IN_PRODUCTION": "true",
    "WEB_CONCURRENCY": "1",
    "BASE_URL": "http://127.0.0.1",
}
PASSWORD = "correct horse battery staple"


def server_environment(database_url: str, **more: str) -> dict[str, str]:
    """Return the environment a benchmarked production server runs with."""
    return {
        **os.environ,
        **BENCH_ENVIRONMENT,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
        "FLASK_MAIL_DELIVERY": "worker",
        **more,
    }


FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Donald",
    "Hedy",
    "John",
    "Katherine",
    "Tim",
    "Sophie",
    "Niklaus",
    "Anita",
    "Guido",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Knuth",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Berners-Lee",
    "Wilson",
    "Wirth",
    "Borg",
    "van Rossum",
]


# Every page the benchmark drives with GET: (name, path, signed in). The paths take
# the seeded {member_id}, {last_page} and {query}; bench/inprocess.py times the same.
PAGES = (
    ("login", "/auth/login", False),
    ("profile", "/users/{member_id}", True),
    ("search", "/users/?q={query}", True),
    ("last", "/users/?page={last_page}", True),
    ("home", "/", True),
    ("account", "/account/profile", True),
    ("password", "/account/password", True),
)
QUERY = "ada"  # a common start of the seeded names
WARM_UP_SECONDS = 2
# Sign-ins are limited per address; the benchmark posts from one, so its limit is
# raised out of reach rather than switched off: the limiter's work stays measured.
UNREACHABLE_LIMIT = "1000000 per minute"
# Worker processes the memory of both apps is read at, each in the same run.
MEMORY_WORKERS = (1, 4)
# gunicorn.conf.py's hooks that call into Vestibule, left out when serving bare Flask.
VESTIBULE_HOOKS = ("on_starting", "post_fork", "child_exit")
# A table of this name marks a database as the benchmark's, to empty at will.
BENCH_MARK = "vestibule_bench"


@dataclass
class Result:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk from the distribution's packages")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
            subprocess.run(
                ["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL
            )
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "wrk"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed: install it (Debian: apt-get install wrk)")
    return found


def claim_database(engine: Engine) -> None:
    """Empty the database for seeding; exit if it holds what the benchmark did not make.

    BENCH_DATABASE_URL may by mistake name a database with real accounts in it: the
    benchmark empties only a database that is empty already or carries its mark.
    """
    shown = engine.url.render_as_string(hide_password=True)
    try:
        found = inspect(engine)
        names = set(found.get_table_names()) | set(found.get_view_names())
        if engine.dialect.name == "postgresql":
            names |= set(found.get_sequence_names())
    except OperationalError as error:
        sys.exit(
            f"cannot open {shown}: {error.orig}\n"
            "Give the benchmark an empty database of its own, e.g. `createdb bench`."
        )
    if names and BENCH_MARK not in names:
        sys.exit(
            f"{shown} holds tables the benchmark did not make "
            f"({', '.join(sorted(names))}); it empties only its own database. "
            "Give it an empty database of its own, e.g. `createdb bench`."
        )
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:  # SQLite: views first, then tables (their indexes go with them)
            schema = connection.execute(
                text(
                    "SELECT type, name FROM sqlite_master WHERE type IN "
                    "('view', 'table') AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"
                )
            )
            for kind, name in schema.all():
                quoted = connection.dialect.identifier_preparer.quote_identifier(name)
                connection.exec_driver_sql(f"DROP {kind.upper()} {quoted}")
        mark = MetaData()
        Table(BENCH_MARK, mark, Column("made_by", Text))
        mark.create_all(connection)


def member_row(
    number: int, name: str, password_hash: str, now: datetime
) -> dict[str, Any]:
    """One listed, verified member as a bulk insert takes it."""
    from app.models.user import name_key  # the app loads only once seeding starts

    return {
        "email": f"member{number}@bench.example",
        "name": name,
        # a bulk insert skips the model's validator: set it here
        "name_key": name_key(name),
        "bio": "Writes code, reads books.",
        "password_hash": password_hash,
        "is_active": True,
        "is_admin": False,
        "is_listed": True,
        "email_verified_at": now,
        "created_at": now,
    }


def seed(database_url: str) -> tuple[str, int, int, str]:
    """Fill the database; return (session token, a member id, last page, a query)."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services import sessions
    from app.services.passwords import hash_password
    from app.services.security_log import ClientInfo

    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            **BENCH_SETTINGS,
        }
    )
    with app.app_context():
        claim_database(db.engine)
        upgrade()
        now = datetime.now(UTC)
        password_hash = hash_password(PASSWORD)
        rng = random.Random(7)
        rows = []
        for number in range(100_000):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {number}"
            rows.append(member_row(number, name, password_hash, now))
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(User), rows[start : start + 5000])
        db.session.commit()
        user = User(
            email="bench@bench.example",
            name="Bench User",
            bio="",
            password_hash=password_hash,
            email_verified_at=now,
        )
        db.session.add(user)
        db.session.commit()
        token = sessions.start_session(
            user, remember=True, client=ClientInfo("127.0.0.1", "wrk")
        )
        db.session.commit()
        total = 100_001
        per_page = app.config["DIRECTORY_PAGE_SIZE"]
        member_id = user.id - 1
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a bulk load: statistics for
            # the planner, and the visibility map that index-only scans need.
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(text("VACUUM ANALYZE"))
    return token, member_id, -(-total // per_page), QUERY


@dataclass
class Memory:
    """A server's memory, read from /proc/<pid>/smaps_rollup, in MiB."""

    total_pss: float  # master and workers: shared pages split between their users
    worker_uss: float  # mean over the workers: pages no other process maps

    @classmethod
    def median(cls, samples: list[Memory]) -> Memory:
        return cls(
            statistics.median(sample.total_pss for sample in samples),
            statistics.median(sample.worker_uss for sample in samples),
        )


def smaps_rollup_kib(pid: str) -> dict[str, int]:
    """Return a process's memory totals (Pss, Private_Dirty, ...) in KiB."""
    totals = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        totals[name] = int(value.split()[0])
    return totals


@dataclass(frozen=True)
class Serving:
    """How gunicorn serves: worker processes, their class, threads in each."""

    workers: int = 2
    worker_class: str = "sync"
    threads: int = 1

    def describe(self) -> str:
        threads = ""
        if self.worker_class == "gthread":
            threads = f", {self.threads} threads each"
        return f"gunicorn {self.workers} {self.worker_class} worker(s){threads}"


# `make run`'s setting, gunicorn.conf.py's defaults.
MAKE_RUN = Serving(workers=1, worker_class="gthread", threads=2)


class Server:
    """A gunicorn (2 sync workers unless `serving` says), quiet, run optimized."""

    def __init__(
        self,
        target: str,
        port: int,
        env: dict[str, str],
        pythonpath: str,
        *,
        workers: int | None = None,
        serving: Serving = Serving(),
        config: Path = ROOT / "gunicorn.conf.py",
    ) -> None:
        workers = serving.workers if workers is None else workers
        self.port = port
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config",
                str(config),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                serving.worker_class,
                "--threads",
                str(serving.threads),
                "--access-logfile",
                "/dev/null",
                "--pythonpath",
                pythonpath,
                target,
            ],
            cwd=ROOT,
            # workers optimized as `make run` and production run them
            env={**env, "PYTHONOPTIMIZE": "2"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{target} did not start on port {port}")
        for _ in range(100):  # the first answer may come before every worker is up
            if len(self.worker_pids()) == workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{target} did not start {workers} workers")

    def worker_rss_mib(self) -> float:
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                sizes.append(int(match.group(1)) / 1024)
        return max(sizes, default=0.0)

    def memory(self) -> Memory:
        """Total PSS of master and workers, and mean USS per worker."""
        workers = [smaps_rollup_kib(pid) for pid in self.worker_pids()]
        master = smaps_rollup_kib(str(self.process.pid))
        total = sum(process["Pss"] for process in [master, *workers])
        private = [w["Private_Clean"] + w["Private_Dirty"] for w in workers]
        return Memory(total / 1024, statistics.mean(private) / 1024)

    def worker_pids(self) -> list[str]:
        return subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def found(pattern: str, text: str) -> str:
    """Return the first group of `pattern` in `text`; raise ValueError if absent."""
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"{pattern!r} not found in {text[:200]!r}")
    return match.group(1)


def _ms(value: str) -> float:
    number, unit = found(r"([\d.]+)", value), found(r"[\d.]+(\w+)", value)
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_run(
    wrk: str,
    label: str,
    url: str,
    seconds: int,
    connections: int,
    headers: list[str],
    script: str | None = None,
) -> Result:
    """Run wrk once against `url` and read its figures."""
    command = [wrk, "-t2", f"-c{connections}", "--latency", f"-d{seconds}s"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(found(r"Requests/sec:\s+([\d.]+)", out))
    p50 = _ms(found(r"\s50%\s+(\S+)", out))
    p99 = _ms(found(r"\s99%\s+(\S+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        log(f"warning: {label}: {non_2xx.group(1)} non-2xx/3xx responses")
    return Result(label, rps, p50, p99)


def _median(results: list[Result]) -> Result:
    return Result(
        results[0].label,
        statistics.median(result.rps for result in results),
        statistics.median(result.p50_ms for result in results),
        statistics.median(result.p99_ms for result in results),
    )


@dataclass
class Comparison:
    """A page and bare Flask, driven in alternating rounds; medians of the rounds."""

    page: Result
    bare: Result
    ratios: list[float]  # each round's page req/s over the bare app's next to it

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def compare(
    wrk: str,
    label: str,
    url: str,
    headers: list[str],
    bare_url: str,
    seconds: int,
    connections: int,
    rounds: int,
) -> Comparison:
    """Drive a page and bare Flask in turn, `rounds` times, after a warm-up of each.

    On a shared machine the speed of both drifts by more than the differences being
    measured; a ratio taken from two runs seconds apart, in alternating order, cancels
    most of the drift, and the median of the rounds drops an unlucky one.
    """
    page_runs: list[Result] = []
    bare_runs: list[Result] = []
    no_headers: list[str] = []
    runs = (
        (page_runs, label, url, headers),
        (bare_runs, "bare Flask", bare_url, no_headers),
    )
    for _, name, target, sent in runs:
        wrk_run(wrk, name, target, WARM_UP_SECONDS, connections, sent)
    each = max(1, seconds // rounds)
    for round_number in range(rounds):
        for found, name, target, sent in runs[:: 1 if round_number % 2 else -1]:
            found.append(wrk_run(wrk, name, target, each, connections, sent))
    pairs = zip(page_runs, bare_runs, strict=True)
    ratios = [page.rps / bare.rps for page, bare in pairs]
    return Comparison(_median(page_runs), _median(bare_runs), ratios)


def browser_cookies(port: int, token: str) -> str:
    """Return the cookies a signed-in browser sends after its first page.

    wrk keeps no cookies: without the state cookie every request would mint and sign
    a new CSRF secret, which a real browser does once.
    """
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", headers={"Cookie": f"vestibule_signin={token}"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - our own server
        set_cookies = response.headers.get_all("Set-Cookie") or []
    cookies = [f"vestibule_signin={token}"]
    cookies += [header.split(";", 1)[0] for header in set_cookies]
    return "; ".join(cookies)


def csrf_token_in(page: str) -> str:
    """Return the CSRF token a page's form carries."""
    return found(r'name="csrf_token"[^>]*?value="([^"]+)"', page)


def login_script(port: int, directory: Path) -> Path:
    """Write a wrk script that posts the sign-in form with a genuine CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/auth/login").read().decode()
    token = csrf_token_in(page)
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    body = urllib.parse.urlencode(
        {"csrf_token": token, "email": "bench@bench.example", "password": PASSWORD}
    )
    script = directory / "login.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["Cookie"] = "{cookies}"\n'
    )
    return script


class HashShare:
    """Sample the workers with py-spy while they serve sign-ins.

    The share of request samples inside argon2's verify is the hash's share of a
    sign-in as the workers ran it: a hash timed alone, on a warm cache, runs faster
    than the same hash between requests, and would put that difference outside.
    """

    def __init__(self, server: Server, seconds: int, directory: Path) -> None:
        spy = Path(sys.executable).parent / "py-spy"
        pids = server.worker_pids()
        self.outputs = [directory / f"spy-{pid}.txt" for pid in pids]
        self.processes = []
        if not spy.exists():
            log("py-spy is not installed: the hash's share is estimated from timings")
            return
        for pid, output in zip(pids, self.outputs, strict=True):
            self.processes.append(
                subprocess.Popen(
                    [
                        str(spy),
                        "record",
                        "--pid",
                        pid,
                        "--duration",
                        str(seconds),
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        # Paused for each sample: read without a pause, a stack that
                        # is changing is dropped, and Python's stacks change all the
                        # time while the hash's C call does not. In-process that
                        # left 5.5 % of a sign-in outside the hash where timing
                        # and paused samples both find 14 %.
                        "--output",
                        str(output),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def share(self) -> float | None:
        """Return the share of request samples spent verifying the password."""
        for process in self.processes:
            process.wait(timeout=60)
        in_request = in_hash = 0
        for output in self.outputs:
            if not output.exists():
                return None
            for line in output.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if "handle (gunicorn/workers/" not in stack:
                    continue  # waiting for a connection
                in_request += int(count)
                if "verify_secret (argon2/low_level.py" in stack:
                    in_hash += int(count)
        return in_hash / in_request if in_request else None


def pages_script(directory: Path, cookie: str, paths: dict[str, str]) -> Path:
    """Write a wrk script requesting every page in turn, signed in where PAGES say."""
    entries = ", ".join(
        f'{{"{paths[name]}", {"true" if signed_in else "false"}}}'
        for name, _, signed_in in PAGES
    )
    script = directory / "pages.lua"
    script.write_text(
        f'local cookie = "{cookie}"\n'
        f"local pages = {{{entries}}}\n"
        "local turn = 0\n"
        "request = function()\n"
        "  turn = turn % #pages + 1\n"
        "  local headers = {}\n"
        '  if pages[turn][2] then headers["Cookie"] = cookie end\n'
        '  return wrk.format("GET", pages[turn][1], headers)\n'
        "end\n"
    )
    return script


def bare_config(directory: Path) -> Path:
    """Write gunicorn.conf.py's settings for bare Flask, without Vestibule's hooks.

    Those (VESTIBULE_HOOKS) import Vestibule's modules and renew its database pools
    and rate-limit storage, which bare Flask does not have; every other setting
    (preloading, gc.freeze) is the same.
    """
    config = directory / "bare.conf.py"
    config.write_text(
        "from runpy import run_path\n\n"
        f"settings = run_path({str(ROOT / 'gunicorn.conf.py')!r})\n"
        f"for hook in {VESTIBULE_HOOKS!r}:\n"
        "    settings.pop(hook, None)\n"
        'globals().update((k, v) for k, v in settings.items() if k[:2] != "__")\n'
    )
    return config


def memory_under_load(
    server: Server, loads: list[list[str]], seconds: int
) -> tuple[Memory, Memory]:
    """Run the wrk commands together; return the memory under load, and after.

    After a warm-up run of the same load, which brings every worker to every page,
    memory is sampled every half second while the load runs; the first figure is the
    median of the samples. A sample catches some workers inside argon2's hash, each
    holding 19 MiB more for it. The second figure is read a second after the load
    ends, once a sign-in cut off by wrk has let go of its hash's memory.
    """
    for warm_up in (True, False):
        wrk_runs = [
            subprocess.Popen(
                [load[0], f"-d{WARM_UP_SECONDS if warm_up else seconds}s", *load[1:]],
                stdout=subprocess.DEVNULL,
            )
            for load in loads
        ]
        samples: list[Memory] = []
        while any(run.poll() is None for run in wrk_runs):
            time.sleep(0.5)
            if not warm_up:
                samples.append(server.memory())
        for run in wrk_runs:
            if run.returncode:
                raise RuntimeError(f"wrk exited with status {run.returncode}")
    time.sleep(1)
    return Memory.median(samples or [server.memory()]), server.memory()


@dataclass
class MemoryResult:
    app: str
    workers: int
    under_load: Memory
    after_load: Memory


def measure_memory(
    wrk: str,
    env: dict[str, str],
    workdir: Path,
    seeded: dict[str, str | int],
    token: str,
    seconds: int,
    serving: Serving,
    worker_counts: tuple[int, ...] = MEMORY_WORKERS,
) -> list[MemoryResult]:
    """Serve each app alone, at each of `worker_counts`, under load; read its memory.

    One server at a time: shared pages are split between every process that maps
    them, so a second server would lower the first one's PSS.
    """
    results = []
    for workers in worker_counts:
        port = 8103
        bare = Server(
            "bare_app:app",
            port,
            env,
            str(ROOT / "bench"),
            workers=workers,
            serving=serving,
            config=bare_config(workdir),
        )
        try:
            load = [wrk, "-t2", "-c32", f"http://127.0.0.1:{port}/"]
            under, after = memory_under_load(bare, [load], seconds)
        finally:
            bare.stop()
        results.append(MemoryResult("bare Flask", workers, under, after))

        port = 8104
        app = Server("wsgi:app", port, env, str(ROOT), workers=workers, serving=serving)
        try:
            paths = {name: path.format(**seeded) for name, path, _ in PAGES}
            pages = pages_script(workdir, browser_cookies(port, token), paths)
            sign_ins = login_script(port, workdir)
            base_url = f"http://127.0.0.1:{port}"
            loads = [
                [wrk, "-t2", "-c32", "-s", str(pages), base_url],
                [wrk, "-t1", "-c2", "-s", str(sign_ins), f"{base_url}/auth/login"],
            ]
            under, after = memory_under_load(app, loads, seconds)
        finally:
            app.stop()
        results.append(MemoryResult("Vestibule", workers, under, after))
    return results


def hash_ms() -> float:
    from app import create_app
    from app.services.passwords import hash_password, verify_password

    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            **BENCH_SETTINGS,
        }
    )
    with app.app_context():
        stored = hash_password(PASSWORD)
        timings = []
        for _ in range(15):
            start = time.perf_counter()
            verify_password(stored, PASSWORD)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return timings[len(timings) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[name for name, _, _ in PAGES],
        help="drive only these pages; the sign-ins always run",
    )
    parser.add_argument("--workers", type=int, default=MAKE_RUN.workers)
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], default=MAKE_RUN.worker_class
    )
    parser.add_argument("--threads", type=int, default=MAKE_RUN.threads)
    parser.add_argument(
        "--memory-workers",
        type=int,
        nargs="+",
        default=list(MEMORY_WORKERS),
        help="worker processes to read memory at, each app served alone",
    )
    args = parser.parse_args()
    serving = Serving(args.workers, args.worker_class, args.threads)
    worker_counts = tuple(args.memory_workers)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="vestibule-bench-"))
    database_url = (
        os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    )
    log(f"seeding 100,000 members into {database_url.split('@')[-1]}")
    token, member_id, last_page, query = seed(database_url)

    env = server_environment(database_url, FLASK_LOGIN_LIMIT_PER_IP=UNREACHABLE_LIMIT)
    bare = Server(
        "bare_app:app",
        8101,
        env,
        str(ROOT / "bench"),
        serving=serving,
        config=bare_config(workdir),
    )
    app = Server("wsgi:app", 8102, env, str(ROOT), serving=serving)
    cookie = [f"Cookie: {browser_cookies(8102, token)}"]
    seconds, conns, rounds = args.seconds, args.connections, args.rounds
    results: list[Comparison] = []
    try:
        base_url = "http://127.0.0.1:8102"
        seeded = {"last_page": last_page, "query": query}
        for name, path, signed_in in PAGES:
            if args.only and name not in args.only:
                continue
            # the label names no particular member: "/users/<id>"
            shown = path.format(member_id="<id>", **seeded)
            label = f"GET {shown} ({'signed in' if signed_in else 'anonymous'})"
            url = base_url + path.format(member_id=member_id, **seeded)
            headers = cookie if signed_in else []
            log(f"driving {label}")
            results.append(
                compare(
                    wrk,
                    label,
                    url,
                    headers,
                    "http://127.0.0.1:8101/",
                    seconds,
                    conns,
                    rounds,
                )
            )
        log("driving POST /auth/login")
        script = login_script(8102, workdir)
        page_rss = app.worker_rss_mib()
        login_url = f"{base_url}/auth/login"
        wrk_run(wrk, "sign-in", login_url, WARM_UP_SECONDS, 2, [], str(script))
        spy = HashShare(app, seconds, workdir)
        login = wrk_run(wrk, "sign-in", login_url, seconds, 2, [], str(script))
        hash_share = spy.share()
        time.sleep(1)  # a sign-in that wrk cut off still holds its hash's memory
        app_rss, bare_rss = app.worker_rss_mib(), bare.worker_rss_mib()
    finally:
        app.stop()
        bare.stop()
    log(f"reading memory under load at {' and '.join(map(str, worker_counts))} workers")
    memory = measure_memory(
        wrk,
        env,
        workdir,
        {"member_id": member_id, "last_page": last_page, "query": query},
        token,
        seconds,
        serving,
        worker_counts,
    )
    one_hash = hash_ms()
    shutil.rmtree(workdir, ignore_errors=True)

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    lines = [
        f"# Vestibule benchmark, {stamp}",
        "",
        f"Machine: {os.cpu_count()} cores, {platform_line()}; {serving.describe()}; "
        f"wrk -t2 -c{conns}; each page and bare Flask in turn, {rounds} rounds of "
        f"{max(1, seconds // rounds)} s after a {WARM_UP_SECONDS} s warm-up; "
        f"database {'PostgreSQL' if 'postgresql' in database_url else 'SQLite'} "
        "with 100,001 members.",
        "",
        "Figures are medians of the rounds; the ratio is the median of each round's "
        "page req/s over bare Flask's, and the last column gives its range.",
        "",
        "| page | req/s | p50 ms | p99 ms | bare Flask req/s | ratio | rounds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        page = result.page
        lines.append(
            f"| {page.label} | {page.rps:.0f} | {page.p50_ms:.2f} | "
            f"{page.p99_ms:.2f} | {result.bare.rps:.0f} | {result.ratio:.2f} | "
            f"{min(result.ratios):.2f}-{max(result.ratios):.2f} |"
        )
    estimate = max(0.0, 1 - one_hash / login.p50_ms)
    lines += [
        "",
        f"POST /auth/login, 2 connections: {login.rps:.1f} sign-ins/s, "
        f"p50 {login.p50_ms:.1f} ms; one argon2id verify alone {one_hash:.1f} ms "
        f"(p50 minus that: {estimate:.0%} outside the hash).",
    ]
    if hash_share is not None:
        lines.append(
            f"Sampled in the workers (py-spy): {1 - hash_share:.0%} of a sign-in's "
            "time is spent outside the hash."
        )
    lines += [
        "",
        f"Worker RSS: Vestibule {page_rss:.1f} MiB after the page runs, "
        f"{app_rss:.1f} MiB after the sign-ins; bare Flask {bare_rss:.1f} MiB.",
        f"GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}"
        if os.environ.get("GLIBC_TUNABLES")
        else "GLIBC_TUNABLES unset: argon2's working memory stays in each worker.",
        "",
        f"Memory, each app served alone under wrk for {seconds} s after a "
        f"{WARM_UP_SECONDS} s warm-up (Vestibule: every page in turn on 32 "
        "connections and sign-ins on 2; bare Flask: its hello on 32), in MiB: total "
        "PSS of master and workers, and mean USS (private pages) per worker; under "
        "load is the median of samples every 0.5 s, after is 1 s after the load.",
        "",
        "| app | workers | total PSS under load | after | "
        "USS per worker under load | after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for found in memory:
        lines.append(
            f"| {found.app} | {found.workers} | {found.under_load.total_pss:.1f} | "
            f"{found.after_load.total_pss:.1f} | {found.under_load.worker_uss:.1f} | "
            f"{found.after_load.worker_uss:.1f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / f"{stamp}.md").write_text(report)


def platform_line() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
