"""`make bench`: every performance target of the project, measured against PostgreSQL.

Starts Undersigned and a minimal Flask "hello" app under the same gunicorn settings
(gunicorn.conf.py), drives both with wrk from a second process, and prints one table: each
scenario's figure, the baseline measured in the same run, the ratio and the target. Baselines
taken in the same run cancel out what else the machine is doing.

    .venv/bin/python bench/run.py            # the full suite: 1,000,000 signatures, minutes
    .venv/bin/python bench/run.py --smoke    # seconds, small data: CI runs this so it never rots
    .venv/bin/python bench/run.py --imports-only    # the import scenarios alone

The database is BENCH_DATABASE (default `undersigned_bench`, dropped and made again) on BENCH_PG.

The smoke run checks that every scenario works and that nothing is lost or sent twice (those
checks fail the run); its figures mean little and its targets are not enforced.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generate import (
    FIRST_NAMES,
    FLASK,
    LAST_NAMES,
    ROOT,
    SLUG,
    URL,
    prepare,
    run_measured,
    write_import_file,
)

WRK_DIR = ROOT / "bench" / "wrk"
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SECRET = "bench-secret-not-for-production"
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/15")


@dataclass
class Row:
    scenario: str
    figure: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None  # None: no target, or not enforced (smoke)


@dataclass(frozen=True)
class Sizes:
    rows: int
    pending: int
    seconds: int
    connections: int
    import_rows: int
    mail_messages: int
    surge_seconds: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(1_000_000, 60_000, 10, 64, 200_000, 20_000, 20)

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(5_000, 3_000, 2, 8, 2_000, 500, 3)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_environment(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": URL,
        "REDIS_URL": REDIS_URL,
        # One load generator on one address: the per-address limits would stop it at once.
        # The limiter stays on (its Redis round trips are part of every real request).
        "SIGN_RATE_LIMIT": "100000000 per minute",
        "LINK_PAGE_RATE_LIMIT": "100000000 per minute",
        "CHECK_RATE_LIMIT": "100000000 per minute",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOG_LEVEL": "warning",
    }


@contextmanager
def gunicorn(target: str, env: dict[str, str]) -> Iterator[str]:
    """A gunicorn server with the production settings; yields its base URL once it answers."""
    port = env["GUNICORN_BIND"].rsplit(":", 1)[1]
    process = subprocess.Popen(
        [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), target], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", int(port)), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    sys.exit(f"gunicorn {target} exited with {process.returncode}")
                time.sleep(0.1)
        # Every worker imports the app on its own: warm them all before measuring.
        for _ in range(20):
            urllib.request.urlopen(base + "/", timeout=10).read()
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def wrk(url: str, script: str, sizes: Sizes, **env: str) -> dict:
    """One wrk run (2 threads); the figures its done() hook printed."""
    threads = 2
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{max(sizes.connections, threads)}",
            f"-d{sizes.seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_DIR / script),
            url,
        ],
        env={**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), "BENCH_THREADS": str(threads), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH "))
    figures = json.loads(line.removeprefix("BENCH "))
    figures["rate"] = figures["requests"] / figures["seconds"]
    return figures


def token_and_cookie(base: str) -> tuple[str, str]:
    """What the sign form's script fetches: a CSRF token and the session cookie it belongs to."""
    with urllib.request.urlopen(base + "/csrf-token", timeout=10) as response:
        token = json.load(response)["csrf_token"]
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    return token, cookie


