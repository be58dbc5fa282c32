"""The console's side of organisations: the registry (superusers edit, organisers read), a
letter's watch-list and accepted roles, organisational signatures and affiliation links."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import AuditEvent, Organisation, OrganiserRole, Signature
from app.organisations import breakdown
from app.organisations.registry import OrganisationInput, save_organisation
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import confirm_signature, csrf_token, log_in, sign


def _oxford(session) -> Organisation:
    organisation = save_organisation(
        session,
        OrganisationInput("University of Oxford", ["ox.ac.uk"], "academia", "GB"),
        by=None,
    )
    session.commit()
    return organisation


def test_superusers_edit_the_registry_and_other_organisers_only_read_it(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session)
    organiser = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    superuser = make_organiser(session, is_superuser=True)
    _oxford(session)

    log_in(client, organiser.email)
    listing = client.get("/admin/organisations?q=oxf").get_data(as_text=True)
    assert "University of Oxford" in listing and "ox.ac.uk" in listing
    assert client.get("/admin/organisations/new").status_code == 404
    assert client.get("/admin/organisations/import").status_code == 404
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})

    log_in(client, superuser.email)
    token = csrf_token(client, "/admin/organisations/new")
    refused = client.post(
        "/admin/organisations/new",
        data={
            "csrf_token": token,
            "name": "Gmail Lovers",
            "domains": "gmail.com",
            "sector": "other",
        },
    )
    assert refused.status_code == 422
    assert "free or disposable" in refused.get_data(as_text=True)
    added = client.post(
        "/admin/organisations/new",
        data={
            "csrf_token": token,
            "name": "DeepMind",
            "domains": "deepmind.com",
            "sector": "industry",
            "country": "United Kingdom",
        },
    )
    assert added.status_code == 303
    deepmind = session.scalars(select(Organisation).where(Organisation.name == "DeepMind")).one()
    assert deepmind.country == "GB"

    upload = client.post(
        "/admin/organisations/import",
        data={
            "csrf_token": csrf_token(client, "/admin/organisations/import"),
            "file": (
                io.BytesIO(b"name,domains,sector,country\nOpenAI,openai.com,nope,\n"),
                "r.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 422
    assert "line 2" in upload.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Organisation)) == 2
    actions = {event.action for event in session.scalars(select(AuditEvent))}
    assert "organisations.add" in actions


def test_the_letter_watch_list_and_roles_in_the_console(client: FlaskClient, session) -> None:
    _oxford(session)
    letter = make_letter(session, slug="watched")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, owner.email)
    url = "/admin/letters/watched/organisations"
    refused = client.post(
        url, data={"csrf_token": csrf_token(client, url), "watched": "Oxford\nAtlantis Corp"}
    )
    assert refused.status_code == 422
    assert "Atlantis Corp" in refused.get_data(as_text=True)
    saved = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "watched": "university of oxford",
            "roles": "Vice-Chancellor\nDirector",
        },
    )
    assert saved.status_code == 303
    assert [o.name for o in breakdown.watched_organisations(session, letter)] == [
        "University of Oxford"
    ]
    session.refresh(letter)
    assert letter.accepted_roles == ["Vice-Chancellor", "Director"]
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    log_in(client, moderator.email)
    assert client.post(url, data={"csrf_token": csrf_token(client, url)}).status_code == 404


def test_organisational_signatures_count_once_confirmed_or_from_an_accepted_role(
    app: Flask, client: FlaskClient, session
) -> None:
    _oxford(session)
    letter = make_letter(session, slug="orgs")
    letter.accepted_roles = ["Vice-Chancellor"]
    session.commit()
    signers = [
        ("Irene Tracey", "vc@ox.ac.uk", "Vice-Chancellor"),  # domain and role: counted at once
        ("Pat Someone", "pat@gmail.com", "Vice-Chancellor"),  # not from the domain
        ("Lee Staff", "lee@ox.ac.uk", "Lecturer"),  # not an accepted role
    ]
    for number, (name, email, title) in enumerate(signers):
        client.environ_base["REMOTE_ADDR"] = f"10.1.0.{number + 1}"
        response = sign(client, "orgs", name=name, email=email, title=title,
                        affiliation="University of Oxford", signing_as="on_behalf")  # fmt: skip
        assert response.status_code == 303
        confirm_signature(
            session, app, session.scalars(select(Signature).where(Signature.name == name)).one()
        )
        session.commit()
    listing = client.get("/letters/orgs/signatories").get_data(as_text=True)
    section = listing[listing.index('id="organisational-heading"') :][:1200]
    assert "Irene Tracey" in section
    assert "Pat Someone" not in section and "Lee Staff" not in section

    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    page = client.get("/admin/letters/orgs/organisations").get_data(as_text=True)
    assert "Pat Someone" in page and "not yet" in page
    pat = session.scalars(select(Signature).where(Signature.name == "Pat Someone")).one()
    response = client.post(
        "/admin/letters/orgs/organisations/confirm",
        data={
            "csrf_token": csrf_token(client, "/admin/letters/orgs/organisations"),
            "ids": [str(pat.id)],
            "confirmed": "1",
        },
    )
    assert response.status_code == 303
    listing = client.get("/letters/orgs/signatories").get_data(as_text=True)
    assert "Pat Someone" in listing[listing.index('id="organisational-heading"') :][:1200]
    logged = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signatures.confirm_on_behalf")
    ).one()
    assert logged.signature_ids == [pat.id]

    # What made Irene's count changes: her affiliation no longer stands for the organisation.
    irene = session.scalars(select(Signature).where(Signature.name == "Irene Tracey")).one()
    url = "/admin/letters/orgs/affiliations"
    client.post(
        f"{url}/{irene.affiliation_id}/link",
        data={"csrf_token": csrf_token(client, url), "organisation": ""},
    )
    session.refresh(irene)
    session.refresh(pat)
    assert (irene.on_behalf_confirmed, pat.on_behalf_confirmed) == (False, True)


def test_linking_an_affiliation_makes_its_signatories_state_the_organisation(
    client: FlaskClient, session
) -> None:
    _oxford(session)
    letter = make_letter(session, slug="linked")
    make_signature(session, letter=letter, affiliation="Oxford Uni")
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    affiliation_id = make_signature(session, letter=letter, affiliation="Oxford Uni").affiliation_id
    url = "/admin/letters/linked/affiliations"
    unknown = client.post(
        f"{url}/{affiliation_id}/link",
        data={"csrf_token": csrf_token(client, url), "organisation": "Oxford Brookes"},
    )
    assert unknown.status_code == 400
    linked = client.post(
        f"{url}/{affiliation_id}/link",
        data={"csrf_token": csrf_token(client, url), "organisation": "University of Oxford"},
    )
    assert linked.status_code == 303
    [count] = breakdown.letter_breakdown(session, letter).organisations
    assert (count.name, count.stated, count.verified) == ("University of Oxford", 2, 0)


def test_adding_an_organisation_links_the_affiliations_already_named_after_it(session) -> None:
    letter = make_letter(session)
    signature = make_signature(session, letter=letter, affiliation="Acme Labs")
    assert signature.affiliation.organisation_id is None
    acme = save_organisation(
        session, OrganisationInput("ACME labs", ["acme.example"], "industry", ""), by=None
    )
    session.commit()
    session.refresh(signature.affiliation)
    assert signature.affiliation.organisation_id == acme.id


def test_registry_edits_in_the_console_are_on_replayed_public_pages_at_once(session) -> None:
    """The page replay keeps a public page for PAGE_CACHE_SECONDS; a change to the registry,
    which every letter's pages show, must not wait for it (as a letter's own edit does not)."""
    from app import create_app
    from config import TestingConfig

    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    oxford = _oxford(session)
    letter = make_letter(session, slug="replayed")
    make_signature(session, letter=letter, affiliation="University of Oxford")
    superuser = make_organiser(session, is_superuser=True)
    session.commit()
    reader, console = cached.test_client(), cached.test_client()
    assert "University of Oxford" in reader.get("/letters/replayed/breakdown").get_data(
        as_text=True
    )

    log_in(console, superuser.email)
    url = f"/admin/organisations/{oxford.id}/edit"
    form = console.get(url).get_data(as_text=True)
    assert 'value="ox.ac.uk"' in form
    edited = console.post(
        url,
        data={
            "csrf_token": csrf_token(console, url),
            "name": "Oxford University",
            "domains": "ox.ac.uk",
            "sector": "academia",
        },
    )
    assert edited.status_code == 303
    page = reader.get("/letters/replayed/breakdown").get_data(as_text=True)
    assert "Oxford University" in page

    removed = console.post(
        f"/admin/organisations/{oxford.id}/delete",
        data={"csrf_token": csrf_token(console, "/admin/organisations")},
    )
    assert removed.status_code == 303
    page = reader.get("/letters/replayed/breakdown").get_data(as_text=True)
    assert "Oxford University" not in page
    assert session.get(Organisation, oxford.id) is None
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["organisations.edit", "organisations.delete"]


def test_console_addresses_with_ids_no_row_can_have_are_404(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="bounds")
    make_signature(session, letter=letter)
    superuser = make_organiser(session, is_superuser=True)
    log_in(client, superuser.email)
    huge = 2**40
    assert client.get(f"/admin/organisations/{huge}/edit").status_code == 404
    token = csrf_token(client, "/admin/organisations")
    response = client.post(
        f"/admin/letters/bounds/affiliations/{huge}/link",
        data={"csrf_token": token, "organisation": ""},
    )
    assert response.status_code == 404
