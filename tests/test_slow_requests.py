"""A client that sends its body slowly holds nothing but its own connection: on SQLite the
write lock is taken only once a request's body is all here."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.db import db
from app.extensions import limiter
from app.models import Signature
from tests.conftest import free_port
from tests.factories import make_letter
from tests.helpers import signing_answers


class _WatchedBody:
    """The request body, telling the test when the app starts reading it."""

    def __init__(self, stream: Any, reading: threading.Event) -> None:
        self._stream, self._reading = stream, reading

    def read(self, *args: Any) -> bytes:
        self._reading.set()
        return bytes(self._stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        self._reading.set()
        return bytes(self._stream.readline(*args))


@pytest.fixture
def server(app: Flask, committed_db, monkeypatch) -> Iterator[tuple[int, threading.Event]]:
    reading = threading.Event()
    inner = app.wsgi_app

    def watching(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_SLOW"):
            environ["wsgi.input"] = _WatchedBody(environ["wsgi.input"], reading)
        return inner(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", watching)
    port = free_port()
    monkeypatch.setitem(app.config, "BASE_URL", f"http://127.0.0.1:{port}")
    http = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    limiter.reset()
    try:
        yield port, reading
    finally:
        http.shutdown()
        thread.join(timeout=10)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_a_slow_request_body_does_not_hold_other_signers_back(server) -> None:
    port, reading = server
    make_letter(db.session, slug="slow")
    db.session.commit()
    slow = socket.create_connection(("127.0.0.1", port))
    try:
        slow.sendall(
            b"POST /letters/slow/sign HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{port}\r\n".encode()
            + b"X-Slow: 1\r\nSec-Fetch-Site: same-origin\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            b"name=A"
        )
        assert reading.wait(30), "the slow request never reached the app"
        # The app is now waiting for the other 94 bytes. Another signer gets through at once
        # (before, this waited on the lock and got a 503).
        quick = urllib.request.Request(
            f"http://127.0.0.1:{port}/letters/slow/sign",
            data=urlencode(signing_answers(email="quick@example.org")).encode(),
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        opener = urllib.request.build_opener(_NoRedirects)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(quick, timeout=60)
        redirected.value.close()
        assert redirected.value.code == 303
    finally:
        slow.close()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
