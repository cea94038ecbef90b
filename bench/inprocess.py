"""Time one page inside the process, without gunicorn or wrk, and show where it goes.

    python bench/inprocess.py PAGE [--profile | --instructions] [-n N]

PAGE is one of login, profile, search, last, home, account, password (the pages of
`bench/run.py`), home-anonymous, or sign_in.

It seeds the same 100,000 members as `bench/run.py` (on SQLite once, kept in
bench/results/profile.db; on BENCH_DATABASE_URL each run), calls the WSGI app
directly with the cookies the benchmark sends, and prints microseconds per request
beside a bare Flask "hello" timed the same way. `sign_in` also times argon2's verify
inside each request and reports the rest; `home-anonymous` is the landing page
without cookies. With --profile it prints cProfile's top entries by own and by
cumulative time. With --instructions it counts the instructions of one request of
the page and of bare Flask under valgrind instead (for sign_in, all but argon2's
verify): slower, but the same count on a busy machine as on an idle one, so two
versions of the code can be compared.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import (  # noqa: E402
    BENCH_SETTINGS,
    PASSWORD,
    QUERY,
    SECRET,
    UNREACHABLE_LIMIT,
    csrf_token_in,
    seed,
)
from run import PAGES as BENCH_PAGES  # noqa: E402
from werkzeug.datastructures import Headers  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

DB = ROOT / "bench" / "results" / "profile.db"
# BENCH_DATABASE_URL (PostgreSQL) is seeded on each run; SQLite once.
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{DB}"
ON_SQLITE = DATABASE_URL.startswith("sqlite")
STATE = ROOT / "bench" / "results" / "profile.state"
SEEDED = "BENCH_SEEDED"
# The C function behind PasswordHasher.verify, left out of a sign-in's count.
ARGON2_VERIFY = "argon2_verify"
# The benchmark's pages, and the landing page without cookies; "sign_in" posts the
# sign-in form.
PAGES = {name: path for name, path, _ in BENCH_PAGES} | {"home-anonymous": "/"}
ANONYMOUS = frozenset(
    {name for name, _, signed_in in BENCH_PAGES if not signed_in} | {"home-anonymous"}
)


def _seeded() -> tuple[str, int, int]:
    handed_down = os.environ.get(SEEDED)  # by --instructions to its valgrind runs
    if handed_down:
        token, member_id, last_page = handed_down.split()
        return token, int(member_id), int(last_page)
    if ON_SQLITE and DB.exists() and STATE.exists():
        token, member_id, last_page = STATE.read_text().split()
        return token, int(member_id), int(last_page)
    DB.parent.mkdir(exist_ok=True)
    if ON_SQLITE:
        DB.unlink(missing_ok=True)
    token, seeded_id, pages, _ = seed(DATABASE_URL)
    if ON_SQLITE:
        STATE.write_text(f"{token} {seeded_id} {pages}")
    return token, seeded_id, pages


def _runner(app: Any, environ_for: Callable[[], dict[str, Any]]) -> Callable[[], int]:
    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        codes.append(int(status[:3]))

    codes: list[int] = []

    def once() -> int:
        body: Iterable[bytes] = app(environ_for(), start_response)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close:
            close()
        return codes.pop()

    return once


def _get(app: Any, path: str, headers: dict[str, str]) -> Any:
    from werkzeug.test import run_wsgi_app
    from werkzeug.wrappers import Response

    environ = EnvironBuilder(path, headers=Headers(headers)).get_environ()
    body, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    return Response(body, status, response_headers)


def _state_cookie(response: Any) -> str:
    """Return the CSRF state cookie a page set, as a browser would send it back."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("vestibule_state="):
            return str(header.split(";", 1)[0])
    raise RuntimeError("the page set no state cookie")


def _time_inside_requests(module_name: str, function_name: str) -> list[float]:
    """Wrap a function so that each call's seconds are recorded, and return the record.

    The hash timed inside the requests, on the caches they leave, is the share that
    matters; a hash timed alone runs warm and faster.
    """
    module = sys.modules[module_name]
    function = getattr(module, function_name)
    seconds: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    setattr(module, function_name, timed)
    return seconds


def _time(once: Callable[[], int], count: int) -> float:
    for _ in range(min(200, count)):
        once()
    start = time.perf_counter()
    for _ in range(count):
        once()
    return (time.perf_counter() - start) / count * 1e6


