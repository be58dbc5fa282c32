"""Creating and editing letters in the console, with versions once a letter is signed."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import (
    AuditEvent,
    Letter,
    LetterStatus,
    LetterVersion,
    OrganiserRole,
    Signature,
)
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in, sign


def _letter_form(**overrides) -> dict[str, str]:
    form = {
        "slug": "new-letter",
        "title": "A new letter",
        "body": "We call for *change*.",
        "status": "open",
        "closes_at": "",
        "target": "",
    }
    form.update(overrides)
    return form


def test_only_superusers_create_letters(client: FlaskClient, session) -> None:
    invited = make_organiser(session)
    log_in(client, invited.email)
    assert client.get("/admin/letters/new").status_code == 404
    assert "Create a letter" not in client.get("/admin/").get_data(as_text=True)


def test_a_superuser_creates_a_letter_and_owns_it(client: FlaskClient, session) -> None:
    organiser = make_organiser(session, is_superuser=True)
    log_in(client, organiser.email)
    token = csrf_token(client, "/admin/letters/new")
    preview = client.post(
        "/admin/letters/new", data={"csrf_token": token, "preview": "1", **_letter_form()}
    )
    assert preview.status_code == 200
    assert "<em>change</em>" in preview.get_data(as_text=True)
    assert session.scalars(select(Letter)).all() == []

    created = client.post(
        "/admin/letters/new",
        data={
            "csrf_token": token,
            "save": "1",
            **_letter_form(target="1000", closes_at="2030-01-01T00:00+00:00"),
        },
    )
    assert created.status_code == 303
    letter = session.scalars(select(Letter)).one()
    assert (letter.slug, letter.target, letter.status) == ("new-letter", 1000, LetterStatus.OPEN)
    assert client.get("/admin/letters/new-letter").status_code == 200
    assert "of a target of 1,000" in client.get("/letters/new-letter").get_data(as_text=True)
    event = session.scalars(select(AuditEvent).where(AuditEvent.letter_id.is_not(None))).one()
    assert (event.action, event.organiser_email) == ("letter.create", organiser.email)


def test_bad_letter_input_is_a_form_error(client: FlaskClient, session) -> None:
    organiser = make_organiser(session, is_superuser=True)
    make_letter(session, slug="taken")
    log_in(client, organiser.email)
    token = csrf_token(client, "/admin/letters/new")
    for overrides, message in [
        ({"slug": "Bad Slug"}, "lower-case letters"),
        ({"slug": "taken"}, "already exists"),
        ({"title": ""}, "Please give the letter a title."),
        ({"closes_at": "soon"}, "Use ISO 8601"),
        ({"closes_at": "2030-01-01T00:00"}, "Add a time zone"),
        ({"target": "-5"}, "Number must be between"),
        ({"status": "deleted"}, "Not a valid choice"),
        ({"closes_at": "9999-12-31T23:00-05:00"}, "between the years 2000 and 9000"),
    ]:
        response = client.post(
            "/admin/letters/new", data={"csrf_token": token, **_letter_form(**overrides)}
        )
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), overrides
    assert [letter.slug for letter in session.scalars(select(Letter))] == ["taken"]


def test_editing_an_unsigned_letter_changes_its_text_in_place(client: FlaskClient, session) -> None:
    from app.letters import letters

    letter = letters.create_letter(
        session, slug="draft-text", title="Draft", body="First words.", by=None
    )
    organiser = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, organiser.email)
    token = csrf_token(client, "/admin/letters/draft-text/edit")
    response = client.post(
        "/admin/letters/draft-text/edit",
        data={"csrf_token": token, **_letter_form(title="Draft", body="Better words.")},
    )
    assert response.status_code == 303
    session.refresh(letter)
    assert (letter.version, letter.body) == (1, "Better words.")
    assert session.scalars(select(LetterVersion.body)).all() == ["Better words."]


def test_editing_a_signed_letter_makes_a_new_version_and_signatures_keep_theirs(
    client: FlaskClient, session
) -> None:
    from app.letters import letters

    letter = letters.create_letter(
        session, slug="signed-text", title="Signed", body="Old words.", by=None
    )
    session.commit()
    early = make_signature(session, letter=letter, name="Early Signer")
    organiser = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, organiser.email)
    token = csrf_token(client, "/admin/letters/signed-text/edit")
    client.post(
        "/admin/letters/signed-text/edit",
        data={"csrf_token": token, **_letter_form(title="Signed", body="New words.")},
    )
    session.refresh(letter)
    assert letter.version == 2
    assert early.letter_version == 1
    history = client.get("/letters/signed-text/history").get_data(as_text=True)
    assert "Old words." in history and "New words." in history
    assert "See its history" in client.get("/letters/signed-text").get_data(as_text=True)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "letter.edit")).one()
    assert event.details["before"] == {"body": "Old words."}
    assert event.details["after"] == {"body": "New words."}
    assert event.details["new_version"] == 2

    assert sign(client, "signed-text", email="late@example.org").status_code == 303
    late = session.scalars(select(Signature).where(Signature.email == "late@example.org")).one()
    assert late.letter_version == 2


def test_only_owners_edit(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="moderated")
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    assert client.get("/admin/letters/moderated").status_code == 200
    assert client.get("/admin/letters/moderated/edit").status_code == 404


def test_owners_manage_the_team_and_a_letter_keeps_an_owner(client: FlaskClient, session) -> None:
    from app.extensions import limiter

    limiter.reset()
    letter = make_letter(session, slug="team-letter")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    helper = make_organiser(session, email="helper@campaign.example")
    log_in(client, owner.email)
    token = csrf_token(client, "/admin/letters/team-letter/team")
    added = client.post(
        "/admin/letters/team-letter/team",
        data={"csrf_token": token, "email": "HELPER@campaign.example", "role": "moderator"},
    )
    assert added.status_code == 303
    unknown = client.post(
        "/admin/letters/team-letter/team",
        data={"csrf_token": token, "email": "nobody@campaign.example", "role": "viewer"},
    )
    # The same answer whether or not the account exists (tests/organiser/test_console_hardening.py).
    assert unknown.status_code == 303
    alone = client.post(
        f"/admin/letters/team-letter/team/{owner.id}/remove", data={"csrf_token": token}
    )
    assert alone.status_code == 400
    assert "at least one owner" in alone.get_data(as_text=True)
    removed = client.post(
        f"/admin/letters/team-letter/team/{helper.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    events = select(AuditEvent).where(AuditEvent.letter_id == letter.id).order_by(AuditEvent.id)
    assert [e.action for e in session.scalars(events)] == ["team.grant", "team.remove"]
