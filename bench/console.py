"""Benchmarks for the organiser console on PostgreSQL (not run by `make test`).

Each figure is a ratio against a baseline measured in the same run:
- import: `signatures import --verified` of 100,000 rows against reading and checking the same
  file alone (parsing, email and country checks: the part no import can skip);
- moderation table at a million signatures: a page deep in the name order (found by following
  cursors) against the first page, filtered to verified signatures; and text searches (a rare
  and a common match) against that first page.

    .venv/bin/python bench/console.py --rows 1000000 --import-rows 100000

Uses (and drops) the database BENCH_DATABASE (default `undersigned_bench`) on BENCH_PG (default
the local server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import ENV, FLASK, URL, prepare, run_measured, write_import_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    options = parser.parse_args()

    prepare(options.rows)
    os.environ.update(ENV)
    from app import create_app
    from app.accounts.organisers import create_organiser, grant
    from app.db import db
    from app.letters.letters import find_letter
    from app.models import OrganiserRole
    from app.moderation import imports
    from config import DevelopmentConfig

    app = create_app(
        DevelopmentConfig,
        SQLALCHEMY_DATABASE_URI=URL.replace("postgresql://", "postgresql+psycopg://"),
    )

    # Import: 100k rows against parsing the same file.
    source = Path("/tmp/undersigned-bench-import.csv")
    write_import_file(source, options.import_rows)
    started = time.perf_counter()
    parsed = imports.parse(source.read_bytes())
    parse_seconds = time.perf_counter() - started
    import_seconds, _ = run_measured(
        [*FLASK, "signatures", "import", "bench", str(source), "--verified"]
    )
    print(
        f"import of {len(parsed):,} rows: {import_seconds:.1f} s against {parse_seconds:.1f} s to "
        f"read and check the file alone, ratio {import_seconds / parse_seconds:.2f}"
    )
    source.unlink()

    # Moderation table: page 1 against a deep page, verified only, by name.
    with app.app_context():
        letter = find_letter(db.session, "bench")
        organiser = create_organiser(
            db.session, email="bench@campaign.example", password="benchmark passphrase", by=None
        )
        grant(db.session, letter, organiser, OrganiserRole.OWNER)
        db.session.commit()
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/admin/login",
        data={
            "csrf_token": token,
            "email": "bench@campaign.example",
            "password": "benchmark passphrase",
        },
    )
    base = "/admin/letters/bench/signatures?state=verified&sort=name"
    url, depth = base, 0
    while depth < 2000:
        body = client.get(url).get_data(as_text=True)
        marker = 'rel="next" href="'
        if marker not in body:
            break
        url = body.split(marker)[1].split('"')[0].replace("&amp;", "&")
        depth += 1

    def timed(address: str) -> float:
        times = []
        for _ in range(options.samples):
            began = time.perf_counter()
            assert client.get(address).status_code == 200
            times.append(time.perf_counter() - began)
        return statistics.median(times)

    first, deep = timed(base), timed(url)
    for label, query in (("rare", "signer 777777@"), ("common", "organisation 1")):
        found = timed(f"/admin/letters/bench/signatures?q={query}")
        print(
            f"moderation table, text search ({label}: {query!r}), median of {options.samples}: "
            f"{found * 1000:.1f} ms, ratio against unfiltered page 1 {found / first:.2f}"
        )
    print(
        f"moderation table, verified by name, median of {options.samples}: "
        f"page 1 {first * 1000:.1f} ms, page {depth + 1:,} {deep * 1000:.1f} ms, "
        f"ratio deep/first {deep / first:.2f}"
    )


if __name__ == "__main__":
    main()
