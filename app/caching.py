"""HTTP caching of what every visitor sees alike: the letter page, the public list, the API.

Two layers. Each response carries an ETag and `Cache-Control: public, s-maxage,
stale-while-revalidate`, so browsers revalidate cheaply (304) and a CDN or reverse proxy in front
of the site answers the crowd of readers itself. Behind that, each worker process keeps a page it
rendered for a few seconds, so a surge that does reach the app costs one render per page per
process every few seconds, not a render and several queries per visitor.

Only pages that are the same for everyone go through here: none of them carries a CSRF token
or reads the session (the sign form fetches its token separately; see public/views.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface

#: Distinct pages kept per process; far more than the letters one site runs at once.
_MAX_PAGES = 2048


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str
    mimetype: str


class PageCache:
    """Rendered pages for a few seconds, per process (thread-safe for threaded workers)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._pages: TTLCache[Hashable, RenderedPage] | None = (
            TTLCache(maxsize=_MAX_PAGES, ttl=seconds) if seconds > 0 else None
        )
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], RenderedPage]) -> RenderedPage:
        if self._pages is None:
            return render()
        with self._lock:
            page = self._pages.get(key)
        if page is None:
            # Rendered outside the lock: two threads may both render once; neither waits.
            page = render()
            with self._lock:
                self._pages[key] = page
        return page

    def clear(self) -> None:
        if self._pages is not None:
            with self._lock:
                self._pages.clear()


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
    app.extensions["page_cache"] = PageCache(float(app.config["PAGE_CACHE_SECONDS"]))
    app.session_interface = SessionCookiesOffSharedPages()


def page_cache() -> PageCache:
    cache: PageCache = current_app.extensions["page_cache"]
    return cache


def rendered(body: str | bytes, mimetype: str = "text/html") -> RenderedPage:
    data = body.encode() if isinstance(body, str) else body
    return RenderedPage(
        body=data, etag=hashlib.blake2b(data, digest_size=16).hexdigest(), mimetype=mimetype
    )


def shared_response(render: Callable[[], RenderedPage]) -> Response:
    """A page everyone sees alike: from the process's cache when fresh, with caching headers.

    Pages with a query string (later pages of a list, searches) are rendered every time: their
    variety is endless, and a proxy still caches them by the headers.
    """
    if request.query_string:
        page = render()
    else:
        key = (request.endpoint, tuple(sorted((request.view_args or {}).items())))
        page = page_cache().get_or_render(key, render)
    response = Response(page.body, mimetype=page.mimetype)
    response.set_etag(page.etag)
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
