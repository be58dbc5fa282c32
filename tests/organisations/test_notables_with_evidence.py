"""Notable signatories need evidence: a name on the letter's watch-list, or a signature an
organiser marks notable, is held (confirmed, neither listed nor counted) until an organiser
records who checked, how and when; listed notables say so; the audit log keeps each review."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, NotableEvidence, OrganiserRole, Signature
from app.signatories import public_list
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import confirm_signature, csrf_token, log_in, sign


def _act(client: FlaskClient, slug: str, action: str, ids: list[int], **extra: str):
    token = csrf_token(client, f"/admin/letters/{slug}/signatures")
    return client.post(
        f"/admin/letters/{slug}/signatures/act",
        data={"csrf_token": token, "action": action, "ids": [str(i) for i in ids], **extra},
    )


def _evidence(client: FlaskClient, slug: str, signature_id: int, **fields: str):
    token = csrf_token(client, f"/admin/letters/{slug}/signatures/{signature_id}")
    return client.post(
        f"/admin/letters/{slug}/signatures/{signature_id}/evidence",
        data={"csrf_token": token, **fields},
    )


def test_a_watched_name_is_held_until_evidence_and_then_listed_with_it(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="pause")
    letter.watch_names = ["Xi Jinping"]
    session.commit()
    assert sign(client, "pause", name="Xi Jinping", email="xi@example.org").status_code == 303
    signature = session.scalars(select(Signature)).one()
    confirm_signature(session, app, signature)
    session.commit()
    assert signature.quarantined is True
    assert public_list.count_verified(session, letter) == 0
    assert "Xi Jinping" not in client.get("/letters/pause").get_data(as_text=True)

    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    queue = client.get("/admin/letters/pause/notables/review").get_data(as_text=True)
    assert "Xi Jinping" in queue
    # Approving is not enough for a notable: it is skipped, and stays held.
    _act(client, "pause", "approve", [signature.id], confirmed="1")
    session.refresh(signature)
    assert signature.quarantined is True
    detail = client.get(f"/admin/letters/pause/signatures/{signature.id}").get_data(as_text=True)
    assert 'data-testid="needs-evidence"' in detail

    response = _evidence(
        client,
        "pause",
        signature.id,
        method="institutional",
        public_url="https://example.org/statement",
        note="replied from his office address",
    )
    assert response.status_code == 303
    session.refresh(signature)
    assert (signature.quarantined, signature.is_notable) == (False, True)
    assert public_list.count_verified(session, letter) == 1
    page = client.get("/letters/pause").get_data(as_text=True)
    notable = page[page.index('id="notable-heading"') : page.index("</section>")]
    assert "Xi Jinping" in notable
    assert "Verified by the organisers on" in notable
    assert "a reply from their institutional address" in notable
    assert 'href="https://example.org/statement"' in notable
    assert "replied from his office" not in page  # the note is for organisers only
    queue = client.get("/admin/letters/pause/notables/review").get_data(as_text=True)
    assert f"/signatures/{signature.id}" not in queue
    assert "None waiting." in queue
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signatures.notable_evidence")
    ).one()
    assert event.signature_ids == [signature.id]
    assert event.organiser_email == moderator.email
    assert event.details["method"] == "institutional"


def test_marking_a_listed_signature_notable_holds_it_until_evidence(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="ai-letter")
    signature = make_signature(session, letter=letter, name="Geoffrey Hinton")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    assert public_list.count_verified(session, letter) == 1

    _act(client, "ai-letter", "notable", [signature.id], confirmed="1")
    session.refresh(signature)
    assert signature.quarantined is True
    assert "notable-unchecked" in signature.review_flags
    assert public_list.count_verified(session, letter) == 0
    assert public_list.notable_signatories(session, letter) == []

    assert _evidence(client, "ai-letter", signature.id, method="known").status_code == 303
    [listed] = public_list.notable_signatories(session, letter)
    assert (listed.name, listed.method_label) == ("Geoffrey Hinton", "the organisers know them")
    assert public_list.count_verified(session, letter) == 1


def test_evidence_is_checked_and_only_moderators_may_record_it(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="checked")
    signature = make_signature(session, letter=letter)
    viewer = make_organiser(session, letters={letter: OrganiserRole.VIEWER})
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, viewer.email)
    assert _evidence(client, "checked", signature.id, method="call").status_code == 404
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    log_in(client, moderator.email)
    for fields in (
        {"method": "telepathy"},
        {"method": "call", "public_url": "javascript:alert(1)"},
        {"method": "call", "public_url": "https://x.example/" + "a" * 600},
        {"method": "call", "note": "x" * 201},
    ):
        response = _evidence(client, "checked", signature.id, **fields)
        assert response.status_code == 400, fields
    assert session.scalars(select(NotableEvidence)).all() == []


def test_evidence_is_only_for_standing_signatures_and_its_link_goes_with_the_signer(
    app: Flask, client: FlaskClient, session
) -> None:
    from app.audit import ERASED
    from app.models import SignatureState
    from app.signing import lifecycle
    from app.signing.settings import signing_settings

    letter = make_letter(session, slug="gone")
    signature = make_signature(session, letter=letter, name="Jane Doe")
    hidden = make_signature(session, letter=letter, state=SignatureState.HIDDEN)
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    assert _evidence(client, "gone", hidden.id, method="call").status_code == 400
    url = "https://example.org/jane-doe-signs"
    assert (
        _evidence(client, "gone", signature.id, method="statement", public_url=url).status_code
        == 303
    )
    lifecycle.withdraw(session, letter, signature, settings=signing_settings(app.config))
    session.commit()
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signatures.notable_evidence")
    ).one()
    assert event.details["public_url"] == ERASED
    assert session.scalars(select(NotableEvidence)).all() == []
