"""Merging affiliation variants, importing signatories, and the overview page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.errors import InvalidInput
from app.extensions import limiter
from app.models import (
    Affiliation,
    AuditEvent,
    OrganiserRole,
    OutboundEmail,
    Signature,
    SignatureState,
)
from app.moderation import imports
from app.signing.settings import signing_settings
from app.support import csv_input
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, deliver_mail, log_in, sign, text_body

HEADER = "name,email,affiliation,title,country,comment\n"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


@pytest.fixture
def campaign(session, client: FlaskClient):
    letter = make_letter(session, slug="campaign")
    organiser = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, organiser.email)
    return letter


def test_merging_variants_moves_counts_and_remembers_aliases(
    client: FlaskClient, session, campaign
) -> None:
    letter = campaign
    mit = make_signature(
        session, letter=letter, affiliation="Massachusetts Institute of Technology"
    )
    dotted = make_signature(session, letter=letter, affiliation="M.I.T.")
    short = make_signature(session, letter=letter, affiliation="MIT")
    page = client.get("/admin/letters/campaign/affiliations").get_data(as_text=True)
    assert page.count('name="ids"') == 2  # "M.I.T." and "MIT" are already one key

    token = csrf_token(client, "/admin/letters/campaign/affiliations")
    response = client.post(
        "/admin/letters/campaign/affiliations/merge",
        data={
            "csrf_token": token,
            "target": str(mit.affiliation_id),
            "ids": [str(dotted.affiliation_id)],
        },
    )
    assert response.status_code == 303
    for signature in (mit, dotted, short):
        session.refresh(signature)
    assert {s.affiliation.name for s in (mit, dotted, short)} == {
        "Massachusetts Institute of Technology"
    }
    page = client.get("/admin/letters/campaign/affiliations").get_data(as_text=True)
    assert f'data-testid="verified-{mit.affiliation_id}">3<' in page
    assert "also: M.I.T." in page
    overview = client.get("/admin/letters/campaign").get_data(as_text=True)
    assert "Massachusetts Institute of Technology: 3" in overview

    # A new signer typing a remembered variant lands on the kept name.
    sign(client, "campaign", email="new@mit.example", affiliation="m.i.t")
    newcomer = session.scalars(select(Signature).where(Signature.email == "new@mit.example")).one()
    assert newcomer.affiliation.name == "Massachusetts Institute of Technology"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "affiliations.merge")
    ).one()
    assert event.details["signatures_moved"] == 2


def test_merge_refuses_affiliations_of_other_letters(
    client: FlaskClient, session, campaign
) -> None:
    mine = make_signature(session, letter=campaign, affiliation="Mine")
    other = make_signature(session, letter=make_letter(session, slug="other"), affiliation="Theirs")
    token = csrf_token(client, "/admin/letters/campaign/affiliations")
    response = client.post(
        "/admin/letters/campaign/affiliations/merge",
        data={
            "csrf_token": token,
            "target": str(mine.affiliation_id),
            "ids": [str(other.affiliation_id)],
        },
    )
    assert response.status_code == 400
    session.refresh(other)
    assert other.affiliation.name == "Theirs"


def _upload(client: FlaskClient, content: str, *, verified: bool = False, name: str = "list.csv"):
    token = csrf_token(client, "/admin/letters/campaign/import")
    data = {
        "csrf_token": token,
        "file": (io.BytesIO(content.encode()), name),
        "source": "Paper forms",
    }
    if verified:
        data["verified"] = "y"
    return client.post(
        "/admin/letters/campaign/import", data=data, content_type="multipart/form-data"
    )


def test_a_bad_import_writes_nothing_and_names_every_bad_line(
    client: FlaskClient, session, campaign
) -> None:
    content = HEADER + (
        "Ada Lovelace,ada@example.org,Cambridge,Professor,GB,\n"
        "No Email,,Cambridge,Professor,GB,\n"
        "Bad Country,bad@example.org,Cambridge,Professor,Atlantis,\n"
        "Ok Person,ok@example.org,Oxford,Fellow,Germany,\n"
        "Broken,broken@,Oxford,Fellow,DE,\n"
    )
    response = _upload(client, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Line 3: email is missing" in page
    assert "Line 4: country &#39;Atlantis&#39; is not a country name or ISO 3166 code" in page
    assert "Line 6: email &#39;broken@&#39;" in page
    assert "Line 2" not in page and "Line 5" not in page
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_a_clean_import_skips_those_who_signed_and_records_its_source(
    client: FlaskClient, session, campaign
) -> None:
    make_signature(session, letter=campaign, email="already@example.org")
    content = HEADER + (
        "Ada Lovelace,ada@example.org,Cambridge,Professor,United Kingdom,Paper form\n"
        "Again,already@example.org,Cambridge,Professor,GB,\n"
        "Twice,ADA@example.org,Cambridge,Professor,GB,\n"
        "Grace Hopper,grace@example.org,Yale,Admiral,us,\n"
    )
    response = _upload(client, content, verified=True, name="paper.csv")
    assert response.status_code == 303
    imported = session.scalars(select(Signature).where(Signature.source.is_not(None))).all()
    assert {(s.name, s.country, s.state) for s in imported} == {
        ("Ada Lovelace", "GB", SignatureState.VERIFIED),
        ("Grace Hopper", "US", SignatureState.VERIFIED),
    }
    assert {s.source for s in imported} == {"Paper forms"}
    assert session.scalars(select(OutboundEmail)).all() == []  # verified: nobody is emailed
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert (
        event.details["imported"],
        event.details["skipped_already_signed"],
        event.details["skipped_repeated_in_file"],
    ) == (2, 1, 1)
    assert "Grace Hopper" in client.get("/letters/campaign/signatories").get_data(as_text=True)


def test_an_unverified_import_emails_each_person_a_confirmation_link(
    app, client: FlaskClient, session, campaign, mail_to_smtp
) -> None:
    content = HEADER + "Ada Lovelace,ada@example.org,Cambridge,Professor,GB,\n"
    assert _upload(client, content).status_code == 303
    signature = session.scalars(select(Signature)).one()
    assert signature.state is SignatureState.PENDING
    [email] = session.scalars(select(OutboundEmail)).all()
    assert (email.kind, email.signature_id) == ("confirm", signature.id)
    deliver_mail(app)
    [message] = mail_to_smtp.recorder.to("ada@example.org")
    assert "/letters/campaign/confirm/" in text_body(message)


def _import(app, session, letter, content: str) -> imports.ImportResult:
    return imports.import_file(
        session,
        letter,
        content.encode(),
        file_name="chunked.csv",
        source="test",
        verified=True,
        settings=signing_settings(app.config),
        now=utcnow(),
        organiser=None,
    )


def test_a_bad_line_after_chunks_already_written_undoes_them(
    app, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows are written chunk by chunk while later ones are still being checked; the import's
    # savepoint must undo them within the caller's transaction (nothing rolled back here).
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    letter = make_letter(session, slug="chunked")
    good = "".join(f"Person {n},p{n}@example.org,Lab {n},Fellow,GB,\n" for n in range(5))
    content = HEADER + good + "Bad,bad@,Lab,Fellow,GB,\nLast,l@example.org,X,Y,GB,\n"
    with pytest.raises(csv_input.ImportRejected) as rejected:
        _import(app, session, letter, content)
    assert [str(problem) for problem in rejected.value.problems] == [
        "line 7: email 'bad@': There must be something after the @-sign."
    ]
    assert session.scalar(select(func.count()).select_from(Signature)) == 0
    assert session.scalar(select(func.count()).select_from(Affiliation)) == 0


def test_an_address_signed_while_the_file_is_imported_refuses_the_import_whole(
    app, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone signs with an address of the file between its look-up and its writing (the
    # look-up is made to miss it, as it would in that race): the database's unique index
    # refuses the chunk, the import says what to do, and the chunks before are undone.
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    letter = make_letter(session, slug="raced")
    make_signature(session, letter=letter, email="p5@example.org")
    monkeypatch.setattr(imports, "_signed_already", lambda *_: set())
    rows = "".join(f"Person {n},p{n}@example.org,Lab {n},Fellow,GB,\n" for n in range(7))
    with pytest.raises(InvalidInput, match="please run the import again"):
        _import(app, session, letter, HEADER + rows)
    assert session.scalar(select(func.count()).where(Signature.letter_id == letter.id)) == 1


def test_repeats_and_earlier_signers_are_found_across_chunks(
    client: FlaskClient, session, campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    make_signature(session, letter=campaign, email="early@example.org")
    content = HEADER + (
        "Ada,ada@example.org,Lab,Fellow,GB,\n"
        "Bob,bob@example.org,Lab,Fellow,GB,\n"
        "Early,EARLY@example.org,Lab,Fellow,GB,\n"
        "Ada Again,Ada@Example.org,Lab,Fellow,GB,\n"
        "Cy,cy@example.org,Lab,Fellow,GB,\n"
    )
    assert _upload(client, content).status_code == 303
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert (
        event.details["imported"],
        event.details["skipped_already_signed"],
        event.details["skipped_repeated_in_file"],
        event.details["emails_queued"],
    ) == (3, 1, 1, 3)
    queued = session.scalars(select(OutboundEmail.to_address)).all()
    assert sorted(queued) == ["ada@example.org", "bob@example.org", "cy@example.org"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "missing column(s)"),
        ("name,email\nA,a@example.org\n", "missing column(s): affiliation, title, country"),
        (HEADER, "the file has no rows"),
        (HEADER + "A,a@example.org,X,Y,GB,,extra\n", "more cells than there are columns"),
        (HEADER + "A\x00,a@example.org,X,Y,GB,\n", "invisible control characters"),
    ],
)
def test_malformed_files_are_refused(
    client: FlaskClient, session, campaign, content: str, message: str
) -> None:
    response = _upload(client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_non_utf8_and_wrong_file_types_are_refused(client: FlaskClient, session, campaign) -> None:
    token = csrf_token(client, "/admin/letters/campaign/import")
    latin1 = (HEADER + "Zoë,z@example.org,X,Y,FR,\n").encode("latin-1")
    response = client.post(
        "/admin/letters/campaign/import",
        data={"csrf_token": token, "file": (io.BytesIO(latin1), "list.csv"), "source": "Paper"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not UTF-8" in response.get_data(as_text=True)
    wrong = client.post(
        "/admin/letters/campaign/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"x"), "list.exe")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422
    assert "Only .csv files." in wrong.get_data(as_text=True)


def test_the_import_command(runner, session, tmp_path: Path) -> None:
    letter = make_letter(session, slug="cli-import")
    good = tmp_path / "good.csv"
    good.write_text(
        HEADER + "Ada,ada@example.org,M.I.T.,Prof,GB,\nBob,bob@example.org,mit,Prof,de,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["signatures", "import", "cli-import", str(good), "--verified"])
    assert result.exit_code == 0, result.output
    assert "Imported 2 signatures (verified); skipped 0 already signed" in result.output
    signatures = session.scalars(select(Signature).where(Signature.letter_id == letter.id)).all()
    assert {s.affiliation_id for s in signatures} == {signatures[0].affiliation_id}
    event = session.scalars(select(AuditEvent)).one()
    assert (event.organiser_email, event.action) == ("command line", "import")

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "Ann,ann@example.org,X,Y,GB,\nNo,,X,Y,GB,\n", encoding="utf-8")
    refused = runner.invoke(args=["signatures", "import", "cli-import", str(bad)])
    assert refused.exit_code == 1
    assert "line 3: email is missing" in refused.output
    assert session.scalar(select(func.count()).select_from(Signature)) == 2


def test_the_overview_shows_counts_a_chart_and_tops(client: FlaskClient, session, campaign) -> None:
    make_signature(session, letter=campaign, affiliation="CNRS", country="FR")
    make_signature(session, letter=campaign, affiliation="CNRS", country="FR")
    make_signature(session, letter=campaign, state=SignatureState.PENDING)
    make_signature(session, letter=campaign, state=SignatureState.HIDDEN)
    page = client.get("/admin/letters/campaign").get_data(as_text=True)
    assert 'data-testid="count-counted">2<' in page
    assert 'data-testid="count-unconfirmed">1<' in page
    assert 'data-testid="count-hidden">1<' in page
    assert "<svg" in page and "<rect" in page
    assert "3 in all" in page  # hidden ones are not in the chart
    assert "CNRS: 2" in page and "France: 2" in page
