"""What `make run`'s one gthread worker costs against two sync workers, paired.

Seeds the same 100,000 members as bench/run.py, starts Vestibule twice under
gunicorn.conf.py (BEFORE: 2 sync workers; AFTER: `make run`'s one gthread worker
with 2 threads) and bare Flask served as AFTER, and drives each page on both in
alternating rounds (bench/run.py's `compare`), so that the drift of a shared machine
cancels out of the ratio AFTER / BEFORE. Sign-ins (2 connections) alternate the
same way. Then it serves each setup alone under the load of bench/run.py's memory
table and reads total PSS. Run it from the repository root:

    .venv/bin/python bench/serving.py [--seconds 6] [--rounds 3] [--only search]
    .venv/bin/python bench/serving.py --before 1:gthread:1 --after 1:gthread:4

`--before` and `--after` give other setups as WORKERS:CLASS:THREADS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import (  # noqa: E402
    MAKE_RUN,
    PAGES,
    UNREACHABLE_LIMIT,
    WARM_UP_SECONDS,
    Memory,
    Server,
    Serving,
    bare_config,
    browser_cookies,
    compare,
    ensure_wrk,
    log,
    login_script,
    memory_under_load,
    pages_script,
    seed,
    server_environment,
    wrk_run,
)

BEFORE = Serving(workers=2, worker_class="sync", threads=1)
DRIVEN = ("login", "profile", "search")


def serving(text: str) -> Serving:
    """Read WORKERS:CLASS:THREADS, such as 2:sync:1."""
    workers, worker_class, threads = text.split(":")
    return Serving(int(workers), worker_class, int(threads))


def sign_ins(wrk: str, ports: dict[str, int], directory: Path, seconds: int,
             rounds: int) -> dict[str, list[float]]:  # fmt: skip
    """Sign-ins/s on 2 connections, each setup in turn, `rounds` times."""
    scripts = {
        name: login_script(port, directory / name) for name, port in ports.items()
    }
    found: dict[str, list[float]] = {name: [] for name in ports}
    for name, port in ports.items():
        url = f"http://127.0.0.1:{port}/auth/login"
        wrk_run(wrk, name, url, WARM_UP_SECONDS, 2, [], str(scripts[name]))
    for round_number in range(rounds):
        order = list(ports.items())[:: 1 if round_number % 2 else -1]
        for name, port in order:
            url = f"http://127.0.0.1:{port}/auth/login"
            result = wrk_run(
                wrk, name, url, seconds // rounds, 2, [], str(scripts[name])
            )
            found[name].append(result.rps)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=serving, default=BEFORE)
    parser.add_argument("--after", type=serving, default=MAKE_RUN)
    parser.add_argument("--only", nargs="+", choices=DRIVEN, default=list(DRIVEN))
    parser.add_argument("--no-sign-ins", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    before, after = args.before, args.after
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="vestibule-serving-"))
    for name in ("before", "after"):
        (workdir / name).mkdir()
    database_url = (
        os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    )
    log("seeding 100,000 members")
    token, member_id, last_page, query = seed(database_url)
    env = server_environment(database_url, FLASK_LOGIN_LIMIT_PER_IP=UNREACHABLE_LIMIT)
    seeded = {"member_id": member_id, "last_page": last_page, "query": query}
    ports = {"before": 8111, "after": 8112}
    servers = {
        "before": Server("wsgi:app", ports["before"], env, str(ROOT), serving=before),
        "after": Server("wsgi:app", ports["after"], env, str(ROOT), serving=after),
    }
    bare = Server("bare_app:app", 8113, env, str(ROOT / "bench"), serving=after,
                  config=bare_config(workdir))  # fmt: skip
    lines = []
    try:
        cookie = [f"Cookie: {browser_cookies(ports['after'], token)}"]
        for name, path, signed_in in PAGES:
            if name not in args.only:
                continue
            url = path.format(**seeded)
            headers = cookie if signed_in else []
            log(f"driving {url}")
            paired = compare(wrk, name, f"http://127.0.0.1:{ports['after']}{url}",
                             headers, f"http://127.0.0.1:{ports['before']}{url}",
                             args.seconds, 32, args.rounds)  # fmt: skip
            to_bare = compare(wrk, name, f"http://127.0.0.1:{ports['after']}{url}",
                              headers, "http://127.0.0.1:8113/", args.seconds, 32,
                              args.rounds)  # fmt: skip
            lines.append(
                f"| {name} | {paired.bare.rps:.0f} | {paired.page.rps:.0f} | "
                f"{paired.ratio:.2f} ({min(paired.ratios):.2f}-"
                f"{max(paired.ratios):.2f}) | {to_bare.ratio:.2f} |"
            )
        if not args.no_sign_ins:
            log("driving sign-ins")
            rates = sign_ins(wrk, ports, workdir, args.seconds, args.rounds)
            ratios = [
                a / b for a, b in zip(rates["after"], rates["before"], strict=True)
            ]
            lines.append(
                f"| sign-in (2 connections) | {statistics.median(rates['before']):.1f}"
                f" | {statistics.median(rates['after']):.1f} | "
                f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-"
                f"{max(ratios):.2f}) | |"
            )
    finally:
        for server in (*servers.values(), bare):
            server.stop()

    memory: dict[str, tuple[Memory, Memory]] = {}
    setups = () if args.no_memory else (("before", before), ("after", after))
    for name, setup in setups:
        log(f"reading memory, {setup.describe()}")
        port = 8114
        server = Server("wsgi:app", port, env, str(ROOT), serving=setup)
        try:
            paths = {page: path.format(**seeded) for page, path, _ in PAGES}
            script = pages_script(workdir / name, browser_cookies(port, token), paths)
            base_url = f"http://127.0.0.1:{port}"
            loads = [
                [wrk, "-t2", "-c32", "-s", str(script), base_url],
                [wrk, "-t1", "-c2", "-s", str(login_script(port, workdir / name)),
                 f"{base_url}/auth/login"],
            ]  # fmt: skip
            memory[name] = memory_under_load(server, loads, args.seconds)
        finally:
            server.stop()
    shutil.rmtree(workdir, ignore_errors=True)

    print(f"BEFORE: {before.describe()}; AFTER: {after.describe()}; {os.cpu_count()} "
          f"cores; {args.rounds} alternating rounds of "
          f"{max(1, args.seconds // args.rounds)} s\n")  # fmt: skip
    print("| page | before req/s | after req/s | after / before (rounds) | "
          "after / bare Flask (served as after) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    print("\n".join(lines))
    print("\nTotal PSS of master and workers, MiB, under load / 1 s after:")
    for name, (under, after) in memory.items():
        print(f"- {name}: {under.total_pss:.1f} / {after.total_pss:.1f}")


if __name__ == "__main__":
    main()
