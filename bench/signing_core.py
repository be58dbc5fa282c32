"""Benchmarks for the signing core, on PostgreSQL with many signatures (not run by `make test`).

Each figure is a ratio against a baseline measured in the same run:
- keyset pagination: a page deep in the list (page 5,000 at 50 a page) against page 1;
- export memory: peak RSS of `signatures export` of every row against `letters list` (the same
  process start-up without the export).

    .venv/bin/python bench/signing_core.py --rows 1000000

Uses (and drops) the database `undersigned_bench` on BENCH_PG (default the local server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "undersigned_bench"
URL = f"{SERVER}/{DATABASE}"
ENV = {**os.environ, "APP_ENV": "development", "DATABASE_URL": URL, "RATELIMIT_ENABLED": "false"}
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]


def run_measured(args: list[str]) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed")
    return time.perf_counter() - started, usage.ru_maxrss


def prepare(rows: int) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=ENV, check=True, capture_output=True)
    body = ROOT / "docs" / "demo-letter.md"
    subprocess.run(
        [*FLASK, "letters", "create", "bench", "--title", "Bench", "--body-file", str(body)],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    with psycopg.connect(URL, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO affiliations (letter_id, name, key, created_at) "
            "SELECT (SELECT id FROM letters WHERE slug = 'bench'), 'Organisation ' || n, "
            "'organisation ' || n, now() FROM generate_series(1, 2000) AS n"
        )
        connection.execute(
            """
            INSERT INTO signatures (letter_id, state, name, email, email_normalized,
                affiliation_id, title, country, comment, is_public, emails_sent,
                signed_at, verified_at)
            SELECT (SELECT id FROM letters WHERE slug = 'bench'), 'verified',
                'Signer ' || n, 'signer' || n || '@example.org', 'signer' || n || '@example.org',
                (SELECT min(id) FROM affiliations) + n %% 2000, 'Researcher',
                (ARRAY['GB','US','DE','FR','CN','IN','BR','JP'])[1 + n %% 8],
                CASE WHEN n %% 10 = 0 THEN 'A comment from signer ' || n END, n %% 20 <> 0, 1,
                now() - make_interval(secs => n),
                now() - make_interval(secs => n) + interval '1 minute'
            FROM generate_series(1, %s) AS n
            """,
            (rows,),
        )
        connection.execute("ANALYZE")


def pagination(rows: int, samples: int) -> tuple[float, float]:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from config import DevelopmentConfig

    app = create_app(
        DevelopmentConfig,
        SQLALCHEMY_DATABASE_URI=URL.replace("postgresql://", "postgresql+psycopg://"),
    )
    client = app.test_client()

    # Walk to page 5,000 (or as deep as the data goes) by following cursors once.
    depth = min(5000, rows // 50 - 1)
    cursor = None
    for _ in range(depth):
        cursor = client.get(
            f"/api/letters/bench/signatories?limit=50&cursor={cursor or ''}"
        ).get_json()["next"]

    def timed(url: str) -> float:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    first = timed("/api/letters/bench/signatories?limit=50")
    deep = timed(f"/api/letters/bench/signatories?limit=50&cursor={cursor}")
    return first, deep


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=30)
    options = parser.parse_args()

    started = time.perf_counter()
    prepare(options.rows)
    print(f"seeded {options.rows:,} verified signatures in {time.perf_counter() - started:.1f} s")

    first, deep = pagination(options.rows, options.samples)
    print(
        f"signatories API, median of {options.samples}: page 1 {first * 1000:.1f} ms, "
        f"page 5,000 {deep * 1000:.1f} ms, ratio deep/first {deep / first:.2f}"
    )

    _, baseline_rss = run_measured([*FLASK, "letters", "list"])
    output = Path("/tmp/undersigned-bench-export.csv")
    seconds, export_rss = run_measured(
        [*FLASK, "signatures", "export", "bench", "--format", "csv", "--output", str(output)]
    )
    lines = sum(1 for _ in output.open(encoding="utf-8")) - 1
    print(
        f"export of {lines:,} rows to CSV: {seconds:.1f} s, peak RSS {export_rss / 1024:.0f} MiB "
        f"against {baseline_rss / 1024:.0f} MiB for `letters list`, "
        f"ratio {export_rss / baseline_rss:.2f}"
    )
    output.unlink()


if __name__ == "__main__":
    main()
