"""HTTP caching of what every visitor sees alike: the letter page, the public list, the API.

Two layers. Each such response carries an ETag and `Cache-Control: public, s-maxage,
stale-while-revalidate`, so browsers revalidate cheaply (304) and a CDN or reverse proxy in front
of the site answers the crowd of readers itself. Behind that, each worker process replays a
public response it produced for a few seconds (PAGE_CACHE_SECONDS), straight from WSGI without
entering Flask (no request context, hooks, queries or rendering): a surge that does reach the
app costs one render per page per process every few seconds, and each visit about what a
"hello world" costs. `make bench` shows why it stays: rendered on every visit, the letter page
reaches 0.05-0.07 of "hello"; replayed, 1.4 times "hello" (docs/PERFORMANCE.md). It is the one
place that trades freshness for speed, and it trades only signers' counts: a change made in the
console reaches every worker's replay at once (ConsoleChanges).

Only pages that are the same for everyone are marked public: none of them carries a CSRF token
or reads the session (the sign form fetches its token separately; see public/views.py), and a
public response never sets a cookie (SessionCookiesOffSharedPages).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import redis
from cachetools import LRUCache
from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wsgi import get_host

from app.support.languages import LANGUAGE_PARAMETER, chosen_language, negotiated_language

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Distinct pages kept per process; far more than the letters one site runs at once.
_MAX_PAGES = 2048


@dataclass(frozen=True)
class StoredResponse:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    stored_at: float
    #: ConsoleChanges.current() before the page was rendered.
    generation: int


class ConsoleChanges:
    """Counts the changes organisers make in the console, so that no worker replays a page
    rendered before the latest one: a letter edited, a signature hidden or approved is on the
    public pages at once in the worker that made it, and in every other worker as soon as Redis
    passes the word on (well under a millisecond here; a channel, so a replayed page costs no
    round trip). Without REDIS_URL the count is this process's own (`make run`: one process).

    Whenever the listener is not sure it heard everything (it has just subscribed, or lost its
    connection), it counts a change itself, so a page is rendered afresh. A connection that
    dies silently is found by an unanswered ping within twice HEALTH_CHECK seconds; until then,
    and while Redis is away, other workers' pages are fresh again within PAGE_CACHE_SECONDS.
    """

    CHANNEL = "undersigned:console-changes"
    HEALTH_CHECK = 10

    def __init__(self, redis_url: str | None) -> None:
        self._count = 0
        self._redis_url = redis_url
        self._listening_in: int | None = None  # the process whose listener runs
        self._publisher: redis.Redis | None = None  # made in that process, as the listener
        self._lock = threading.Lock()

    def current(self) -> int:
        if self._redis_url is not None and self._listening_in != os.getpid():
            self._listen()
        return self._count

    def record(self) -> None:
        self._count += 1
        if self._redis_url is not None:
            # If Redis is away, other workers' pages still expire within PAGE_CACHE_SECONDS.
            self.current()  # this process's listener and publisher made
            with contextlib.suppress(redis.RedisError):
                assert self._publisher is not None
                self._publisher.publish(self.CHANNEL, "changed")

    def _listen(self) -> None:
        """Start this process's listener (gunicorn forks workers after the app is made)."""
        assert self._redis_url is not None
        with self._lock:
            if self._listening_in == os.getpid():
                return
            self._listening_in = os.getpid()
            self._publisher = redis.Redis.from_url(self._redis_url, socket_timeout=0.5)
            self._count += 1  # nothing heard yet: what is kept counts as old
            threading.Thread(target=self._hear, name="console-changes", daemon=True).start()

    def _hear(self) -> None:
        assert self._redis_url is not None
        while True:
            try:
                client = redis.Redis.from_url(self._redis_url, socket_keepalive=True)
                subscriber = client.pubsub(ignore_subscribe_messages=False)
                subscriber.subscribe(self.CHANNEL)
                self._hear_on(subscriber)
            except redis.RedisError:
                self._count += 1
                time.sleep(1)

    def _hear_on(self, subscriber: redis.client.PubSub) -> None:
        """Count every message (the subscription's own confirmation too); when quiet, ping,
        and give the connection up if the ping is not answered within HEALTH_CHECK."""
        pinged = False
        while True:
            message = subscriber.get_message(timeout=self.HEALTH_CHECK)
            if message is None:
                if pinged:
                    raise redis.ConnectionError("no answer to a ping")
                subscriber.ping()
                pinged = True
                continue
            pinged = False
            if message["type"] != "pong":
                self._count += 1


