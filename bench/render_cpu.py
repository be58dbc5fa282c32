"""CPU one rendered letter page costs the app, in-process: `make bench` runs this in a process
of its own, with the app's production settings and the page replay off.

The page is asked for through WSGI directly (no server, no client), so the figure is the app's
own CPU (`time.process_time()`: Python, the database driver and its system calls), and the
smallest Flask app ("hello", bench/hello.py) is measured the same way in the same process as
its baseline. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cpu_ms_per_request(app: Callable, path: str, query: str, rounds: int, requests: int) -> float:
    """Median over `rounds` of the CPU milliseconds per request of `requests` GETs."""
    # Asked for at the app's own address: production refuses any other host or port.
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1")
    environ = EnvironBuilder(path=path, query_string=query, base_url=base_url).get_environ()

    def get() -> None:
        statuses: list[str] = []
        body = app(dict(environ), lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(body)
        getattr(body, "close", lambda: None)()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"render_cpu: {path}?{query} answered {statuses[0]}")

    for _ in range(requests // 5):  # warm: templates compiled, statements prepared
        get()
    figures = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            get()
        figures.append((time.process_time() - started) * 1000 / requests)
    return statistics.median(figures)


def main() -> None:
    slug, rounds, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from app import create_app
    from bench.hello import app as hello

    undersigned = create_app()
    page = cpu_ms_per_request(undersigned, f"/letters/{slug}", "utm_source=bench", rounds, requests)
    baseline = cpu_ms_per_request(hello, "/", "", rounds, requests)
    print(json.dumps({"page_ms": page, "hello_ms": baseline}))


if __name__ == "__main__":
    main()
