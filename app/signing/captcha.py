"""An optional hosted captcha for campaigns under attack, checked on our side.

Off unless CAPTCHA_PROVIDER is set. It needs JavaScript in the signer's browser, which is why it
is for emergencies only: the sign form otherwise works without any.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    name: str
    script: str
    widget_class: str
    #: The form field the widget fills with its answer.
    response_field: str
    verify_url: str
    #: What the Content-Security-Policy must allow for the widget: as narrow as each allows.
    script_src: tuple[str, ...]
    frame_src: tuple[str, ...]
    connect_src: tuple[str, ...]
    #: The verify endpoint's name for the widget's answer.
    answer_param: str = "response"


PROVIDERS = {
    "hcaptcha": Provider(
        "hcaptcha",
        "https://js.hcaptcha.com/1/api.js",
        "h-captcha",
        "h-captcha-response",
        "https://api.hcaptcha.com/siteverify",
        script_src=("https://js.hcaptcha.com", "https://*.hcaptcha.com"),
        frame_src=("https://*.hcaptcha.com",),
        connect_src=("https://*.hcaptcha.com",),
    ),
    "turnstile": Provider(
        "turnstile",
        "https://challenges.cloudflare.com/turnstile/v0/api.js",
        "cf-turnstile",
        "cf-turnstile-response",
        "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        script_src=("https://challenges.cloudflare.com",),
        frame_src=("https://challenges.cloudflare.com",),
        connect_src=(),
    ),
    "friendlycaptcha": Provider(
        "friendlycaptcha",
        "https://cdn.jsdelivr.net/npm/friendly-challenge@0.9.18/widget.module.min.js",
        "frc-captcha",
        "frc-captcha-solution",
        "https://api.friendlycaptcha.com/api/v1/siteverify",
        # The one script file, not the whole CDN: jsDelivr serves any package.
        script_src=("https://cdn.jsdelivr.net/npm/friendly-challenge@0.9.18/widget.module.min.js",),
        frame_src=(),
        connect_src=("https://api.friendlycaptcha.com",),
        answer_param="solution",
    ),
}


class CaptchaUnavailable(Exception):
    """The provider could not be asked; the signature is not taken (fail closed, under attack)."""


def verify(
    provider: Provider,
    *,
    secret: str,
    site_key: str,
    answer: str,
    remote_ip: str | None,
    verify_url: str | None = None,
    timeout: float = 5.0,
) -> bool:
    """Ask the provider whether the widget's answer is genuine."""
    if not answer or len(answer) > 10_000:
        return False
    fields = {"secret": secret, provider.answer_param: answer, "sitekey": site_key}
    if remote_ip:
        fields["remoteip"] = remote_ip
    request = urllib.request.Request(  # noqa: S310  (https or a configured test stub)
        verify_url or provider.verify_url,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            outcome = json.loads(reply.read(65536))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise CaptchaUnavailable(str(error)) from None
    return bool(isinstance(outcome, dict) and outcome.get("success") is True)
