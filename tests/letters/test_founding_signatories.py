"""Founding signatories: a letter under embargo is hidden from every public URL, invitation
links open it only for their letter and person and sign at once, and the launch lists every
founding signatory together."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.errors import InvalidInput
from app.letters import letters
from app.models import (
    AuditEvent,
    Invitation,
    OrganiserRole,
    OutboundEmail,
    Signature,
    SignatureState,
)
from app.signing import invitations, lifecycle
from app.signing.settings import signing_settings
from app.signing.tokens import TokenPurpose, make_token
from app.support.csv_input import ImportRejected
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, deliver_mail, log_in, path_of, text_body

INVITATION_LINK = re.compile(r"(https?://\S+/invitation/\S+)")

#: Every public address of a letter: under embargo each answers 404.
PUBLIC_GETS = (
    "/letters/{slug}",
    "/letters/{slug}/signatories",
    "/letters/{slug}/history",
    "/letters/{slug}/versions/1.md",
    "/letters/{slug}/breakdown",
    "/letters/{slug}/check",
    "/letters/{slug}/check-email",
    "/letters/{slug}/snapshots",
    "/letters/{slug}/snapshots/1.csv",
    "/letters/{slug}/withdrawn",
    "/letters/{slug}/updates",
    "/letters/{slug}/updates.atom",
    "/letters/{slug}/share.png",
    "/letters/{slug}/embed",
    "/letters/{slug}/poster",
    "/api/letters/{slug}",
    "/api/letters/{slug}/signatories",
    "/api/letters/{slug}/versions",
    "/api/letters/{slug}/snapshots",
    "/api/letters/{slug}/affiliations",
    "/api/letters/{slug}/affiliations.csv",
)


def _embargoed(runner, tmp_path: Path, slug: str = "founding") -> None:
    body = tmp_path / "letter.md"
    body.write_text("We call for **laws** against deepfakes.\n", encoding="utf-8")
    result = runner.invoke(
        args=[
            *("letters", "create", slug, "--title", "Founding letter"),
            *("--body-file", str(body), "--embargo"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "under embargo" in result.output


def _invite(runner, tmp_path: Path, slug: str, text: str):
    listing = tmp_path / "invited.csv"
    listing.write_text(text, encoding="utf-8")
    return runner.invoke(args=["letters", "invite", slug, str(listing)])


def _links(smtp: SMTPServer) -> dict[str, str]:
    links = {}
    for message in smtp.recorder.messages:
        found = INVITATION_LINK.search(text_body(message))
        if found:
            links[message["To"]] = found.group(1)
    return links


def test_an_embargoed_letter_is_hidden_from_every_public_url(
    client: FlaskClient, runner, session, tmp_path: Path
) -> None:
    _embargoed(runner, tmp_path)
    for address in PUBLIC_GETS:
        url = address.format(slug="founding")
        assert client.get(url).status_code == 404, url
    assert client.post("/api/letters/founding/check", json={"names": ["x"]}).status_code == 404
    assert client.post("/letters/founding/sign", data={}).status_code == 404
    assert "Founding letter" not in client.get("/").get_data(as_text=True)
    # The letter itself is there, for its organisers and invitations.
    letter = letters.find_letter(session, "founding")
    assert letter is not None and letter.embargoed and letter.launched_at is None


def test_invited_people_sign_at_once_and_launch_lists_them_together(
    app: Flask, client: FlaskClient, runner, session, tmp_path: Path, mail_to_smtp: SMTPServer
) -> None:
    _embargoed(runner, tmp_path)
    result = _invite(
        runner,
        tmp_path,
        "founding",
        "name,email,affiliation,title,country\n"
        "Ada Lovelace,ada@example.org,University of London,Professor,GB\n"
        "Grace Hopper,grace@example.org,,,\n",
    )
    assert result.exit_code == 0, result.output
    assert "Invited 2 people" in result.output
    again = _invite(runner, tmp_path, "founding", "name,email\nAda,ADA@example.org\n")
    assert "Invited 0 people (emails queued); 1 were invited already." in again.output

    deliver_mail(app)
    links = _links(mail_to_smtp)
    assert set(links) == {"ada@example.org", "grace@example.org"}
    [message] = mail_to_smtp.recorder.to("ada@example.org")
    assert "not public yet" in text_body(message)
    ada_path = path_of(links["ada@example.org"], app.config["BASE_URL"])

    opened = client.get(ada_path)
    assert opened.status_code == 200
    assert opened.headers["Cache-Control"] == "no-store"
    page = opened.get_data(as_text=True)
    assert "not public yet" in page
    assert 'value="Ada Lovelace"' in page and 'value="University of London"' in page
    assert "ada@example.org" in page  # shown to her, as the address she signs with
    invitation = session.scalars(
        select(Invitation).where(Invitation.email == "ada@example.org")
    ).one()
    assert invitation.status == "opened"

    token = csrf_token(client, ada_path)
    signed = client.post(
        ada_path,
        data={
            "csrf_token": token,
            "name": "Ada Lovelace",
            "affiliation": "University of London",
            "title": "Professor of Mathematics",
            "country": "GB",
            "is_public": "y",
            "email": "someone-else@example.org",  # not a field here: ignored
        },
    )
    assert signed.status_code == 303
    signature = session.scalars(select(Signature).where(Signature.name == "Ada Lovelace")).one()
    assert signature.state is SignatureState.VERIFIED
    assert signature.email == "ada@example.org"
    assert signature.initial is True
    assert signature.title == "Professor of Mathematics"
    session.refresh(invitation)
    assert invitation.status == "signed" and invitation.signature_id == signature.id
    thanks = client.get(ada_path).get_data(as_text=True)
    assert "Thank you for signing" in thanks and "/withdraw/" in thanks
    # Signing twice from one invitation changes nothing.
    client.post(ada_path, data={"csrf_token": token, "name": "Other"})
    assert session.scalar(select(Signature.name).where(Signature.id == signature.id)) == (
        "Ada Lovelace"
    )

    # Still hidden until the launch.
    assert client.get("/api/letters/founding").status_code == 404
    launched = runner.invoke(args=["letters", "launch", "founding"])
    assert launched.exit_code == 0, launched.output
    assert "Launched founding at" in launched.output
    assert runner.invoke(args=["letters", "launch", "founding"]).exit_code == 1

    data = client.get("/api/letters/founding").get_json()
    assert data["launched_at"] is not None
    assert data["verified_signatures"] == 1
    [item] = client.get("/api/letters/founding/signatories").get_json()["items"]
    assert item["name"] == "Ada Lovelace" and item["initial"] is True
    assert "initial signatory" in client.get("/letters/founding").get_data(as_text=True)
    assert "Launched on" in client.get("/letters/founding").get_data(as_text=True)

    # After the launch, an invitation still signs at once, but not as a founding signatory.
    grace_path = path_of(links["grace@example.org"], app.config["BASE_URL"])
    client.post(
        grace_path,
        data={
            "csrf_token": csrf_token(client, grace_path),
            "name": "Grace Hopper",
            "affiliation": "US Navy",
            "title": "Rear Admiral",
            "country": "US",
        },
    )
    grace = session.scalars(select(Signature).where(Signature.name == "Grace Hopper")).one()
    assert grace.state is SignatureState.VERIFIED and grace.initial is False
    # No audit entry carries the invited people's names or addresses.
    for event in session.scalars(select(AuditEvent)):
        assert "ada@example.org" not in str(event.details)


def test_an_invitation_link_works_only_for_its_letter_and_person(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="mine")
    other = make_letter(session, slug="other")
    letter.embargoed, letter.launched_at = True, None
    session.commit()
    settings = signing_settings(app.config)
    invitations.invite(
        session,
        letter,
        b"name,email\nAda,ada@example.org\n",
        settings=settings,
        by=None,
        now=letter.created_at,
    )
    session.commit()
    invitation = session.scalars(select(Invitation)).one()
    token = make_token(settings.secret_key, TokenPurpose.INVITE, invitation.id)

    assert client.get(f"/letters/mine/invitation/{token}").status_code == 200
    assert client.get(f"/letters/other/invitation/{token}").status_code == 404
    assert other.embargoed is False
    # Another purpose's token for the same number opens nothing.
    confirm = make_token(settings.secret_key, TokenPurpose.CONFIRM, invitation.id)
    assert client.get(f"/letters/mine/invitation/{confirm}").status_code == 404
    assert client.get(f"/letters/mine/invitation/{token}x").status_code == 404
    # Revoked: the link is dead, and its unsent email is not sent.
    assert session.scalar(select(OutboundEmail.id).where(OutboundEmail.kind == "invitation"))
    invitations.revoke_invitation(session, letter, invitation.id, by=None)
    session.commit()
    assert client.get(f"/letters/mine/invitation/{token}").status_code == 404
    assert (
        session.scalar(select(OutboundEmail.id).where(OutboundEmail.kind == "invitation")) is None
    )


def test_a_bad_invitation_list_invites_nobody_and_lists_every_bad_line(
    runner, session, tmp_path: Path
) -> None:
    _embargoed(runner, tmp_path, slug="careful")
    result = _invite(
        runner,
        tmp_path,
        "careful",
        "name,email,country\nAda,ada@example.org,GB\n,nobody@example.org,\n"
        "Bob,not-an-address,\nCarol,carol@example.org,Atlantis\n",
    )
    assert result.exit_code == 1
    assert "line 3: name is missing" in result.output
    assert "line 4: email" in result.output
    assert "line 5: country 'Atlantis'" in result.output
    assert session.scalar(select(Invitation.id)) is None
    assert session.scalar(select(OutboundEmail.id)) is None
    missing = _invite(runner, tmp_path, "careful", "name\nAda\n")
    assert "missing column(s): email" in missing.output


def test_resends_are_capped_and_withdrawal_forgets_the_invitation(
    app: Flask, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_EMAILS_PER_SIGNATURE", 3)
    letter = make_letter(session, slug="capped")
    letter.embargoed, letter.launched_at = True, None
    session.commit()
    settings = signing_settings(app.config)
    invitations.invite(
        session, letter, b"name,email\nAda,ada@example.org\n", settings=settings, by=None,
        now=letter.created_at,
    )  # fmt: skip
    invitation = session.scalars(select(Invitation)).one()
    sent = [
        invitations.resend_invitation(session, letter, invitation.id, settings=settings, by=None)
        for _ in range(4)
    ]
    assert sent == [True, True, False, False]
    assert invitation.emails_sent == 3

    from app.signing.lifecycle import SignatureInput

    signature = lifecycle.sign_from_invitation(
        session,
        letter,
        invitation,
        SignatureInput("Ada", "", "Example University", "Professor", "GB", None, True),
        now=letter.created_at,
    )
    assert signature is not None
    assert (
        invitations.resend_invitation(session, letter, invitation.id, settings=settings, by=None)
        is False
    )  # signed: nothing to resend
    lifecycle.withdraw(session, letter, signature, settings=settings)
    session.commit()
    assert session.scalar(select(Invitation.id)) is None
    assert (
        session.scalar(select(OutboundEmail.id).where(OutboundEmail.kind == "invitation")) is None
    )


def test_organisers_invite_see_who_signed_and_launch_in_the_console(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="console-launch")
    letter.launched_at = None
    from app.models import LetterStatus

    letter.status = LetterStatus.DRAFT
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    viewer = make_organiser(session, letters={letter: OrganiserRole.VIEWER})
    session.commit()

    log_in(client, viewer.email)
    page = client.get("/admin/letters/console-launch/invitations")
    assert page.status_code == 200
    token = csrf_token(client, "/admin/letters/console-launch/invitations")
    assert (
        client.post("/admin/letters/console-launch/launch", data={"csrf_token": token}).status_code
        == 404
    )
    client.post("/admin/logout", data={"csrf_token": token})

    log_in(client, owner.email)
    url = "/admin/letters/console-launch/invitations"
    token = csrf_token(client, url)
    client.post("/admin/letters/console-launch/embargo", data={"csrf_token": token})
    session.refresh(letter)
    assert letter.embargoed and letter.status is LetterStatus.OPEN
    import io

    bad = client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(b"name,email\nAda,nope\n"), "i.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "Line 2: email" in bad.get_data(as_text=True)
    good = client.post(
        url,
        data={
            "csrf_token": token,
            "file": (io.BytesIO(b"name,email\nAda,ada@example.org\n"), "i.csv"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    listing = client.get(url).get_data(as_text=True)
    assert "ada@example.org" in listing and "invited" in listing
    assert client.get("/letters/console-launch").status_code == 404
    client.post("/admin/letters/console-launch/launch", data={"csrf_token": token})
    assert client.get("/letters/console-launch").status_code == 200
    session.refresh(letter)
    assert letter.launched_at is not None and not letter.embargoed
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.letter_id == letter.id))
    )
    assert {"letter.embargo", "letter.invite", "letter.launch"} <= actions


def _embargoed_letter(session, slug: str):
    letter = make_letter(session, slug=slug)
    letter.embargoed, letter.launched_at = True, None
    session.commit()
    return letter


def _invitation_token(app: Flask, session, letter, listing: bytes) -> tuple[Invitation, str]:
    settings = signing_settings(app.config)
    invitations.invite(session, letter, listing, settings=settings, by=None, now=utcnow())
    session.commit()
    invitation = session.scalars(
        select(Invitation).where(Invitation.letter_id == letter.id).order_by(Invitation.id)
    ).first()
    assert invitation is not None
    return invitation, make_token(settings.secret_key, TokenPurpose.INVITE, invitation.id)


def _sign_from(client: FlaskClient, path: str, **answers: str):
    data = {"name": "Ada", "affiliation": "Example University", "title": "Professor"}
    data.update(country="GB", **answers)
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def test_a_founding_signatory_can_withdraw_under_embargo(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = _embargoed_letter(session, "early-leaver")
    _, token = _invitation_token(app, session, letter, b"name,email\nAda,ada@example.org\n")
    path = f"/letters/early-leaver/invitation/{token}"
    assert _sign_from(client, path).status_code == 303
    thanks = client.get(path).get_data(as_text=True)
    withdraw_path = re.search(r'href="[^"]*?(/letters/early-leaver/withdraw/[^"]+)"', thanks)
    assert withdraw_path, thanks
    assert client.get(withdraw_path.group(1)).status_code == 200
    done = client.post(
        withdraw_path.group(1), data={"csrf_token": csrf_token(client, withdraw_path.group(1))}
    )
    assert done.status_code == 200 and "withdrawn" in done.get_data(as_text=True).lower()
    signature = session.scalars(select(Signature).where(Signature.letter_id == letter.id)).one()
    assert signature.state is SignatureState.WITHDRAWN
    assert session.scalar(select(Invitation.id)) is None  # the invitation forgotten with it


def test_link_pages_do_not_tell_whether_a_hidden_letter_exists(
    client: FlaskClient, session
) -> None:
    _embargoed_letter(session, "secret")
    for kind in ("invitation", "reaffirm", "unsubscribe", "withdraw", "confirm"):
        hidden = client.get(f"/letters/secret/{kind}/not-a-token")
        missing = client.get(f"/letters/no-such-letter/{kind}/not-a-token")
        assert hidden.status_code == missing.status_code == 404, kind
        # The same page, but for the address asked for (its language links name it).
        same = hidden.get_data().replace(b"/letters/secret/", b"/letters/X/")
        assert same == missing.get_data().replace(b"/letters/no-such-letter/", b"/letters/X/"), kind


def test_an_invitation_replaces_an_unconfirmed_signature_and_respects_a_hidden_one(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="both-ways")
    pending = make_signature(
        session, letter=letter, email="ada@example.org", state=SignatureState.PENDING
    )
    pending_id = pending.id
    hidden = make_signature(session, letter=letter, email="bob@example.org")
    hidden.state = SignatureState.HIDDEN
    session.commit()
    _, ada_token = _invitation_token(
        app, session, letter, b"name,email\nAda,ada@example.org\nBob,bob@example.org\n"
    )
    assert (
        _sign_from(client, f"/letters/both-ways/invitation/{ada_token}", wants_news="y").status_code
        == 303
    )
    ada = session.scalars(select(Signature).where(Signature.email == "ada@example.org")).one()
    assert ada.id != pending_id and ada.state is SignatureState.VERIFIED and ada.wants_news
    settings = signing_settings(app.config)
    bob = session.scalars(select(Invitation).where(Invitation.email == "bob@example.org")).one()
    bob_token = make_token(settings.secret_key, TokenPurpose.INVITE, bob.id)
    refused = _sign_from(client, f"/letters/both-ways/invitation/{bob_token}", name="Bob")
    assert refused.status_code == 422
    assert "cannot be added here" in refused.get_data(as_text=True)
    session.refresh(bob)
    assert bob.signed_at is None


def test_what_an_embargo_refuses(app: Flask, runner, session, tmp_path: Path) -> None:
    from app.models import LetterStatus

    _embargoed_letter(session, "quiet")
    listing = tmp_path / "people.csv"
    listing.write_text("name,email,affiliation,title,country\nAda,ada@example.org,U,P,GB\n")
    refused = runner.invoke(args=["signatures", "import", "quiet", str(listing)])
    assert refused.exit_code == 1 and "under embargo" in refused.output
    assert (
        runner.invoke(args=["signatures", "import", "quiet", str(listing), "--verified"]).exit_code
        == 0
    )
    body = tmp_path / "news.md"
    body.write_text("News.")
    early = runner.invoke(
        args=["letters", "update", "quiet", "--subject", "Hi", "--body-file", str(body)]
    )
    assert early.exit_code == 1 and "once the letter is public" in early.output
    draft = make_letter(session, slug="drafty", status=LetterStatus.DRAFT)
    with pytest.raises(InvalidInput, match="draft"):
        invitations.invite(
            session, draft, b"name,email\nA,a@example.org\n",
            settings=signing_settings(app.config), by=None, now=utcnow(),
        )  # fmt: skip
    assert session.scalar(select(Invitation.id).where(Invitation.letter_id == draft.id)) is None


def test_an_invitation_is_written_in_the_language_the_list_gives(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    from babel.support import Translations

    from app.mail.composing import TRANSLATIONS

    letter = _embargoed_letter(session, "polyglot")
    invitations.invite(
        session,
        letter,
        b"name,email,language\nAmelie,amelie@example.org,fr\nAda,ada@example.org,\n",
        settings=signing_settings(app.config),
        by=None,
        now=utcnow(),
    )
    session.commit()
    deliver_mail(app)
    [french] = mail_to_smtp.recorder.to("amelie@example.org")
    subject = Translations.load(str(TRANSLATIONS), ["fr"]).gettext(
        "Invitation to sign before launch: %(title)s"
    )
    assert french["Subject"] == subject % {"title": letter.title}
    assert "?lang=fr" in text_body(french)
    [english] = mail_to_smtp.recorder.to("ada@example.org")
    assert english["Subject"].startswith("Invitation to sign before launch")
    with pytest.raises(ImportRejected, match="language 'pt' is not one of en, fr, de, es"):
        invitations.invite(
            session, letter, b"name,email,language\nBo,bo@example.org,pt\n",
            settings=signing_settings(app.config), by=None, now=utcnow(),
        )  # fmt: skip
