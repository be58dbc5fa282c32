"""Domain errors: raised by the plain modules, turned into pages and exit codes at the edges."""


def N_(message: str) -> str:
    """Marks an English message for the translation catalogue (pybabel extracts N_); it is
    translated where it is shown, in that page's language."""
    return message


class DomainError(Exception):
    """Something the caller asked for cannot be done; the message is fit to show a person."""


class NotFound(DomainError):
    pass


class LetterClosed(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class TooLarge(DomainError):
    """More than can be handled in one go (a file too big for its format)."""
