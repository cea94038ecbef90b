"""Benchmark the member directory at 10,000, 100,000 and 1,000,000 members.

Seeds one database in steps (a bulk insert of varied names, accents included, and a
few in Chinese), and at each size starts the app under gunicorn as bench/run.py
does, drives its pages with wrk (the first page, a deep page, a search for a common
and for a rare substring, for a common and a rare word start) and prints requests/s
and p99 per size, with the growth from the first size to the last; then the median
time of `list_members` alone for each search, in one process (`--calls` of each).
SQLite by default; PostgreSQL with BENCH_DATABASE_URL:

    .venv/bin/python bench/directory.py
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/directory.py
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import (  # noqa: E402
    BENCH_SETTINGS,
    PASSWORD,
    SECRET,
    Result,
    Server,
    browser_cookies,
    claim_database,
    ensure_wrk,
    log,
    member_row,
    server_environment,
    wrk_run,
)
from sqlalchemy import insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402
from app.models.user import LISTED  # noqa: E402
from app.services import sessions  # noqa: E402
from app.services.directory import list_members  # noqa: E402
from app.services.passwords import hash_password  # noqa: E402
from app.services.security_log import ClientInfo  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
FIRST = (
    "Ada",
    "Alan",
    "Ana",
    "Anders",
    "Ángel",
    "Anita",
    "Astrid",
    "Barbara",
    "Björn",
    "Camille",
    "Chloé",
    "Chiara",
    "Dagný",
    "Dmitri",
    "Dóra",
    "Édouard",
    "Élodie",
    "Emil",
    "Emma",
    "François",
    "Frida",
    "Grace",
    "Guido",
    "Hana",
    "Hedy",
    "Íñigo",
    "Inès",
    "Ingrid",
    "Jakub",
    "Jérôme",
    "John",
    "José",
    "Jürgen",
    "Karin",
    "Katherine",
    "Ken",
    "Lærke",
    "Leila",
    "Linus",
    "Lucía",
    "Malak",
    "Margaret",
    "Mårten",
    "Mateo",
    "Mia",
    "Nadia",
    "Niklaus",
    "Noémie",
    "Nuño",
    "Oskar",
    "Paweł",
    "Radia",
    "Renée",
    "Sébastien",
    "Siobhán",
    "Sofía",
    "Søren",
    "Tim",
    "Tomás",
    "Ursula",
    "Valérie",
    "Wei",
    "Yūko",
    "Zoë",
    "Zoltán",
)
LAST = (
    "Allen",
    "Álvarez",
    "Anderson",
    "Bąk",
    "Berg",
    "Bernard",
    "Borg",
    "Brontë",
    "Castro",
    "Čapek",
    "Dąbrowski",
    "Dijkstra",
    "Dvořák",
    "Eriksson",
    "Erdoğan",
    "Fernández",
    "Fischer",
    "García",
    "Gómez",
    "Håkansson",
    "Hamilton",
    "Hopper",
    "Horváth",
    "Ibáñez",
    "Jiménez",
    "Johnson",
    "Jónsdóttir",
    "Kovač",
    "Knuth",
    "Kowalski",
    "Lamarr",
    "Larsen",
    "Lefèvre",
    "Liskov",
    "Lovelace",
    "López",
    "Martín",
    "McCarthy",
    "Moreau",
    "Müller",
    "Nguyễn",
    "Novák",
    "Núñez",
    "O'Brien",
    "Öztürk",
    "Perlman",
    "Pérez",
    "Ritchie",
    "Rossi",
    "Schäfer",
    "Schröder",
    "Silva",
    "Søndergaard",
    "Thompson",
    "Torvalds",
    "Turing",
    "van Rossum",
    "Wilson",
    "Wirth",
    "Yılmaz",  # noqa: RUF001
    "Zielińska",
    "Żukowski",
)
# A name none of the generated ones shares a part with: three members hold it at
# every size, found by an accent-free search for part of it.
RARE_NAME = "Ottoline Quéméneur"
RARE_QUERY = "quemen"
COMMON_QUERY = "son"  # Johnson, Anderson, Håkansson, Wilson, Sonia … about a fifth
# Short queries match the start of any word: "jo" starts John, José, Johnson and
# Jónsdóttir, in about one name in fifteen; a name written without spaces is found
# by any character of it, here its last.
SPACELESS_NAME = "李小龍"
SHORT_COMMON_QUERY = "jo"
SHORT_RARE_QUERY = "龍"
QUERIES = (COMMON_QUERY, RARE_QUERY, SHORT_COMMON_QUERY, SHORT_RARE_QUERY)
PAGES = (
    ("first page", "/users/"),
    ("deep page", "/users/?after={middle}"),
    (f"search, common ({COMMON_QUERY!r})", f"/users/?q={COMMON_QUERY}"),
    (f"search, rare ({RARE_QUERY!r})", f"/users/?q={RARE_QUERY}"),
    (
        f"word start, common ({SHORT_COMMON_QUERY!r})",
        f"/users/?q={SHORT_COMMON_QUERY}",
    ),
    (
        f"word start, rare ({SHORT_RARE_QUERY!r})",
        f"/users/?q={urllib.parse.quote(SHORT_RARE_QUERY)}",
    ),
    ("old link, page 50", "/users/?page=50"),
)
BATCH = 5000
PORT = 8111


def random_name(rng: random.Random) -> str:
    first = rng.choice(FIRST)
    last = rng.choice(LAST)
    roll = rng.random()
    if roll < 0.15:
        return f"{first} {rng.choice('ABCDEFGHJKLMNOPRSTVW')}. {last}"
    if roll < 0.25:
        return f"{first} {last}-{rng.choice(LAST)}"
    return f"{first} {last}"


def make_app(database_url: str) -> Any:
    return create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            **BENCH_SETTINGS,
        }
    )


def start(database_url: str) -> str:
    """Empty and migrate the database; add the signed-in user; return its token."""
    from flask_migrate import upgrade

    app = make_app(database_url)
    with app.app_context():
        claim_database(db.engine)
        upgrade()
        user = User(
            email="bench@bench.example",
            name="Bench User",
            bio="",
            password_hash=hash_password(PASSWORD),
            email_verified_at=datetime.now(UTC),
            is_listed=False,  # the directory holds the seeded members alone
        )
        db.session.add(user)
        db.session.commit()
        token = sessions.start_session(
            user, remember=True, client=ClientInfo("127.0.0.1", "wrk")
        )
        db.session.commit()
        db.engine.dispose()
    return token


def grow(database_url: str, have: int, want: int) -> str:
    """Add members until there are `want`; return the cursor of the middle one."""
    app = make_app(database_url)
    rng = random.Random(want)
    with app.app_context():
        # the signed-in member's, made by start(): every member shares its hash
        password_hash = db.session.scalars(select(User.password_hash).limit(1)).one()
        now = datetime.now(UTC)
        started = time.monotonic()
        for batch_start in range(have, want, BATCH):
            rows = []
            for number in range(batch_start, min(want, batch_start + BATCH)):
                name = random_name(rng)
                if number in (7, 4242, 9001):
                    name = RARE_NAME
                elif number in (8, 4243, 9002):
                    name = SPACELESS_NAME
                rows.append(member_row(number, name, password_hash, now))
            db.session.execute(insert(User), rows)
            db.session.commit()
        log(f"  {want - have:,} members added in {time.monotonic() - started:.0f} s")
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a bulk load: statistics for
            # the planner, and the visibility map that index-only scans need.
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(text("VACUUM ANALYZE users, users_name_starts"))
        middle = db.session.execute(
            select(User.id, User.name_key)
            .where(LISTED)
            .order_by(User.name_key, User.id)
            .offset(want // 2)
            .limit(1)
        ).one()
        db.session.remove()
        db.engine.dispose()
    return f"{middle.id}:{middle.name_key}"


def time_searches(database_url: str, calls: int) -> dict[str, float]:
    """The median time of `list_members` for each query, in ms, `calls` of each."""
    app = make_app(database_url)
    times: dict[str, float] = {}
    with app.app_context():
        cap = app.config["DIRECTORY_COUNT_CAP"]
        for query in QUERIES:
            spent = []
            for _ in range(calls + 10):  # the first ten warm the caches
                started = time.perf_counter()
                list_members(query, 20, cap)
                spent.append((time.perf_counter() - started) * 1000)
                db.session.remove()
            times[query] = statistics.median(spent[10:])
        db.engine.dispose()
    return times


def drive(wrk: str, url: str, headers: list[str], seconds: int, rounds: int) -> Result:
    """A warm-up, then `rounds` runs of wrk; the median of their figures."""
    wrk_run(wrk, url, url, 1, 32, headers)
    runs = [wrk_run(wrk, url, url, seconds, 32, headers) for _ in range(rounds)]
    return Result(
        url,
        statistics.median(run.rps for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--port", type=int, default=PORT, help="gunicorn's port")
    args = parser.parse_args()
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="vestibule-directory-"))
    database_url = (
        os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    )
    kind = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    token = start(database_url)
    env = server_environment(database_url)
    figures: dict[str, list[Result]] = {label: [] for label, _ in PAGES}
    timings: list[dict[str, float]] = []
    have = 0
    for size in sorted(args.sizes):
        log(f"{kind}: growing to {size:,} members")
        middle = grow(database_url, have, size)
        have = size
        timings.append(time_searches(database_url, args.calls))
        server = Server("wsgi:app", args.port, env, str(ROOT))
        try:
            cookie = [f"Cookie: {browser_cookies(args.port, token)}"]
            for label, path in PAGES:
                cursor = urllib.parse.quote(middle, safe=":")
                url = f"http://127.0.0.1:{args.port}" + path.format(middle=cursor)
                log(f"  driving {label}")
                figures[label].append(
                    drive(wrk, url, cookie, args.seconds, args.rounds)
                )
        finally:
            server.stop()

    sizes = sorted(args.sizes)
    heads = " | ".join(f"{size:,}: req/s, p99 ms" for size in sizes)
    lines = [
        f"Directory, {kind}, {os.cpu_count()} cores; gunicorn 2 sync workers, "
        f"wrk -t2 -c32, medians of {args.rounds} runs of {args.seconds} s.",
        "",
        f"| page | {heads} | req/s {sizes[-1]:,} / {sizes[0]:,} "
        f"| p99 {sizes[-1]:,} / {sizes[0]:,} |",
        "|---|" + "---:|" * len(sizes) + "---:|---:|",
    ]
    for label, results in figures.items():
        cells = " | ".join(f"{r.rps:.0f}, {r.p99_ms:.1f}" for r in results)
        first, last = results[0], results[-1]
        lines.append(
            f"| {label} | {cells} | {last.rps / first.rps:.2f} "
            f"| {last.p99_ms / first.p99_ms:.2f} |"
        )
    lines += [
        "",
        f"`list_members` alone, median of {args.calls} calls in one process, ms:",
        "",
        "| query | " + " | ".join(f"{size:,}" for size in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for query in QUERIES:
        cells = " | ".join(f"{times[query]:.2f}" for times in timings)
        lines.append(f"| {query!r} | {cells} |")
    print("\n".join(lines))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
