"""Every kind of email the site sends, with the domain function that writes it: the composer
the mail worker is given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.mail.composing import Composer
from app.signing import emails as signing_emails
from app.signing.settings import signing_settings


def composer(config: Mapping[str, Any]) -> Composer:
    return Composer(signing_emails.composers(signing_settings(config)))
