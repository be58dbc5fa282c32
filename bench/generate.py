"""Benchmark data: a database `undersigned_bench` with one letter and many signatures.

    .venv/bin/python bench/generate.py --rows 1000000 [--pending 50000]

Signatures get realistic, varied names (so a name-prefix search matches a realistic share),
2,000 affiliations, eight countries, one in ten with a comment, one in twenty unlisted. Rows are
made inside PostgreSQL (generate_series), a million in well under a minute. Used by bench/run.py
(`make bench`) and bench/console.py; it drops and recreates the database each time: BENCH_DATABASE
(default `undersigned_bench`) on the server BENCH_PG (default the local one).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE", "undersigned_bench")
URL = f"{SERVER}/{DATABASE}"
SLUG = "bench"
ENV = {**os.environ, "APP_ENV": "development", "DATABASE_URL": URL, "RATELIMIT_ENABLED": "false"}
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Andrea",
    "Anil",
    "Anna",
    "Arjun",
    "Aylin",
    "Ben",
    "Bo",
    "Carlos",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Elena",
    "Emma",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Hiro",
    "Ines",
    "Ivan",
    "Jamal",
    "James",
    "Jia",
    "John",
    "Jose",
    "Julia",
    "Kai",
    "Kenji",
    "Lara",
    "Lea",
    "Li",
    "Lucas",
    "Maria",
    "Mark",
    "Marta",
    "Maya",
    "Mei",
    "Mohamed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Paul",
    "Priya",
    "Rahul",
    "Sara",
    "Sofia",
    "Tariq",
    "Tom",
    "Wei",
    "Yuki",
    "Zainab",
]
LAST_NAMES = [
    "Abbott",
    "Adeyemi",
    "Ahmed",
    "Alvarez",
    "Andersen",
    "Bauer",
    "Bianchi",
    "Brown",
    "Chen",
    "Cohen",
    "Costa",
    "Da",
    "Silva",
    "Dubois",
    "Eriksson",
    "Fischer",
    "Garcia",
    "Gupta",
    "Hansen",
    "Hernandez",
    "Hinton",
    "Ivanova",
    "Jensen",
    "Johnson",
    "Kim",
    "Kowalski",
    "Kumar",
    "Lee",
    "Lopez",
    "Martin",
    "Martinez",
    "Meyer",
    "Mori",
    "Muller",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Petrov",
    "Rossi",
    "Sato",
    "Schmidt",
    "Singh",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Tran",
    "Wagner",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Wright",
    "Yamamoto",
    "Yilmaz",
    "Zhang",
]


def _sql_array(words: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{word}'" for word in words) + "]"


def run_measured(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, env=env or ENV, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed")
    return time.perf_counter() - started, usage.ru_maxrss


#: How the import file names organisations: by the registry's name, by another of its names,
#: and not in the registry at all.
IMPORT_AFFILIATIONS = ("Registered Org {}", "RO {}", "Institute {}")


def write_import_file(path: Path, rows: int) -> None:
    """A CSV file as organisers bring them: country names and codes mixed, 500 registered
    organisations (by name or other name) and 500 institutes the registry does not have."""
    countries = ["GB", "Germany", "FR", "United States", "in", "Brazil"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "email", "affiliation", "title", "country", "comment"])
        for n in range(rows):
            writer.writerow(
                [
                    f"Imported Person {n}",
                    f"imported{n}@example.org",
                    # A third name a registered organisation, a third one of its other
                    # names, a third an institute the registry does not have.
                    IMPORT_AFFILIATIONS[n % 3].format(n % ORGANISATIONS_SIGNING + 1),
                    "Researcher",
                    countries[n % len(countries)],
                    "",
                ]
            )


def prepare(rows: int, pending: int = 0) -> None:
    """A fresh database: `rows` verified signatures and `pending` unconfirmed ones."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (DATABASE,),
        )
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=ENV, check=True, capture_output=True)
    body = ROOT / "docs" / "demo-letter.md"
    subprocess.run(
        [*FLASK, "letters", "create", SLUG, "--title", "Bench", "--body-file", str(body)],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    firsts, lasts = _sql_array(FIRST_NAMES), _sql_array(LAST_NAMES)
    with psycopg.connect(URL, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO affiliations (letter_id, name, key, created_at) "
            "SELECT (SELECT id FROM letters WHERE slug = %s), 'Organisation ' || n, "
            "'organisation ' || n, now() FROM generate_series(1, 2000) AS n",
            (SLUG,),
        )
        for state, count, offset in (("verified", rows, 0), ("pending", pending, rows)):
            if not count:
                continue
            connection.execute(
                f"""
                INSERT INTO signatures (letter_id, state, name, email, email_normalized,
                    affiliation_id, title, country, comment, is_public, emails_sent,
                    signed_at, verified_at, letter_version, quarantined, review_flags)
                SELECT (SELECT id FROM letters WHERE slug = %(slug)s), %(state)s::varchar,
                    ({firsts})[1 + n %% {len(FIRST_NAMES)}] || ' '
                        || ({lasts})[1 + (n / {len(FIRST_NAMES)}) %% {len(LAST_NAMES)}],
                    'signer' || n || '@example.org', 'signer' || n || '@example.org',
                    (SELECT min(id) FROM affiliations) + n %% 2000, 'Researcher',
                    (ARRAY['GB','US','DE','FR','CN','IN','BR','JP'])[1 + n %% 8],
                    CASE WHEN n %% 10 = 0 THEN 'A comment from signer ' || n END,
                    n %% 20 <> 0, 1,
                    now() - make_interval(secs => n),
                    CASE WHEN %(state)s::varchar = 'verified'
                        THEN now() - make_interval(secs => n) + interval '1 minute' END,
                    1, false, '[]'
                FROM generate_series(%(first)s::int, %(last)s::int) AS n
                """,
                {"slug": SLUG, "state": state, "first": offset + 1, "last": offset + count},
            )
        _organisations(connection)
        connection.execute("VACUUM ANALYZE")


#: Registered organisations: the first ORGANISATIONS_SIGNING have signatories (every fourth
#: signer confirmed from an address at one of them); the rest are watched and absent.
ORGANISATIONS = 550
ORGANISATIONS_SIGNING = 500


def _organisations(connection: psycopg.Connection) -> None:
    """The registry, affiliations linked to it, verified addresses and a watch-list: what the
    breakdown and check-a-list read. Written past the triggers' per-row work: the tallies are
    rebuilt in one statement afterwards, as migration 0009 builds them."""
    sectors = "(ARRAY['academia','industry','civil_society','government','other'])"
    connection.execute(
        f"INSERT INTO organisations (name, key, sector, country, created_at, updated_at) "
        f"SELECT 'Registered Org ' || k, 'registered org ' || k, {sectors}[1 + k % 5], 'GB', "
        f"now(), now() FROM generate_series(1, {ORGANISATIONS}) AS k"
    )
    connection.execute(
        "INSERT INTO organisation_domains (organisation_id, domain) "
        "SELECT id, 'org' || id || '.example' FROM organisations"
    )
    # Each has another name ("RO 7" for "Registered Org 7"), as acronyms are.
    connection.execute(
        "INSERT INTO organisation_aliases (organisation_id, name, key) "
        "SELECT id, 'RO ' || substr(name, 16), 'ro ' || substr(name, 16) FROM organisations"
    )
    # Half the letter's affiliations stand for a registered organisation (linked by hand:
    # their names are not the registry's).
    connection.execute(
        f"UPDATE affiliations SET organisation_id = (SELECT min(id) FROM organisations) "
        f"+ (id % {ORGANISATIONS_SIGNING}), linked_by_hand = true WHERE id % 2 = 0"
    )
    connection.execute(
        f"UPDATE signatures SET email_organisation_id = (SELECT min(id) FROM organisations) "
        f"+ (id % {ORGANISATIONS_SIGNING}) WHERE id % 4 = 0"
    )
    connection.execute(
        "INSERT INTO watched_organisations (letter_id, organisation_id) "
        "SELECT (SELECT id FROM letters WHERE slug = %s), o.id FROM organisations o "
        "ORDER BY o.id DESC LIMIT 60",
        (SLUG,),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=0)
    options = parser.parse_args()
    started = time.perf_counter()
    prepare(options.rows, options.pending)
    print(
        f"{options.rows:,} verified and {options.pending:,} pending signatures "
        f"in {time.perf_counter() - started:.1f} s ({URL})"
    )


if __name__ == "__main__":
    main()
