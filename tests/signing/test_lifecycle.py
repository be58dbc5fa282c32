"""The signing domain functions, called directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.errors import LetterClosed, NotFound
from app.models import Signature, SignatureState
from app.signing import lifecycle
from app.signing.tokens import TokenInvalid
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_signature


def test_confirming_twice_keeps_the_first_confirmation_time(session, app) -> None:
    letter = make_letter(session)
    signature = make_signature(session, letter=letter, state=SignatureState.PENDING)
    first = utcnow()
    assert confirm_signature(session, app, signature, now=first) is True
    assert confirm_signature(session, app, signature, now=first + timedelta(minutes=5)) is False
    assert signature.state is SignatureState.VERIFIED
    assert signature.verified_at == first


def test_repeat_signers_get_one_email_each_time_until_the_cap(session, app) -> None:
    from app.signing.settings import signing_settings

    letter = make_letter(session)
    settings = signing_settings(app.config)
    answers = lifecycle.SignatureInput(
        name="Ada", email="ada@example.org", affiliation="Cambridge", title="Prof",
        country="GB", comment=None, is_public=True,
    )  # fmt: skip
    outcomes = [
        lifecycle.sign(session, letter, answers, settings=settings, now=utcnow())
        for _ in range(settings.max_emails_per_signature + 1)
    ]
    assert outcomes[0] is lifecycle.SignOutcome.CREATED
    assert outcomes[1:-1] == [lifecycle.SignOutcome.CONFIRMATION_RESENT] * (
        settings.max_emails_per_signature - 1
    )
    assert outcomes[-1] is lifecycle.SignOutcome.NOTHING_SENT


def test_confirming_from_the_link_checks_what_the_full_path_checks(session, app) -> None:
    from app.models import LetterStatus
    from app.signing.settings import signing_settings
    from app.signing.tokens import TokenPurpose, make_token

    settings = signing_settings(app.config)
    now = utcnow()
    letter = make_letter(session, slug="open")
    make_letter(session, slug="other")
    lapsed = make_letter(session, slug="lapsed", closes_at=now - timedelta(minutes=1))
    closing = make_letter(session, slug="closing", closes_at=now + timedelta(minutes=1))
    closed = make_letter(session, slug="closed", status=LetterStatus.CLOSED)

    def attempt(slug: str, signature_id: int, purpose: TokenPurpose = TokenPurpose.CONFIRM):
        token = make_token(settings.secret_key, purpose, signature_id)
        return lifecycle.confirm_by_link(session, slug, token, settings=settings, now=now)

    def refused(slug: str, signature_id: int, purpose: TokenPurpose = TokenPurpose.CONFIRM):
        with pytest.raises((NotFound, LetterClosed, TokenInvalid)) as refusal:
            attempt(slug, signature_id, purpose)
        return refusal.type

    def pending(at) -> int:
        return make_signature(session, letter=at, state=SignatureState.PENDING).id

    mine = pending(letter)
    assert refused("other", mine) is NotFound  # another letter's link
    assert refused("open", mine, TokenPurpose.WITHDRAW) is TokenInvalid  # a withdraw token
    with pytest.raises(TokenInvalid):
        lifecycle.confirm_by_link(session, "open", "x.y.z", settings=settings, now=now)
    assert refused("lapsed", pending(lapsed)) is LetterClosed
    assert refused("closed", pending(closed)) is LetterClosed
    withdrawn = make_signature(session, letter=letter, state=SignatureState.WITHDRAWN).id
    assert refused("open", withdrawn) is NotFound
    session.commit()
    assert session.scalars(select(Signature.state)).all().count(SignatureState.VERIFIED) == 0
    assert attempt("closing", pending(closing)) is True  # closes later: still open
    assert attempt("open", mine) is True
    assert attempt("open", mine) is False  # the second click changes nothing
    session.commit()
    confirmed = session.get(Signature, mine)
    session.refresh(confirmed)
    assert (confirmed.state, confirmed.verified_at) == (SignatureState.VERIFIED, now)
