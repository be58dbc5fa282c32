"""Keeping secrets out of logs: the links we email carry tokens, and access logs print paths."""

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


def install() -> None:
    redactor = RedactLinkTokens()
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(redactor)
