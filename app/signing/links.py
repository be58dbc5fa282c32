"""The links we email: confirm, withdraw or re-affirm a signature, accept an invitation, stop
the news, visit the letter. Minted when a
message is composed or a page shown, never stored."""

from __future__ import annotations

from urllib.parse import quote

from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose, make_token


def letter_url(settings: SigningSettings, slug: str) -> str:
    return f"{settings.base_url}/letters/{quote(slug)}"


def confirm_url(settings: SigningSettings, slug: str, signature_id: int) -> str:
    token = make_token(settings.secret_key, TokenPurpose.CONFIRM, signature_id)
    return f"{letter_url(settings, slug)}/confirm/{token}"


def withdraw_url(settings: SigningSettings, slug: str, signature_id: int) -> str:
    token = make_token(settings.secret_key, TokenPurpose.WITHDRAW, signature_id)
    return f"{letter_url(settings, slug)}/withdraw/{token}"


def invitation_url(settings: SigningSettings, slug: str, invitation_id: int) -> str:
    token = make_token(settings.secret_key, TokenPurpose.INVITE, invitation_id)
    return f"{letter_url(settings, slug)}/invitation/{token}"


def reaffirm_url(settings: SigningSettings, slug: str, signature_id: int) -> str:
    token = make_token(settings.secret_key, TokenPurpose.REAFFIRM, signature_id)
    return f"{letter_url(settings, slug)}/reaffirm/{token}"


def unsubscribe_url(settings: SigningSettings, slug: str, signature_id: int) -> str:
    token = make_token(settings.secret_key, TokenPurpose.UNSUBSCRIBE, signature_id)
    return f"{letter_url(settings, slug)}/unsubscribe/{token}"


def my_signatures_url(settings: SigningSettings, access_id: int) -> str:
    token = make_token(settings.secret_key, TokenPurpose.MY_SIGNATURES, access_id)
    return f"{settings.base_url}/my-signatures/{token}"
