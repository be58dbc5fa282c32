"""Signed, expiring, purpose-salted tokens for the links we email.

A token carries only a signature (or invitation) id, never personal data. Each purpose has its
own salt, so a confirm token can never be replayed as, say, a withdraw token.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.errors import N_, DomainError


class TokenPurpose(Enum):
    CONFIRM = "undersigned.confirm"
    WITHDRAW = "undersigned.withdraw"
    #: A founding signatory's invitation (the subject is the Invitation's id).
    INVITE = "undersigned.invite"
    #: Keep or withdraw a signature after a change of substance in the text.
    REAFFIRM = "undersigned.reaffirm"
    #: Stop the news about a letter (one click, RFC 8058).
    UNSUBSCRIBE = "undersigned.unsubscribe"
    #: Everything one address signed (the subject is a SignerAccess's id).
    MY_SIGNATURES = "undersigned.my-signatures"


class TokenInvalid(DomainError):
    """Tampered with, truncated, or made for another purpose."""


class TokenExpired(DomainError):
    """Genuine but too old; carries the subject so a fresh link can be offered."""

    def __init__(self, subject_id: int) -> None:
        super().__init__(N_("This link has expired."))
        self.subject_id = subject_id


def _serializer(secret_key: str | Sequence[str], purpose: TokenPurpose) -> URLSafeTimedSerializer:
    # A sequence is [*older keys, current key]: the last signs, any of them verifies.
    keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
    return URLSafeTimedSerializer(keys, salt=purpose.value)


def make_token(secret_key: str | Sequence[str], purpose: TokenPurpose, subject_id: int) -> str:
    return _serializer(secret_key, purpose).dumps(subject_id)


def _subject(payload: object) -> int:
    if isinstance(payload, int) and not isinstance(payload, bool) and payload > 0:
        return payload
    raise TokenInvalid(N_("This link is not valid."))


def read_token(
    secret_key: str | Sequence[str], purpose: TokenPurpose, token: str, *, max_age: int
) -> int:
    """The subject id inside a token, or TokenExpired / TokenInvalid."""
    serializer = _serializer(secret_key, purpose)
    try:
        return _subject(serializer.loads(token, max_age=max_age))
    except SignatureExpired as expired:
        if expired.payload is None:
            raise TokenInvalid(N_("This link is not valid.")) from None
        try:
            subject = serializer.load_payload(expired.payload)
        except BadSignature:
            raise TokenInvalid(N_("This link is not valid.")) from None
        raise TokenExpired(_subject(subject)) from None
    except BadSignature:
        raise TokenInvalid(N_("This link is not valid.")) from None
