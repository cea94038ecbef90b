"""Real processes for the operations tests: PostgreSQL, Redis, mail workers, browsers.

Each server is private to the test that starts it (a temporary folder, a free
port), so a test may stop it and start it again.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import CSRF_RE, free_port

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # seconds any wait below gives up after; each takes far less


def wait_until(ready: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Ask `ready` until it answers truly; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


# --- browsers -------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    status: int
    url: str
    text: str


class Browser:
    """One browser on served sites: its cookies, any status, a Referer on posts."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def open(
        self, url: str, form: Mapping[str, str] | None = None, referer: str = ""
    ) -> Page:
        """GET `url`, or POST `form` to it; follow redirects; return the last page."""
        data = None if form is None else urllib.parse.urlencode(form).encode()
        headers = {"Referer": referer} if referer else {}
        request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
        try:
            response = self._opener.open(request, timeout=WAIT)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return Page(response.status, response.geturl(), response.read().decode())

    def submit(
        self, url: str, fields: Mapping[str, str], page: str | None = None
    ) -> Page:
        """Open the page holding the form (`url` unless `page`) and post it there."""
        shown = url if page is None else urllib.parse.urljoin(url, page)
        token = CSRF_RE.search(self.open(shown).text)
        assert token, f"no CSRF token on {shown}"
        return self.open(url, {"csrf_token": token.group(1), **fields}, referer=shown)

    def cookie_values(self) -> set[str]:
        return {cookie.value for cookie in self.cookies if cookie.value}


# --- PostgreSQL -----------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        bindir = subprocess.run(  # noqa: S603 - PostgreSQL's own tool
            [found, "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if (Path(bindir) / "initdb").exists():
            return Path(bindir)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temporary folder.

    PostgreSQL refuses to run as root: a test run as root runs it as `postgres`.
    """

    def __init__(self, directory: Path, bindir: Path, user: str | None) -> None:
        self.directory = directory
        self.bindir = bindir
        self.user = user
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/vestibule"

    def _run(self, tool: str, *arguments: str) -> None:
        command = [str(self.bindir / tool), *arguments]
        if self.user is not None:
            run_as = shutil.which("runuser") or "runuser"
            command = [run_as, "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=WAIT)  # noqa: S603

    def initialize(self) -> None:
        data = str(self.directory / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "-A", "trust")
        self.start()
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "vestibule",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-l",
            str(self.directory / "server.log"), "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        data = str(self.directory / "data")
        self._run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a private cluster with an empty database `vestibule`; remove it after.

    Skips the test when PostgreSQL's server programs are not installed.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            pytest.skip("running as root, and there is no postgres account to run as")
    # Not under pytest's tmp_path: the postgres account must be able to enter it.
    directory = Path(tempfile.mkdtemp(prefix="vestibule-pg-"))
    if user is not None:
        shutil.chown(directory, user)
    cluster = PrivatePostgres(directory, bindir, user)
    try:
        cluster.initialize()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


# --- Redis ----------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own, saving its data to `directory` on stop."""

    def __init__(self, program: str, directory: Path) -> None:
        self.program = program
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603
            [
                self.program,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--save", "3600 1",  # a stop writes the data down, as in production
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        try:
            wait_until(lambda: _answers(client), "redis-server to answer")
        finally:
            client.close()

    def pause(self) -> None:
        """Stop the server answering while its port stays open, as a hung one does."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)  # a paused one would not stop
            self._process.terminate()
            self._process.wait(timeout=WAIT)
            self._process = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """Start a private redis-server keeping its data in `directory`; stop it after."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(program, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- the mail worker ------------------------------------------------------------


@contextlib.contextmanager
def mail_worker(
    database_url: str, log: Path, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `flask --app wsgi mail worker` on `database_url`, its log to `log`.

    Stopped with SIGTERM at the end if the test did not stop it.
    """
    environment = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "FLASK_LOAD_MIGRATIONS": "false",
        **env,
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker"]
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [*command, "--interval", "0.2"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
        )
    try:
        # Logged once its SIGTERM handler is in place: a busy machine may take
        # seconds to start it, and a signal before that kills it outright.
        wait_until(
            lambda: (
                "mail worker: started" in log.read_text() or process.poll() is not None
            ),
            "the mail worker to start",
        )
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=WAIT)