def fetch_ms(url: str, samples: int) -> float:
    """Median milliseconds of a GET, one after another."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rate_row(name: str, figures: dict, hello: float, minimum: float, smoke: bool) -> Row:
    ratio = figures["rate"] / hello
    return Row(
        name,
        f"{figures['rate']:,.0f} req/s (p99 {figures['p99_ms']:.0f} ms)",
        f"hello {hello:,.0f} req/s",
        ratio,
        f">= {minimum}",
        None if smoke else ratio >= minimum,
    )


def check(condition: bool, message: str) -> None:
    """An invariant: broken, the run fails, smoke or not."""
    if not condition:
        sys.exit(f"bench: FAILED: {message}")


def unexpected_statuses(figures: dict, expected: str) -> dict:
    return {k: v for k, v in figures["statuses"].items() if k != expected}


def scenario_pages(base: str, hello: float, hello_base: str, sizes: Sizes, smoke: bool) -> list:
    rows: list[Row] = []
    letter = wrk(f"{base}/letters/{SLUG}", "get.lua", sizes)
    check(not unexpected_statuses(letter, "200"), f"letter page: {letter['statuses']}")
    rows.append(rate_row("letter page", letter, hello, 0.8, smoke))
    # A link shared in a chat or a feed carries a tracking parameter, which is not part of the
    # page: replayed like the bare address.
    shared = wrk(f"{base}/letters/{SLUG}?utm_source=bench", "get.lua", sizes)
    check(not unexpected_statuses(shared, "200"), f"shared link: {shared['statuses']}")
    rows.append(rate_row("letter page, shared link (?utm_source=...)", shared, hello, 0.3, smoke))

    # First and last page of the public list and of the API. A query string keeps both out of
    # the worker's page cache, so each is rendered and queried every time.
    with psycopg.connect(URL) as connection:
        oldest = connection.execute(
            "SELECT verified_at, id FROM signatures WHERE state = 'verified' "
            "ORDER BY verified_at, id LIMIT 2"
        ).fetchall()
    from app.signatories.public_list import page_cursor

    # The cursor of the row just after the oldest: the last page, deep down the list.
    last = page_cursor(oldest[1][0], oldest[1][1])
    samples = 5 if smoke else 30
    for label, path in (
        ("public list", f"/letters/{SLUG}/signatories?country="),
        ("API list", f"/api/letters/{SLUG}/signatories?limit=50"),
    ):
        joiner = "&"
        first_ms = fetch_ms(base + path, samples)
        last_ms = fetch_ms(f"{base}{path}{joiner}cursor={last}", samples)
        ratio = last_ms / first_ms
        rows.append(
            Row(
                f"{label}: last page",
                f"{last_ms:.1f} ms",
                f"first page {first_ms:.1f} ms",
                ratio,
                "<= 1.5",
                None if smoke else ratio <= 1.5,
            )
        )
    hello_ms = fetch_ms(hello_base + "/", samples)
    rows += scenario_trust(base, hello_ms, sizes, smoke)
    for prefix in ("Mar", "Ha", "Yamamoto"):
        search_ms = fetch_ms(f"{base}/api/letters/{SLUG}/signatories?q={prefix}", samples)
        rows.append(
            Row(
                f"search by name prefix '{prefix}'",
                f"{search_ms:.1f} ms",
                f"hello {hello_ms:.1f} ms",
                search_ms / hello_ms,
                "< 50 ms",
                None if smoke else search_ms < 50,
            )
        )
    return rows


def post_json_ms(url: str, body: dict, samples: int) -> float:
    """Median milliseconds of a JSON POST, one after another."""
    data = json.dumps(body).encode()
    times = []
    for _ in range(samples):
        request = urllib.request.Request(
            url, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def scenario_trust(base: str, hello_ms: float, sizes: Sizes, smoke: bool) -> list[Row]:
    """Who signed (the breakdown) and check-a-list, on the big letter: each under 200 ms.

    The breakdown is asked with a query string of its own each time, so the page replay never
    answers for it: what is timed is the work."""
    samples = 5 if smoke else 21
    times = []
    for sample in range(samples):
        started = time.perf_counter()
        with urllib.request.urlopen(
            f"{base}/api/letters/{SLUG}/affiliations?sample={sample}", timeout=30
        ) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    breakdown_ms = statistics.median(times)
    # Half of them signed (names the generator uses), half did not; all in one check.
    names = [
        f"{first} {last}" for first, last in zip(FIRST_NAMES * 10, LAST_NAMES * 10, strict=False)
    ][:250] + [f"Nobody Signed {n}" for n in range(250)]
    check_ms = post_json_ms(f"{base}/api/letters/{SLUG}/check", {"names": names}, samples)
    return [
        Row(
            f"who signed: breakdown of {sizes.rows:,} signatures (JSON)",
            f"{breakdown_ms:.1f} ms",
            f"hello {hello_ms:.1f} ms",
            breakdown_ms / hello_ms,
            "< 200 ms",
            None if smoke else breakdown_ms < 200,
        ),
        Row(
            "check a list of 500 names",
            f"{check_ms:.1f} ms",
            f"hello {hello_ms:.1f} ms",
            check_ms / hello_ms,
            "< 200 ms",
            None if smoke else check_ms < 200,
        ),
    ]


def scenario_rendering(hello: float, sizes: Sizes, smoke: bool) -> list[Row]:
    """The letter page with the replay off: rendered on every visit, as after a console change
    or where PAGE_CACHE_SECONDS=0. Its CPU in-process (bench/render_cpu.py) has a target; its
    rate under wrk is shown for what it is."""
    env = {**app_environment(free_port()), "PAGE_CACHE_SECONDS": "0"}
    # CPU time is measured on a shared machine: let PostgreSQL write out what earlier
    # scenarios dirtied first, rather than while the page is measured.
    # (A BENCH_PG user without the right to is measured as things are.)
    with (
        psycopg.connect(URL, autocommit=True) as connection,
        contextlib.suppress(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("CHECKPOINT")

    rounds, requests = (3, 100) if smoke else (7, 400)
    measured = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "render_cpu.py"), SLUG, str(rounds), str(requests)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    check(measured.returncode == 0, f"render_cpu.py failed:\n{measured.stderr}")
    cpu = json.loads(measured.stdout.strip().splitlines()[-1])
    rows = [
        Row(
            "letter page rendered: CPU per page, in-process",
            f"{cpu['page_ms']:.2f} ms",
            f"hello {cpu['hello_ms']:.2f} ms",
            cpu["page_ms"] / cpu["hello_ms"],
            "<= 3 ms",
            None if smoke else cpu["page_ms"] <= 3,
        )
    ]
    with gunicorn("wsgi:app", env) as base:
        rendered = wrk(f"{base}/letters/{SLUG}?utm_source=bench", "get.lua", sizes)
    check(not unexpected_statuses(rendered, "200"), f"rendered page: {rendered['statuses']}")
    row = rate_row("letter page rendered on every visit (replay off)", rendered, hello, 0, smoke)
    row.target, row.met = "(shown, no target)", None
    rows.append(row)
    return rows


def signatures_made(run: str) -> tuple[int, int, int]:
    """Signatures, queued emails about them, and distinct addresses, for one sign run."""
    with psycopg.connect(URL) as connection:
        row = connection.execute(
            "SELECT count(*), count(DISTINCT s.email_normalized), "
            "(SELECT count(*) FROM outbound_emails o JOIN signatures t ON o.signature_id = t.id "
            " WHERE t.email_normalized LIKE %(pattern)s) "
            "FROM signatures s WHERE s.email_normalized LIKE %(pattern)s",
            {"pattern": f"bench-{run}-%"},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[2]), int(row[1])


def scenario_signing(base: str, hello: float, sizes: Sizes, smoke: bool) -> tuple[list[Row], dict]:
    token, cookie = token_and_cookie(base)
    run = f"s{int(time.time())}"
    figures = wrk(
        base,
        "sign.lua",
        sizes,
        BENCH_RUN=run,
        BENCH_SLUG=SLUG,
        BENCH_CSRF_TOKEN=token,
        BENCH_COOKIE=cookie,
    )
    check(not unexpected_statuses(figures, "303"), f"signing answered {figures['statuses']}")
    successes = figures["statuses"].get("303", 0)
    stored, emails, distinct = signatures_made(run)
    # wrk stops listening when time is up: requests then in flight may still be stored
    # (at most one per connection), but never twice, and never without their email.
    check(
        stored == distinct == emails, f"{stored} signatures, {emails} emails, {distinct} addresses"
    )
    check(
        successes <= stored <= successes + sizes.connections,
        f"{successes} successful responses but {stored} signatures stored",
    )
    row = rate_row("signing", figures, hello, 0.3, smoke)
    row.target = "(against its floor, below)"
    row.met = None
    note = Row(
        "  signatures stored / emails queued",
        f"{stored:,} / {emails:,}",
        f"{successes:,} responses",
        None,
        "1 each per response",
        True,
    )
    return [row, note], figures


def confirmation_tokens(limit: int, path: Path) -> int:
    with psycopg.connect(URL) as connection:
        ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM signatures WHERE state = 'pending' ORDER BY id LIMIT %s", (limit,)
            )
        ]
    write_tokens(ids, path)
    return len(ids)


def write_tokens(signature_ids: list[int], path: Path) -> None:
    """The confirm links' tokens for these signatures, one per line, as confirm.lua reads them."""
    from app.signing.tokens import TokenPurpose, make_token

    path.write_text(
        "".join(make_token(SECRET, TokenPurpose.CONFIRM, i) + "\n" for i in signature_ids)
    )


