"""Every kind of email the site sends, with the domain function that writes it: the composer
the mail worker is given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.letters import milestones
from app.mail.composing import Composer
from app.signing import emails as signing_emails
from app.signing import invitations, news_emails, reaffirm, signer_access
from app.signing.settings import signing_settings


def composer(config: Mapping[str, Any]) -> Composer:
    settings = signing_settings(config)
    return Composer(
        {
            **signing_emails.composers(settings),
            **invitations.composers(settings),
            **reaffirm.composers(settings),
            **news_emails.composers(settings),
            **signer_access.composers(settings),
            **milestones.composers(settings.base_url),
        }
    )
