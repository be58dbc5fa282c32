"""The site's address is BASE_URL, never what a request says it is.

Links in pages, feeds, the share image, the poster's QR code and the embed snippet are built
from the WSGI environ. Left as the request set it, a header (`SCRIPT_NAME: //evil.example`,
which gunicorn takes from a trusted peer; `Host: 127.0.0.1:1234`) turned into links to another
site, and the page replay handed that page to every later visitor. So, before the app sees a
request, the environ's scheme, host, port and script name are BASE_URL's; with TRUSTED_HOSTS
(production: BASE_URL's host) a request for another host, or for BASE_URL's host on another
port, is answered 400 first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_DEFAULT_PORTS = {"http": "80", "https": "443"}
#: The answer to a request for another host: plain text, as no link can be built for it.
UNKNOWN_HOST = "Unknown host.\n"
#: Headers that would make a later layer (a proxy fix, a framework) read another address.
_ADDRESS_HEADERS = (
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_SERVER",
    "HTTP_FORWARDED",
    "HTTP_X_ORIGINAL_URL",
    "HTTP_X_REWRITE_URL",
    "HTTP_X_SCRIPT_NAME",
)


def _host_and_port(netloc: str, scheme: str) -> tuple[str, str] | None:
    """("example.org", "443") for "Example.org" under https; None for what is no host."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:  # a port that is not a number, an unclosed bracket...
        return None
    if not parts.hostname:
        return None
    return parts.hostname, str(port) if port is not None else _DEFAULT_PORTS.get(scheme, "")


class PublicAddress:
    """WSGI middleware: the environ's address taken from `base_url`."""

    def __init__(
        self, app: WSGIApplication, base_url: str, *, trusted_hosts: Sequence[str] | None
    ) -> None:
        parts = urlsplit(base_url)
        self.app = app
        self.scheme = parts.scheme
        address = _host_and_port(parts.netloc, parts.scheme)
        if address is None:
            raise ValueError(f"BASE_URL {base_url!r} has no host")
        self.host, self.port = address
        # As browsers write it (their Origin header): the scheme's default port left out.
        default = self.port == _DEFAULT_PORTS.get(self.scheme)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.netloc = host if default else f"{host}:{self.port}"
        self.script_name = parts.path.rstrip("/")
        self.trusted_hosts = trusted_hosts

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.trusted_hosts and not self._asked_for_us(environ):
            refusal = Response(UNKNOWN_HOST, 400, mimetype="text/plain")
            return refusal(environ, start_response)
        for name in _ADDRESS_HEADERS:
            environ.pop(name, None)
        environ.update(
            {
                "wsgi.url_scheme": self.scheme,
                "HTTP_HOST": self.netloc,
                "SERVER_NAME": self.host,
                "SERVER_PORT": self.port,
                "SCRIPT_NAME": self.script_name,
            }
        )
        return self.app(environ, start_response)

    def _asked_for_us(self, environ: WSGIEnvironment) -> bool:
        """Whether the request names a trusted host (Host, or without it the server's name),
        and BASE_URL's port when it names BASE_URL's host (a port not given is the
        scheme's default): a foreign port would otherwise pass the host check."""
        asked = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")).lower()
        if not host_is_trusted(asked, self.trusted_hosts):
            return False
        address = _host_and_port(asked, self.scheme)
        return address is not None and (address[0] != self.host or address[1] == self.port)
