"""Domain errors: raised by the plain modules, turned into pages and exit codes at the edges."""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:
    """Marks an English message for the translation catalogue (pybabel extracts N_); it is
    translated where it is shown, in that page's language."""
    return message


class DomainError(Exception):
    """Something the caller asked for cannot be done; the message is fit to show a person.

    The message is English, with %(name)s for its values, so that where it is shown it can be
    looked up in the reader's language first and filled in after (shown)."""

    def __init__(self, message: str, **values: object) -> None:
        self.message, self.values = message, values
        super().__init__(message % values if values else message)

    def shown(self, translate: Callable[[str], str]) -> str:
        text = translate(self.message)
        return text % self.values if self.values else text


class NotFound(DomainError):
    pass


class LetterClosed(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class TooLarge(DomainError):
    """More than can be handled in one go (a file too big for its format)."""