def _instructions_per_request(
    page: str, seeded: tuple[str, int, int], *, bare: bool
) -> int:
    """Count the instructions of one request with valgrind, whatever the machine's load.

    Two runs, of FEW and MANY requests, differ by MANY - FEW requests alone: start-up,
    seeding and imports cancel out. A sign-in's count leaves out argon2's verify
    (what the function and its callees ran, from callgrind's own record), so what is
    left is the work a sign-in adds to its hash.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    few, many = 50, 250
    without_hash = page == "sign_in" and not bare
    if without_hash:
        few, many = 10, 60  # valgrind runs each hash some 50 times slower
    env = {**os.environ, "PYTHONHASHSEED": "0", SEEDED: " ".join(map(str, seeded))}
    with tempfile.TemporaryDirectory() as directory:
        outputs = [Path(directory) / f"callgrind.{count}" for count in (few, many)]
        runs = [
            subprocess.Popen(
                [
                    valgrind,
                    "--tool=callgrind",
                    f"--callgrind-out-file={output}",
                    sys.executable,
                    __file__,
                    page,
                    "--repeat",
                    str(count),
                    *(["--bare"] if bare else []),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for count, output in zip((few, many), outputs, strict=True)
        ]
        totals = []
        for run, output in zip(runs, outputs, strict=True):
            _, err = run.communicate()
            match = re.search(r"Collected : (\d+)", err)
            if run.returncode != 0 or match is None:
                sys.exit(f"valgrind failed:\n{err[-2000:]}")
            total = int(match.group(1))
            if without_hash:
                total -= _inclusive_count(output, ARGON2_VERIFY)
            totals.append(total)
    return (totals[1] - totals[0]) // (many - few)


def _inclusive_count(output: Path, function: str) -> int:
    """Return the instructions of a function and its callees in a callgrind output."""
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", str(output)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(rf"^\s*([\d,]+) .*:{function} \[", annotated, re.MULTILINE)
    if match is None:
        sys.exit(f"{function} is not in the callgrind output")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("page", choices=[*PAGES, "sign_in"])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under valgrind instead of timing",
    )
    # what --instructions runs under valgrind: N requests, nothing timed
    parser.add_argument("--repeat", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        seeded = _seeded()
        page = _instructions_per_request(args.page, seeded, bare=False)
        bare_page = _instructions_per_request(args.page, seeded, bare=True)
        outside = " outside the hash" if args.page == "sign_in" else ""
        print(
            f"{args.page}: {page:,} instructions/request{outside}; "
            f"bare Flask {bare_page:,} ({page / bare_page:.1f}x)"
        )
        return
    token, member_id, last_page = _seeded()
    os.environ["FLASK_LOAD_MIGRATIONS"] = "false"

    from bare_app import app as bare

    from app import create_app

    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "LOGIN_LIMIT_PER_IP": UNREACHABLE_LIMIT,
            "MAIL_DELIVERY": "worker",
            **BENCH_SETTINGS,
        }
    )
    app.logger.disabled = True
    cookie = f"vestibule_signin={token}"
    if args.page == "sign_in":
        response = _get(app, "/auth/login", {})
        csrf = csrf_token_in(response.get_data(as_text=True))
        state_cookie = _state_cookie(response)
        body = urllib.parse.urlencode(
            {"csrf_token": csrf, "email": "bench@bench.example", "password": PASSWORD}
        )

        def environ_for() -> dict[str, Any]:
            return EnvironBuilder(
                "/auth/login",
                method="POST",
                data=body,
                content_type="application/x-www-form-urlencoded",
                headers=Headers({"Cookie": state_cookie}),
            ).get_environ()

        once = _runner(app, environ_for)
        count = min(args.n, 300)
        in_hash = _time_inside_requests("argon2._password_hasher", "verify_secret")
    else:
        response = _get(app, "/", {"Cookie": cookie})
        headers = {}
        if args.page not in ANONYMOUS:
            headers = {"Cookie": f"{cookie}; {_state_cookie(response)}"}
        path = PAGES[args.page].format(
            member_id=member_id, last_page=last_page, query=QUERY
        )
        once = _runner(
            app, lambda: EnvironBuilder(path, headers=Headers(headers)).get_environ()
        )
        count = args.n
        in_hash = []
    status = once()
    bare_once = _runner(bare, lambda: EnvironBuilder("/").get_environ())
    if args.repeat is not None:
        for _ in range(args.repeat):
            (bare_once if args.bare else once)()
        return
    bare_us = _time(bare_once, count)
    page_us = _time(once, count)
    print(
        f"{args.page}: status {status}, {page_us:.0f} us/request; "
        f"bare Flask {bare_us:.0f} us/request"
    )
    if in_hash:
        hash_us = sum(in_hash[-count:]) / count * 1e6
        outside = page_us - hash_us
        print(
            f"verify inside the requests {hash_us:.0f} us; outside the hash "
            f"{outside:.0f} us ({outside / page_us:.1%})"
        )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            once()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(60)
        print(out.getvalue())


if __name__ == "__main__":
    main()
