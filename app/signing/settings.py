"""What signing needs from configuration, as a plain object the domain functions take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SigningSettings:
    """Passed in rather than read from the app, so the domain needs no Flask."""

    #: The current key, or [*older keys, current key] while rotating.
    secret_key: str | tuple[str, ...]
    base_url: str
    confirm_max_age: int
    max_emails_per_signature: int
    withdraw_max_age: int = 2 * 365 * 24 * 3600
    #: How long an invitation link works (founding signatories may take weeks).
    invitation_max_age: int = 60 * 24 * 3600
    #: How long the link to everything one address signed works.
    my_signatures_max_age: int = 24 * 3600
    #: Emails with that link to one mailbox in an hour, at most.
    my_signatures_emails_per_hour: int = 3
    #: The rate-based quarantine follows RATELIMIT_ENABLED (off for benchmarks).
    rate_checks: bool = True
    #: Hours after signing before the one reminder to confirm; 0: none.
    reminder_hours: int = 24

    @property
    def current_key(self) -> str:
        return self.secret_key if isinstance(self.secret_key, str) else self.secret_key[-1]

    @property
    def sender_domain(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"


def signing_settings(config: Mapping[str, Any]) -> SigningSettings:
    """SigningSettings from the app's configuration."""
    return SigningSettings(
        secret_key=(*config.get("SECRET_KEY_FALLBACKS", ()), config["SECRET_KEY"]),
        base_url=config["BASE_URL"],
        confirm_max_age=int(config["CONFIRM_MAX_AGE"]),
        withdraw_max_age=int(config["WITHDRAW_MAX_AGE"]),
        invitation_max_age=int(config.get("INVITATION_MAX_AGE", 60 * 24 * 3600)),
        my_signatures_max_age=int(config.get("MY_SIGNATURES_MAX_AGE", 24 * 3600)),
        my_signatures_emails_per_hour=int(config.get("MY_SIGNATURES_EMAILS_PER_HOUR", 3)),
        rate_checks=bool(config["RATELIMIT_ENABLED"]),
        max_emails_per_signature=int(config["MAX_EMAILS_PER_SIGNATURE"]),
        reminder_hours=int(config.get("CONFIRM_REMINDER_HOURS", 24)),
    )