def scenario_confirming(
    base: str, hello: float, sizes: Sizes, smoke: bool, work: Path
) -> tuple[Row, dict]:
    token, cookie = token_and_cookie(base)
    tokens = work / "tokens.txt"
    available = confirmation_tokens(sizes.pending, tokens)
    figures = wrk(
        base,
        "confirm.lua",
        sizes,
        BENCH_SLUG=SLUG,
        BENCH_CSRF_TOKEN=token,
        BENCH_COOKIE=cookie,
        BENCH_TOKENS=str(tokens),
    )
    check(not unexpected_statuses(figures, "303"), f"confirming answered {figures['statuses']}")
    with psycopg.connect(URL) as connection:
        # One statement, one snapshot: a confirmation still finishing cannot fall in between.
        kept, true = connection.execute(
            "SELECT (SELECT sum(verified) FROM signature_counts), (SELECT count(*) "
            "FROM signatures WHERE state = 'verified' AND NOT quarantined)"
        ).fetchone()
    check(kept == true, f"kept count {kept} but {true} verified signatures")
    row = rate_row("confirming", figures, hello, 0.3, smoke)
    row.target = "(against its floor, below)"
    row.met = None
    if figures["requests"] > available:
        row.figure += f" [{available:,} tokens: some confirmed twice]"
    return row, figures


