"""The letter page's one-statement summary says what the three separate questions say."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.models import EvidenceMethod, NotableEvidence, SignatureState
from app.signatories import public_list
from tests.factories import make_letter, make_signature


def test_the_summary_matches_the_count_the_first_page_and_the_notables(session) -> None:
    letter = make_letter(session)
    other = make_letter(session, slug="other-letter")
    start = utcnow() - timedelta(days=1)
    # Fourteen listed, two verified but unlisted, one pending, one on another letter; two pairs
    # confirmed at the same moment, so the id decides their order.
    for minute in range(14):
        make_signature(session, letter=letter, verified_at=start + timedelta(minutes=minute // 2))
    make_signature(session, letter=letter, is_public=False)
    make_signature(session, letter=letter, is_public=False)
    make_signature(session, letter=letter, state=SignatureState.PENDING)
    make_signature(session, letter=other)
    notables = [
        make_signature(session, letter=letter, name=name, title="Fellow")
        for name in ("Zoe Unranked", "Ada Unranked", "Grace Second", "Alan First")
    ]
    notables[3].notable_rank, notables[2].notable_rank = 1, 2
    for signature in notables:
        signature.is_notable = True
        # Listed only with the organisers' evidence (the console records it).
        signature.evidence = NotableEvidence(
            method=EvidenceMethod.CALL, checked_by_email="organiser@campaign.example"
        )
    session.commit()

    summary = public_list.letter_summary(session, letter)

    assert summary.verified_count == public_list.count_verified(session, letter) == 20
    first_page = public_list.signatory_page(session, letter, limit=public_list.NEWEST_SHOWN)
    assert list(summary.newest) == list(first_page.items)
    assert len(summary.newest) == 10
    assert list(summary.notables) == list(public_list.notable_signatories(session, letter))
    assert [n.name for n in summary.notables] == [
        "Alan First",
        "Grace Second",
        "Ada Unranked",
        "Zoe Unranked",
    ]


def test_a_letter_nobody_signed_has_an_empty_summary(session) -> None:
    letter = make_letter(session)
    summary = public_list.letter_summary(session, letter)
    assert (summary.verified_count, list(summary.newest), list(summary.notables)) == (0, [], [])