#: Query parameters that campaign links and social networks add to a shared link for their own
#: counting (`utm_*` is matched by prefix). No page reads them, and a public page never writes
#: its own address, so a link that carries them is the same page as the bare one: most visits
#: to a letter that is going round come through such a link, each with its own click id.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "igshid", "li_fat_id", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "ref_src",
    }
)  # fmt: skip


def is_tracking(name: str) -> bool:
    """A query parameter only tracking tools read (the page is the same without it)."""
    return name.startswith("utm_") or name in TRACKING_PARAMETERS


def _only_tracking(query_string: str) -> bool:
    """True when every parameter of the query string is one of TRACKING_PARAMETERS, or the
    language (which the key holds)."""
    languages = 0
    for name, _value in parse_qsl(query_string, keep_blank_values=True):
        if name == LANGUAGE_PARAMETER:
            languages += 1
        elif not is_tracking(name):
            return False
    # A repeated language is rendered as the first says: not kept, so never replayed to the
    # next one that asks for the last.
    return languages <= 1


class SharedResponseCache:
    """WSGI middleware: replays public 200 responses to GETs without a query string, or with
    tracking parameters only (TRACKING_PARAMETERS), which the key leaves out.

    Pages with any other query string (later pages of a list, searches) always go to the app:
    their variety is endless, and a proxy still caches them by their headers.

    A kept page is replayed only to a request the app would have answered the same way: the
    key holds everything the rules before a view look at (the host, checked against
    TRUSTED_HOSTS; the scheme, as a proxy reports it), so a request for a foreign host finds
    nothing kept and gets the app's own 400, warm cache or cold. And only while nothing was
    changed in the console since it was rendered (ConsoleChanges), and for `seconds` at most.
    """

    def __init__(
        self,
        app: WSGIApplication,
        seconds: float,
        changes: ConsoleChanges,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.changes = changes
        self.clock = clock
        self._responses: LRUCache[tuple[str, ...], StoredResponse] = LRUCache(maxsize=_MAX_PAGES)
        self._lock = threading.Lock()  # gthread workers serve requests on several threads

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "GET":
            return self.app(environ, start_response)
        query_string = environ.get("QUERY_STRING")
        if query_string and not _only_tracking(query_string):
            return self.app(environ, start_response)
        key = _cache_key(environ)
        generation = self.changes.current()
        with self._lock:
            stored = self._responses.get(key)
        if stored is None or not self._fresh(stored, generation):
            rendered = self._render(key, generation, environ, start_response)
            if not isinstance(rendered, StoredResponse):
                return rendered
            stored = rendered
        age = ("Age", str(int(self.clock() - stored.stored_at)))
        if environ.get("HTTP_IF_NONE_MATCH") == stored.etag:
            kept = [(k, v) for k, v in stored.headers if k.lower() != "content-length"]
            start_response("304 Not Modified", [*kept, age])
            return [b""]
        start_response(stored.status, [*stored.headers, age])
        return [stored.body]

    def _fresh(self, stored: StoredResponse, generation: int) -> bool:
        return stored.generation == generation and self.clock() - stored.stored_at < self.seconds

    def _render(
        self,
        key: tuple[str, ...],
        generation: int,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> StoredResponse | Iterable[bytes]:
        """Run the app. A public 200 is read whole and kept, and returned to be answered like a
        hit. Anything else (a 304, a private page, a streamed export) goes to the client as the
        app gave it: its iterable is returned untouched, so it still streams and is closed."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None  # WSGI's legacy write(); Flask never calls it

        result = self.app(environ, capture)
        # Flask calls start_response before it returns the body's iterable.
        headers = {k.lower(): v for k, v in captured["headers"]}
        if not (
            captured["status"].startswith("200")
            and "public" in headers.get("cache-control", "")
            and "etag" in headers
            and "set-cookie" not in headers
            and headers.get("vary", "accept-language").lower() == "accept-language"
        ):
            start_response(captured["status"], captured["headers"], captured["exc_info"])
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        replayed = [(k, v) for k, v in captured["headers"] if k.lower() != "date"]
        entry = StoredResponse(
            captured["status"], replayed, body, headers["etag"], self.clock(), generation
        )
        with self._lock:
            self._responses[key] = entry
        return entry


def _cache_key(environ: WSGIEnvironment) -> tuple[str, ...]:
    """What a public page may depend on besides the data: its path, the host it was asked for,
    the scheme (a proxy's X-Forwarded-Proto included: ProxyFix runs inside this cache) and the
    language. Not the rest of the query string: only pages without one, or with tracking
    parameters and the language only, are kept."""
    language_asked = next(
        (
            value
            for name, value in parse_qsl(environ.get("QUERY_STRING", ""))
            if name == LANGUAGE_PARAMETER
        ),
        None,
    )
    return (
        environ.get("PATH_INFO", ""),
        get_host(environ),
        environ.get("wsgi.url_scheme", ""),
        environ.get("HTTP_X_FORWARDED_PROTO", ""),
        # The language it is written in (support/languages.py's one rule), and whether the
        # URL chose it: its links keep the choice, and only then does it not vary.
        negotiated_language(language_asked, environ.get("HTTP_ACCEPT_LANGUAGE")),
        chosen_language(language_asked) or "",
    )


class SessionCookiesOffSharedPages(SecureCookieSessionInterface):
    """A response marked public is stored by proxies and handed to everyone: it must neither
    set a cookie nor say it varies by one. Extensions peek at the session on every request
    (which would add `Vary: Cookie`, so proxies keep a copy per visitor) and Flask-Login may
    clear its remember cookie; saving the session is the last step of every response, so the
    rule is kept here."""

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if response.cache_control.public:
            del response.headers["Set-Cookie"]
            return
        super().save_session(app, session, response)


def install(app: Flask) -> None:
    app.session_interface = SessionCookiesOffSharedPages()
    seconds = float(app.config["PAGE_CACHE_SECONDS"])
    if seconds > 0:
        changes = ConsoleChanges(app.config.get("REDIS_URL"))
        cache = SharedResponseCache(app.wsgi_app, seconds, changes)
        app.wsgi_app = cache  # type: ignore[method-assign]
        app.extensions["shared_response_cache"] = cache


def console_changed() -> None:
    """Something organisers see on public pages may have changed: no worker replays a page
    rendered before now (see ConsoleChanges)."""
    cache = shared_response_cache(current_app)
    if cache is not None:
        cache.changes.record()


def shared_response_cache(app: Flask) -> SharedResponseCache | None:
    cache: SharedResponseCache | None = app.extensions.get("shared_response_cache")
    return cache


def shared_response(render: Callable[[], str | bytes], mimetype: str = "text/html") -> Response:
    """A page everyone sees alike, with the headers that let browsers and proxies keep it."""
    body = render()
    data = body.encode() if isinstance(body, str) else body
    response = Response(data, mimetype=mimetype)
    response.set_etag(hashlib.blake2b(data, digest_size=16).hexdigest())
    config = current_app.config
    response.cache_control.public = True
    # Browsers ask again each time (a cheap 304 by ETag); shared caches keep it a little while.
    response.cache_control.max_age = 0
    response.cache_control.s_maxage = int(config["HTTP_SHARED_MAX_AGE"])
    response.cache_control.stale_while_revalidate = int(config["HTTP_STALE_WHILE_REVALIDATE"])
    # Also while the app is down or overloaded, a proxy may keep serving what it has.
    response.cache_control.stale_if_error = int(config["HTTP_STALE_IF_ERROR"])
    response.make_conditional(request)  # 304 when the visitor's copy is current
    return response