def scenario_floor(
    floor: str, libraries: str, hello: float, sizes: Sizes, smoke: bool, work: Path
) -> tuple[list[Row], dict[str, dict]]:
    """The two floors: what signing and confirming could reach at best (bench/floor.py), and
    the same with the libraries Undersigned is built on doing their part (libraries_floor.py)."""
    figures: dict[str, dict] = {}
    rows = []
    for kind, base in (("libraries", libraries), ("floor", floor)):
        if kind == "floor":  # the floor checks neither token nor cookie
            token, cookie = "", ""
        else:
            token, cookie = token_and_cookie(base)
        auth = {"BENCH_CSRF_TOKEN": token, "BENCH_COOKIE": cookie}
        run = f"{kind}{int(time.time())}"
        signing = wrk(base, "sign.lua", sizes, BENCH_RUN=run, BENCH_SLUG=SLUG, **auth)
        check(not unexpected_statuses(signing, "303"), f"{kind} signing: {signing['statuses']}")
        # From the other end of the pending signatures than the ones the app confirmed.
        with psycopg.connect(URL) as connection:
            pending = [
                row[0]
                for row in connection.execute(
                    "SELECT id FROM signatures WHERE state = 'pending' ORDER BY id DESC LIMIT %s",
                    (sizes.pending // 3,),
                )
            ]
        ids = work / f"{kind}-ids.txt"
        if kind == "floor":
            ids.write_text("".join(f"{signature_id}\n" for signature_id in pending))
        else:
            write_tokens(pending, ids)
        confirming = wrk(base, "confirm.lua", sizes, BENCH_SLUG=SLUG, BENCH_TOKENS=str(ids), **auth)
        check(
            not unexpected_statuses(confirming, "303"),
            f"{kind} confirming: {confirming['statuses']}",
        )
        for name, result in (("signing", signing), ("confirming", confirming)):
            figures[f"{kind} {name}"] = result
            label = (
                f"  floor: bare {name}, no checks"
                if kind == "floor"
                else f"  floor with the libraries: {name}"
            )
            row = rate_row(label, result, hello, 0.3, smoke)
            row.target = (
                f"the best {name} can do"
                if kind == "floor"
                else "CSRF, form, limiter, pooled session"
            )
            row.met = None
            rows.append(row)
    rows.sort(key=lambda row: "libraries" in row.scenario)  # the floor first
    return rows, figures


def against_floor(
    name: str, app: dict, floor: dict, minimum: float, sizes: Sizes, smoke: bool
) -> Row:
    """The app's rate as a share of the floor's, measured in the same run."""
    ratio = app["rate"] / floor["rate"]
    return Row(
        f"{name} against its floor",
        f"{app['rate']:,.0f} req/s (p99 {app['p99_ms']:.0f} ms)",
        f"floor {floor['rate']:,.0f} req/s",
        ratio,
        f">= {minimum}, p99 < 250 ms @{sizes.connections}",
        None if smoke else ratio >= minimum and app["p99_ms"] < 250,
    )


def libraries_against_floor(floors: dict[str, dict], sizes: Sizes) -> list[Row]:
    """How far the libraries alone stay from the floor: the most the app could reach with them."""
    rows = []
    for name in ("signing", "confirming"):
        libraries, floor = floors[f"libraries {name}"], floors[f"floor {name}"]
        rows.append(
            Row(
                f"  {name} with the libraries alone, against the floor",
                f"{libraries['rate']:,.0f} req/s (p99 {libraries['p99_ms']:.0f} ms)",
                f"floor {floor['rate']:,.0f} req/s",
                libraries["rate"] / floor["rate"],
                "(the ceiling of the ratio above)",
                None,
            )
        )
    return rows


def scenario_export(sizes: Sizes, work: Path, smoke: bool) -> Row:
    output = work / "export.csv"
    seconds, rss = run_measured(
        [*FLASK, "signatures", "export", SLUG, "--format", "csv", "--output", str(output)],
        env=export_environment(),
    )
    copy = work / "copy.csv"
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            URL,
            "-qc",
            "\\copy (SELECT s.name, s.email, a.name, s.title, s.country, s.comment, s.is_public, "
            "s.state, s.signed_at, s.verified_at FROM signatures s JOIN affiliations a "
            "ON a.id = s.affiliation_id WHERE s.state = 'verified' ORDER BY s.id) "
            f"TO '{copy}' WITH CSV HEADER",
        ],
        check=True,
    )
    copy_seconds = time.perf_counter() - started
    with output.open(encoding="utf-8") as handle:
        exported = sum(1 for _ in csv.reader(handle)) - 1
    ratio = seconds / copy_seconds
    mib = rss / 1024
    return Row(
        f"export {exported:,} rows to CSV",
        f"{seconds:.1f} s, peak {mib:.0f} MiB",
        f"psql \\copy {copy_seconds:.1f} s",
        ratio,
        "<= 3, < 150 MiB",
        None if smoke else ratio <= 3 and mib < 150,
    )


