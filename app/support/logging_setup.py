"""Logging: one line per record on stderr in every process, and nothing secret in it (the
links we email carry tokens, and access logs print paths)."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"/(confirm|withdraw)/[^/\s\"?]+")
#: Loggers that may print a request's path: the servers' access logs and Flask's error log.
PATH_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "app", "flask.app")


class RedactLinkTokens(logging.Filter):
    """Replaces /confirm/<token> and /withdraw/<token> with a placeholder in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_PATH.sub(r"/\1/[token]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


#: One line per record: when, how bad, who said it, what.
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _OurHandler(logging.StreamHandler):
    """Marks the handler configure() added, so a second app in one process adds none."""


def configure(level: str) -> None:
    """Send the app's and its libraries' records at `level` and above to stderr.

    Under gunicorn and in `flask` commands nothing else configures the root logger, and
    without a handler there, warnings such as Flask-Limiter's "storage unreachable" vanish.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(handler, _OurHandler) for handler in root.handlers):
        handler = _OurHandler()  # stderr
        handler.setFormatter(logging.Formatter(LINE_FORMAT))
        root.addHandler(handler)


def install() -> None:
    redactor = RedactLinkTokens()
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(redactor)
