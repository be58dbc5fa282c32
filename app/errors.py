"""Domain errors: raised by the plain modules, turned into pages and exit codes at the edges."""


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
