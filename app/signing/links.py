"""The links we email: confirm, withdraw or re-affirm a signature, accept an invitation, stop
the news, visit the letter. Minted when a message is composed or a page shown, never stored;
each in the reader's language (?lang=), so the page opens as the email was written."""

from __future__ import annotations

from urllib.parse import quote

from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose, make_token
from app.support.languages import DEFAULT_LANGUAGE, LANGUAGE_PARAMETER


def _in(language: str) -> str:
    """The reader's language on a link, so the page opens in the language of the email."""
    return "" if language == DEFAULT_LANGUAGE else f"?{LANGUAGE_PARAMETER}={quote(language)}"


def letter_url(settings: SigningSettings, slug: str, language: str = DEFAULT_LANGUAGE) -> str:
    return f"{settings.base_url}/letters/{quote(slug)}{_in(language)}"


def _emailed(
    settings: SigningSettings,
    slug: str,
    page: str,
    purpose: TokenPurpose,
    subject_id: int,
    language: str,
) -> str:
    """/letters/<slug>/<page>/<token>: a page of the letter for one person's link."""
    token = make_token(settings.secret_key, purpose, subject_id)
    return f"{settings.base_url}/letters/{quote(slug)}/{page}/{token}{_in(language)}"


def confirm_url(
    settings: SigningSettings, slug: str, signature_id: int, language: str = DEFAULT_LANGUAGE
) -> str:
    return _emailed(settings, slug, "confirm", TokenPurpose.CONFIRM, signature_id, language)


def withdraw_url(
    settings: SigningSettings, slug: str, signature_id: int, language: str = DEFAULT_LANGUAGE
) -> str:
    return _emailed(settings, slug, "withdraw", TokenPurpose.WITHDRAW, signature_id, language)


def invitation_url(
    settings: SigningSettings, slug: str, invitation_id: int, language: str = DEFAULT_LANGUAGE
) -> str:
    return _emailed(settings, slug, "invitation", TokenPurpose.INVITE, invitation_id, language)


def reaffirm_url(
    settings: SigningSettings, slug: str, signature_id: int, language: str = DEFAULT_LANGUAGE
) -> str:
    return _emailed(settings, slug, "reaffirm", TokenPurpose.REAFFIRM, signature_id, language)


def unsubscribe_url(
    settings: SigningSettings, slug: str, signature_id: int, language: str = DEFAULT_LANGUAGE
) -> str:
    return _emailed(settings, slug, "unsubscribe", TokenPurpose.UNSUBSCRIBE, signature_id, language)


def my_signatures_url(
    settings: SigningSettings, access_id: int, language: str = DEFAULT_LANGUAGE
) -> str:
    token = make_token(settings.secret_key, TokenPurpose.MY_SIGNATURES, access_id)
    return f"{settings.base_url}/my-signatures/{token}{_in(language)}"