def console_opener(base: str) -> urllib.request.OpenerDirector:
    """A browser-like client signed in to the console as an organiser the command line made."""
    email, password = f"organiser-{int(time.time())}@bench.example", "bench-password-0123456789"
    subprocess.run(
        [*FLASK, "organisers", "create", email, "--password-stdin", "--superuser"],
        input=password,
        cwd=ROOT,
        env=export_environment(),
        check=True,
        capture_output=True,
        text=True,
    )
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(base + "/admin/login", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    check(token is not None, "no CSRF token on the console's sign-in page")
    assert token is not None
    answers = {"csrf_token": token.group(1), "email": email, "password": password}
    with opener.open(base + "/admin/login", urlencode(answers).encode(), timeout=10) as response:
        check("/admin" in response.url, f"signing in to the console ended at {response.url}")
    return opener


def scenario_console_export(base: str, work: Path, smoke: bool) -> Row:
    """What organisers do: download the verified signatures from the console, as CSV."""
    opener = console_opener(base)
    output = work / "console.csv"
    started = time.perf_counter()
    url = f"{base}/admin/letters/{SLUG}/signatures/export?format=csv&state=verified"
    with opener.open(url, timeout=120) as response, output.open("wb") as handle:
        shutil.copyfileobj(response, handle, 1 << 20)
    seconds = time.perf_counter() - started
    with output.open(encoding="utf-8") as handle:
        exported = sum(1 for _ in csv.reader(handle)) - 1
    with psycopg.connect(URL) as connection:
        verified = connection.execute(
            "SELECT count(*) FROM signatures s JOIN letters l ON l.id = s.letter_id "
            "WHERE l.slug = %s AND s.state = 'verified'",
            (SLUG,),
        ).fetchone()
    check(verified is not None and exported == verified[0], f"console exported {exported} rows")
    return Row(
        f"console export {exported:,} rows to CSV (HTTP)",
        f"{seconds:.1f} s",
        "",
        None,
        "< 30 s (the worker's time limit)",
        None if smoke else seconds < 30,
    )


def export_environment() -> dict[str, str]:
    return {**os.environ, "APP_ENV": "development", "DATABASE_URL": URL}


def scenario_imports(sizes: Sizes, work: Path, smoke: bool) -> list[Row]:
    """`signatures import --verified` of one file into a letter made just now and into the
    big letter. The new letter's rows are in no statistics (the data's ANALYZE ran before it
    existed, and its import adds every row after): what a real import meets."""
    source = work / "import.csv"
    write_import_file(source, sizes.import_rows)
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            URL,
            "-qc",
            "CREATE TEMP TABLE raw (name text, email text, affiliation text, title text, "
            "country text, comment text)",
            "-c",
            f"\\copy raw FROM '{source}' WITH CSV HEADER",
        ],
        check=True,
    )
    copy_seconds = time.perf_counter() - started
    new_letter = f"bench-import-{int(time.time())}"
    subprocess.run(
        [
            *FLASK,
            "letters",
            "create",
            new_letter,
            "--title",
            "Bench import",
            "--body-file",
            str(ROOT / "docs" / "demo-letter.md"),
        ],
        cwd=ROOT,
        env=export_environment(),
        check=True,
        capture_output=True,
    )
    rows = []
    for slug, into in (
        (new_letter, "a new letter"),
        (SLUG, f"the {sizes.rows:,}-signature letter"),
    ):
        seconds, _ = run_measured(
            [
                *FLASK,
                "signatures",
                "import",
                slug,
                str(source),
                "--verified",
                "--source",
                "Bench import",
            ],
            env=export_environment(),
        )
        with psycopg.connect(URL) as connection:
            imported, kept, true, linked = connection.execute(
                "SELECT count(*) FILTER (WHERE s.source = 'Bench import'), "
                "(SELECT sum(verified) FROM signature_counts c WHERE c.letter_id = l.id), "
                "count(*) FILTER (WHERE s.state = 'verified' AND NOT s.quarantined), "
                "count(*) FILTER (WHERE s.source = 'Bench import' "
                "AND a.organisation_id IS NOT NULL) "
                "FROM letters l JOIN signatures s ON s.letter_id = l.id "
                "JOIN affiliations a ON a.id = s.affiliation_id WHERE l.slug = %s "
                "GROUP BY l.id",
                (slug,),
            ).fetchone()
        check(imported == sizes.import_rows, f"{imported:,} of {sizes.import_rows:,} rows imported")
        # Two thirds of the file name a registered organisation (by name or other name).
        expected_links = sum(1 for n in range(sizes.import_rows) if n % 3 != 2)
        check(linked == expected_links, f"{linked:,} imported rows linked, not {expected_links:,}")
        check(kept == true, f"kept count {kept} but {true} verified signatures after the import")
        rows.append(
            Row(
                f"import {sizes.import_rows:,} rows (verified) into {into}",
                f"{seconds:.1f} s",
                f"psql \\copy {copy_seconds:.2f} s",
                seconds / copy_seconds,
                "< 20 s",
                None if smoke else seconds < 20,
            )
        )
    return rows


