"""The signing domain functions, called directly."""

from __future__ import annotations

from datetime import timedelta

from app import signing
from app.db import utcnow
from app.models import SignatureState
from tests.factories import make_letter, make_signature


def test_confirming_twice_keeps_the_first_confirmation_time(session) -> None:
    letter = make_letter(session)
    signature = make_signature(session, letter=letter, state=SignatureState.PENDING)
    first = utcnow()
    assert signing.confirm(session, signature, now=first) is True
    assert signing.confirm(session, signature, now=first + timedelta(minutes=5)) is False
    assert signature.state is SignatureState.VERIFIED
    assert signature.verified_at == first


def test_repeat_signers_get_one_email_each_time_until_the_cap(session, app) -> None:
    from app.settings import signing_settings

    letter = make_letter(session)
    settings = signing_settings(app.config)
    answers = signing.SignatureInput(
        name="Ada", email="ada@example.org", affiliation="Cambridge", title="Prof",
        country="GB", comment=None, is_public=True,
    )  # fmt: skip
    outcomes = [
        signing.sign(session, letter, answers, settings=settings, now=utcnow())
        for _ in range(settings.max_emails_per_signature + 1)
    ]
    assert outcomes[0] is signing.SignOutcome.CREATED
    assert outcomes[1:-1] == [signing.SignOutcome.CONFIRMATION_RESENT] * (
        settings.max_emails_per_signature - 1
    )
    assert outcomes[-1] is signing.SignOutcome.NOTHING_SENT
