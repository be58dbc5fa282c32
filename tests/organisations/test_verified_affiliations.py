"""The registry of organisations and verified affiliations: an address at an organisation's
domain (or a subdomain) verifies the signer's affiliation once they confirm; free-mail,
disposable and look-alike domains never do; what the signer typed is never rewritten."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.models import AuditEvent, Organisation, OrganisationDomain, Sector, Signature
from app.organisations import registry
from app.organisations.registry import OrganisationInput, clean_domain, save_organisation
from app.support.csv_input import ImportRejected
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_signature, sign


def _confirm(session, app: Flask, signature: Signature) -> None:
    confirm_signature(session, app, signature)
    session.commit()  # as the confirming request would


def _oxford(session, *domains: str) -> Organisation:
    organisation = save_organisation(
        session,
        OrganisationInput(
            name="University of Oxford",
            domains=list(domains or ["ox.ac.uk"]),
            sector="academia",
            country="United Kingdom",
        ),
        by=None,
    )
    session.commit()
    return organisation


def _signed(client: FlaskClient, session, slug: str, **answers: str) -> Signature:
    assert sign(client, slug, **answers).status_code == 303
    return session.scalars(
        select(Signature).where(Signature.email_normalized == answers["email"].lower())
    ).one()


def _listed(client: FlaskClient, slug: str, **query: str) -> list[dict]:
    response = client.get(f"/api/letters/{slug}/signatories", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(response.json["items"])


@pytest.mark.parametrize(
    ("address", "verified"),
    [
        ("ada@ox.ac.uk", True),
        ("ada@cs.ox.ac.uk", True),  # a subdomain
        ("ada@Maths.OX.ac.uk", True),  # domains ignore case
        ("ada@0x.ac.uk", False),  # a look-alike
        ("ada@box.ac.uk", False),  # a longer label that ends the same way
        ("ada@ox.ac.uk.evil.example", False),  # the domain inside another
        ("ox.ac.uk@gmail.com", False),  # the domain in the local part
        ("ada@ac.uk", False),  # the parent
    ],
)
def test_an_address_at_the_domain_or_a_subdomain_verifies_and_nothing_else_does(
    app: Flask, client: FlaskClient, session, address: str, verified: bool
) -> None:
    oxford = _oxford(session)
    letter = make_letter(session)
    signature = _signed(
        client, session, letter.slug, email=address, affiliation="University of Oxford"
    )
    assert not _listed(client, letter.slug)  # not before the signer confirms
    _confirm(session, app, signature)

    [item] = _listed(client, letter.slug)
    assert item["affiliation_verified"] is verified
    # The typed affiliation is the registry's own name, so it is linked either way.
    assert item["organisation"] == "University of Oxford"
    assert item["affiliation"] == "University of Oxford"
    assert signature.email_organisation_id == (oxford.id if verified else None)
    assert "@" not in str(item)  # never the address, nor its domain


def test_the_longest_registered_domain_wins(app: Flask, client, session) -> None:
    _oxford(session)
    institute = save_organisation(
        session,
        OrganisationInput("Oxford Internet Institute", ["oii.ox.ac.uk"], "academia", "GB"),
        by=None,
    )
    session.commit()
    letter = make_letter(session)
    signature = _signed(
        client,
        session,
        letter.slug,
        email="ada@oii.ox.ac.uk",
        affiliation="Oxford Internet Institute",
    )
    _confirm(session, app, signature)
    assert signature.email_organisation_id == institute.id
    [item] = _listed(client, letter.slug)
    assert item["organisation"] == "Oxford Internet Institute"
    assert item["affiliation_verified"] is True


def test_a_different_typed_affiliation_is_kept_and_the_address_is_never_shown_beside_it(
    app: Flask, client: FlaskClient, session
) -> None:
    oxford = _oxford(session)
    letter = make_letter(session)
    signature = _signed(
        client, session, letter.slug, email="ada@ox.ac.uk", affiliation="Acme Research Ltd"
    )
    _confirm(session, app, signature)

    # Recorded separately (exports, the breakdown's verified counts)...
    assert signature.email_organisation_id == oxford.id
    # ...but never shown beside the name: it would say where someone works who said otherwise.
    [item] = _listed(client, letter.slug)
    assert item["affiliation"] == "Acme Research Ltd"  # never silently rewritten
    assert item["organisation"] is None
    assert item["affiliation_verified"] is False
    page = client.get(f"/letters/{letter.slug}/signatories").get_data(as_text=True)
    assert "Acme Research Ltd" in page
    assert "University of Oxford" not in page
    assert "verified-badge" not in page.split('<ul class="signatories">')[1]


def test_the_list_can_be_filtered_to_verified_affiliations(
    app: Flask, client: FlaskClient, session
) -> None:
    _oxford(session)
    letter = make_letter(session)
    _confirm(
        session,
        app,
        _signed(
            client, session, letter.slug, email="ada@ox.ac.uk", affiliation="University of Oxford"
        ),
    )
    make_signature(session, letter=letter, email="bob@example.org")

    assert len(_listed(client, letter.slug)) == 2
    [verified] = _listed(client, letter.slug, verified="1")
    assert verified["affiliation_verified"] is True
    assert client.get(f"/api/letters/{letter.slug}/signatories?verified=maybe").status_code == 400
    page = client.get(f"/letters/{letter.slug}/signatories?verified=1").get_data(as_text=True)
    assert page.count('<span class="name">') == 1
    assert 'aria-hidden="true">✓</span> verified' in page


@pytest.mark.parametrize(
    ("domain", "why"),
    [
        ("gmail.com", "free or disposable"),
        ("mail.gmail.com", "free or disposable"),
        ("proton.me", "free or disposable"),
        ("mailinator.com", "free or disposable"),
        ("ac.uk", "shared by many"),
        ("co.uk", "shared by many"),
        ("localhost", "not a domain"),
        ("exa mple.org", "not a domain"),
        ("-bad-.org", "not a domain"),
    ],
)
def test_free_mail_disposable_and_shared_domains_can_never_be_registered(
    domain: str, why: str
) -> None:
    with pytest.raises(InvalidInput, match=why):
        clean_domain(domain)


def test_domains_are_kept_in_one_spelling() -> None:
    assert clean_domain(" @OX.ac.uk. ") == "ox.ac.uk"
    assert clean_domain("münchen.de") == "xn--mnchen-3ya.de"


def test_free_mail_addresses_never_verify_even_if_the_registry_were_edited_by_hand(
    app: Flask, client: FlaskClient, session
) -> None:
    oxford = _oxford(session)
    # Written past the registry's checks, as a hand-edit of the database would.
    session.add(OrganisationDomain(organisation_id=oxford.id, domain="gmail.com"))
    session.commit()
    letter = make_letter(session)
    signature = _signed(client, session, letter.slug, email="ada@gmail.com")
    _confirm(session, app, signature)
    assert signature.email_organisation_id is None


def test_a_domain_belongs_to_one_organisation(session) -> None:
    _oxford(session)
    with pytest.raises(InvalidInput, match=re.escape("already a domain of “University of Oxford”")):
        save_organisation(
            session, OrganisationInput("Oxford Brookes", ["ox.ac.uk"], "academia", ""), by=None
        )


def test_registry_changes_follow_existing_signatures_but_never_imported_ones(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session)
    confirmed = _signed(client, session, letter.slug, email="ada@cs.ox.ac.uk")
    _confirm(session, app, confirmed)
    imported = make_signature(session, letter=letter, email="bob@ox.ac.uk")
    imported.source = "import: paper.csv"
    session.commit()

    oxford = _oxford(session)  # the domain is registered after they signed
    session.refresh(confirmed)
    session.refresh(imported)
    assert confirmed.email_organisation_id == oxford.id
    assert imported.email_organisation_id is None

    registry.delete_organisation(session, oxford, by=None)
    session.commit()
    session.refresh(confirmed)
    assert confirmed.email_organisation_id is None
    assert [e.action for e in session.scalars(select(AuditEvent))][-1] == "organisations.delete"


REGISTRY = (
    "name,domains,sector,country\n"
    "University of Oxford,ox.ac.uk,academia,United Kingdom\n"
    "DeepMind,deepmind.com google-deepmind.com,industry,GB\n"
    "Algorithm Watch,algorithmwatch.org,Civil society,DE\n"
)


def test_the_import_command_adds_then_updates_never_duplicates(
    runner, session, tmp_path: Path
) -> None:
    path = tmp_path / "registry.csv"
    path.write_text(REGISTRY)
    result = runner.invoke(args=["organisations", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Added 3 organisations, updated 0, 0 unchanged;" in result.output

    path.write_text(
        "name,domains,sector,country\n"
        "university of oxford,ox.ac.uk cam.example,academia,GB\n"  # same organisation, folded
        "DeepMind,deepmind.com google-deepmind.com,industry,GB\n"
    )
    result = runner.invoke(args=["organisations", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Added 0 organisations, updated 1, 1 unchanged;" in result.output
    assert session.scalar(select(func.count()).select_from(Organisation)) == 3
    oxford = session.scalars(
        select(Organisation).where(Organisation.key == "university of oxford")
    ).one()
    assert oxford.name == "university of oxford"
    assert [d.domain for d in oxford.domains] == ["cam.example", "ox.ac.uk"]
    watchdog = session.scalars(
        select(Organisation).where(Organisation.name == "Algorithm Watch")
    ).one()
    assert watchdog.sector is Sector.CIVIL_SOCIETY
    assert watchdog.country == "DE"


def test_a_bad_registry_file_lists_every_bad_row_and_imports_nothing(
    runner, session, tmp_path: Path
) -> None:
    path = tmp_path / "registry.csv"
    path.write_text(
        "name,domains,sector,country\n"
        "University of Oxford,ox.ac.uk,academia,GB\n"
        "Gmail Fans,gmail.com,other,\n"
        "Nowhere,nowhere.example,pirates,\n"
        "Atlantis,atlantis.example,other,Atlantis\n"
        "Oxford again,ox.ac.uk,academia,GB\n"
    )
    result = runner.invoke(args=["organisations", "import", str(path)])
    assert result.exit_code != 0
    for expected in (
        "line 3: gmail.com is a free or disposable email service",
        "line 4: The sector “pirates” is not one of",
        "line 5: “Atlantis” is not a country",
    ):
        assert expected in result.output
    assert session.scalar(select(func.count()).select_from(Organisation)) == 0

    path.write_text(
        "name,domains,sector,country\n"
        "University of Oxford,ox.ac.uk,academia,GB\n"
        "Oxford again,ox.ac.uk,academia,GB\n"
    )
    with pytest.raises(ImportRejected, match=re.escape("line 3: ox.ac.uk is on line 2 too")):
        registry.import_registry(session, path.read_bytes(), by=None)
    assert session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_an_import_may_move_a_domain_from_one_organisation_to_another(session) -> None:
    registry.import_registry(
        session, b"name,domains,sector,country\nA Lab,a.example lab.example,industry,\n", by=None
    )
    result = registry.import_registry(
        session,
        b"name,domains,sector,country\nB Lab,lab.example,industry,\nA Lab,a.example,industry,\n",
        by=None,
    )
    assert (result.added, result.updated) == (1, 1)
    owner = session.scalars(
        select(OrganisationDomain).where(OrganisationDomain.domain == "lab.example")
    ).one()
    assert owner.organisation.name == "B Lab"
    with pytest.raises(ImportRejected, match=re.escape("a.example is already a domain of “A Lab”")):
        registry.import_registry(
            session, b"name,domains,sector,country\nC Lab,a.example,industry,\n", by=None
        )


def test_affiliations_named_as_a_registered_organisation_are_linked_to_it(
    app: Flask, client: FlaskClient, session
) -> None:
    _oxford(session)
    letter = make_letter(session)
    signature = _signed(
        client, session, letter.slug, email="ada@gmail.com", affiliation="university of OXFORD"
    )
    _confirm(session, app, signature)
    [item] = _listed(client, letter.slug)
    assert item["organisation"] == "University of Oxford"  # stated, not verified
    assert item["affiliation_verified"] is False


def test_withdrawal_clears_the_verified_organisation(app: Flask, client, session) -> None:
    from app.signing import lifecycle
    from app.signing.settings import signing_settings

    _oxford(session)
    letter = make_letter(session)
    signature = _signed(client, session, letter.slug, email="ada@ox.ac.uk", signing_as="on_behalf")
    _confirm(session, app, signature)
    assert signature.on_behalf is True
    lifecycle.withdraw(session, letter, signature, settings=signing_settings(app.config))
    session.commit()
    assert (signature.email_organisation_id, signature.on_behalf) == (None, False)


def test_recount_matches_addresses_a_registry_change_could_not_see(
    app: Flask, client: FlaskClient, runner, session
) -> None:
    oxford = _oxford(session)
    letter = make_letter(session)
    signature = _signed(client, session, letter.slug, email="ada@ox.ac.uk")
    _confirm(session, app, signature)
    # As if it had been signed while the domain was being registered, against the old registry.
    signature.email_organisation_id = None
    session.commit()
    result = runner.invoke(args=["signatures", "recount"])
    assert result.exit_code == 0, result.output
    assert "1 signatures' verified organisations were out of date; updated." in result.output
    session.refresh(signature)
    assert signature.email_organisation_id == oxford.id