@contextmanager
def smtp_sink() -> Iterator[int]:
    """A real SMTP server on loopback that accepts and discards (aiosmtpd's Sink)."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def mail_workers(port: int, count: int) -> Iterator[None]:
    env = {**export_environment(), "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port)}
    workers = [
        subprocess.Popen([*FLASK, "mail", "work"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)


def wait_for_outbox(deadline_seconds: float) -> None:
    with psycopg.connect(URL, autocommit=True) as connection:
        stop = time.monotonic() + deadline_seconds
        while time.monotonic() < stop:
            left = connection.execute(
                "SELECT count(*) FROM outbound_emails WHERE status IN ('queued', 'sending')"
            ).fetchone()
            if left and left[0] == 0:
                return
            time.sleep(0.2)
    sys.exit("bench: FAILED: the outbox did not drain")


def raw_smtp_rate(port: int, messages: int) -> float:
    """The ceiling: the same number of messages through smtplib on one connection, no database."""
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Undersigned <no-reply@localhost>"
    message["To"] = "someone@example.org"
    message["Subject"] = "Please confirm your signature"
    message.set_content("Confirm: http://127.0.0.1/letters/bench/confirm/x\n" * 10)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for _ in range(messages):
            client.send_message(message)
    return messages / (time.perf_counter() - started)


#: Confirmation emails are written by the worker from their signature: the n-th queued one
#: (from OFFSET) is about the n-th signature of the benchmark letter.
_SIGNATURES_TO_WRITE_TO = (
    "FROM (SELECT s.id, s.letter_id, row_number() OVER (ORDER BY s.id) + %s AS n "
    "FROM signatures s JOIN letters l ON l.id = s.letter_id WHERE l.slug = '" + SLUG + "' "
    "ORDER BY s.id OFFSET %s LIMIT %s) AS signature"
)


def scenario_mail(base: str, sizes: Sizes, smoke: bool) -> list[Row]:
    rows: list[Row] = []
    with psycopg.connect(URL, autocommit=True) as connection:
        connection.execute("DELETE FROM outbound_emails")
    with smtp_sink() as port:
        ceiling = raw_smtp_rate(port, min(sizes.mail_messages, 5000))
        # Drain: a backlog of confirmation emails, two workers.
        with psycopg.connect(URL, autocommit=True) as connection:
            connection.execute(
                "INSERT INTO outbound_emails (kind, to_address, letter_id, signature_id, "
                "language, message_id, status, attempts, next_attempt_at, created_at) "
                "SELECT 'confirm', 'drain' || n || '@example.org', letter_id, id, 'en', "
                "'<drain' || n || '@bench>', 'queued', 0, now(), now() " + _SIGNATURES_TO_WRITE_TO,
                (0, 0, sizes.mail_messages),
            )
        with mail_workers(port, 2):
            wait_for_outbox(600)
        with psycopg.connect(URL) as connection:
            first, last, sent = connection.execute(
                "SELECT min(sent_at), max(sent_at), count(*) FROM outbound_emails "
                "WHERE status = 'sent'"
            ).fetchone()
        check(sent == sizes.mail_messages, f"{sent} of {sizes.mail_messages} emails sent")
        rate = sent / max((last - first).total_seconds(), 0.001)
        rows.append(
            Row(
                "mail: outbox drain, 2 workers",
                f"{rate:,.0f} msg/s",
                f"smtplib alone {ceiling:,.0f} msg/s",
                rate / ceiling,
                ">= 500 msg/s",
                None if smoke else rate >= 500,
            )
        )
        # Surge: signing at about 500 a second for a while, with two workers delivering.
        token, cookie = token_and_cookie(base)
        run = f"m{int(time.time())}"
        connections = 50
        surge = replace(sizes, seconds=sizes.surge_seconds, connections=connections)
        with mail_workers(port, 2):
            figures = wrk(
                base,
                "sign.lua",
                surge,
                BENCH_RUN=run,
                BENCH_SLUG=SLUG,
                BENCH_CSRF_TOKEN=token,
                BENCH_COOKIE=cookie,
                # 50 connections, each pausing 100 ms between posts: about 500 a second.
                BENCH_DELAY_MS=str(connections * 1000 // 500),
            )
            wait_for_outbox(600)
        delays = seconds_each(
            "SELECT extract(epoch FROM o.sent_at - s.signed_at) FROM outbound_emails o "
            "JOIN signatures s ON s.id = o.signature_id WHERE s.email_normalized LIKE %s",
            f"bench-{run}-%",
        )
        check(len(delays) > 0, "no confirmation email was sent during the surge")
        p95 = percentile_95(delays)
        rows.append(
            Row(
                f"mail: 95% of confirmations leave within (signing {figures['rate']:.0f}/s)",
                f"{p95:.1f} s",
                f"{len(delays):,} emails",
                None,
                "<= 10 s",
                None if smoke else p95 <= 10 and figures["rate"] >= 450,
            )
        )
        # The same surge at the full 500 a second, queued straight into the outbox as the app
        # nodes of a bigger deployment would: what the mail side does with it, on its own.
        with mail_workers(port, 2):
            fed, feed_rate = feed_outbox(run, 500, sizes.surge_seconds)
            wait_for_outbox(600)
        delays = seconds_each(
            "SELECT extract(epoch FROM sent_at - created_at) FROM outbound_emails "
            "WHERE message_id LIKE %s AND status = 'sent'",
            f"<surge-{run}-%",
        )
        check(len(delays) == fed, f"{len(delays)} of {fed} surge emails sent")
        p95 = percentile_95(delays)
        rows.append(
            Row(
                f"  the same, {feed_rate:.0f}/s queued as by more app nodes",
                f"{p95:.1f} s",
                f"{fed:,} emails",
                None,
                "<= 10 s",
                None if smoke else p95 <= 10 and feed_rate >= 450,
            )
        )
    return rows


def seconds_each(query: str, pattern: str) -> list[float]:
    """The one column `query` selects (a time in seconds), for rows matching `pattern`."""
    with psycopg.connect(URL) as connection:
        return [float(row[0]) for row in connection.execute(query, (pattern,))]


def percentile_95(values: list[float]) -> float:
    return float(statistics.quantiles(values, n=20)[-1]) if len(values) > 1 else values[0]


def feed_outbox(run: str, per_second: int, seconds: int) -> tuple[int, float]:
    """Queue confirmation emails at `per_second` for `seconds`, in small transactions every
    20 ms, as app nodes signing people up would; how many, and the rate achieved."""
    fed = 0
    with psycopg.connect(URL, autocommit=True) as connection:
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * per_second) - fed
            if due > 0:
                connection.execute(
                    "INSERT INTO outbound_emails (kind, to_address, letter_id, signature_id, "
                    "language, message_id, status, attempts, next_attempt_at, created_at) "
                    "SELECT 'confirm', 'surge' || n || '@example.org', letter_id, id, 'en', "
                    "'<surge-' || %s || '-' || n || '@bench>', 'queued', 0, now(), now() "
                    + _SIGNATURES_TO_WRITE_TO,
                    (run, fed, fed, due),
                )
                fed += due
            time.sleep(0.02)
    return fed, fed / seconds


def print_table(rows: list[Row], smoke: bool) -> None:
    header = ("scenario", "figure", "baseline (same run)", "ratio", "target", "")
    table = [
        (
            row.scenario,
            row.figure,
            row.baseline,
            "" if row.ratio is None else f"{row.ratio:.2f}",
            row.target,
            "" if row.met is None else ("ok" if row.met else "MISSED"),
        )
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *table]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)))
    if smoke:
        print("(smoke run: small data, short runs; targets are not enforced)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, small data (for CI)")
    parser.add_argument("--skip-data", action="store_true", help="reuse the last run's data")
    parser.add_argument(
        "--imports-only", action="store_true", help="only the import scenarios (no servers, no wrk)"
    )
    options = parser.parse_args()
    sizes = Sizes.smoke() if options.smoke else Sizes.full()
    if options.imports_only:
        if not options.skip_data:
            prepare(sizes.rows, sizes.pending)
        with tempfile.TemporaryDirectory(prefix="undersigned-bench-") as scratch:
            print_table(scenario_imports(sizes, Path(scratch), options.smoke), options.smoke)
        return
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (Debian: apt-get install wrk)")

    if not options.skip_data:
        started = time.perf_counter()
        prepare(sizes.rows, sizes.pending)
        print(f"data: {sizes.rows:,} signatures in {time.perf_counter() - started:.0f} s")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="undersigned-bench-") as scratch:
        work = Path(scratch)
        hello_env = app_environment(free_port())
        with gunicorn("bench.hello:app", hello_env) as hello_base:
            hello = wrk(hello_base + "/", "get.lua", sizes)
            app_env = app_environment(free_port())
            with gunicorn("wsgi:app", app_env) as base:
                rows.append(
                    Row("hello (baseline)", f"{hello['rate']:,.0f} req/s", "", None, "", None)
                )
                rows += scenario_pages(base, hello["rate"], hello_base, sizes, options.smoke)
            rows += scenario_rendering(hello["rate"], sizes, options.smoke)
            with gunicorn("wsgi:app", app_env) as base:
                signing_rows, signing = scenario_signing(base, hello["rate"], sizes, options.smoke)
                rows += signing_rows
                confirming_row, confirming = scenario_confirming(
                    base, hello["rate"], sizes, options.smoke, work
                )
                rows.append(confirming_row)
                rows += scenario_mail(base, sizes, options.smoke)
                console_export = scenario_console_export(base, work, options.smoke)
            with (
                gunicorn("bench.floor:app", app_environment(free_port())) as floor,
                gunicorn("bench.libraries_floor:app", app_environment(free_port())) as libraries,
            ):
                floor_rows, floors = scenario_floor(
                    floor, libraries, hello["rate"], sizes, options.smoke, work
                )
        # Under the rows they bound: signing's and confirming's.
        at = next(i for i, row in enumerate(rows) if row.scenario == "confirming") + 1
        rows[at:at] = [
            *floor_rows,
            against_floor("signing", signing, floors["floor signing"], 0.5, sizes, options.smoke),
            against_floor(
                "confirming", confirming, floors["floor confirming"], 0.6, sizes, options.smoke
            ),
            *libraries_against_floor(floors, sizes),
        ]
        rows.append(scenario_export(sizes, work, options.smoke))
        rows.append(console_export)
        rows += scenario_imports(sizes, work, options.smoke)
    print()
    print_table(rows, options.smoke)


if __name__ == "__main__":
    main()
