"""The plain settings objects domain modules take, built from the app's configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.mail.sender import SMTPSettings
from app.signing import SigningSettings


def signing_settings(config: Mapping[str, Any]) -> SigningSettings:
    return SigningSettings(
        secret_key=(*config.get("SECRET_KEY_FALLBACKS", ()), config["SECRET_KEY"]),
        base_url=config["BASE_URL"],
        confirm_max_age=int(config["CONFIRM_MAX_AGE"]),
        withdraw_max_age=int(config["WITHDRAW_MAX_AGE"]),
        rate_checks=bool(config["RATELIMIT_ENABLED"]),
        max_emails_per_signature=int(config["MAX_EMAILS_PER_SIGNATURE"]),
    )


def smtp_settings(config: Mapping[str, Any]) -> SMTPSettings | None:
    """None when MAIL_SERVER is unset: mail then goes to the console."""
    if not config.get("MAIL_SERVER"):
        return None
    return SMTPSettings(
        host=config["MAIL_SERVER"],
        port=int(config["MAIL_PORT"]),
        use_tls=bool(config["MAIL_USE_TLS"]),
        use_ssl=bool(config["MAIL_USE_SSL"]),
        username=config.get("MAIL_USERNAME"),
        password=config.get("MAIL_PASSWORD"),
    )
