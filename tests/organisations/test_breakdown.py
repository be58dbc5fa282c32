"""Who signed and who is absent: counts by organisation (verified and stated apart), sector and
country, from tallies the database keeps; watched organisations shown even at zero."""

from __future__ import annotations

import csv
import io
import itertools

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.affiliations.affiliations import merge
from app.models import (
    PUBLICLY_COUNTED,
    Affiliation,
    Organisation,
    Signature,
    SignatureState,
    SignatureTally,
)
from app.organisations import breakdown, registry
from app.organisations.registry import OrganisationInput, save_organisation
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_signature, sign


def _registry(session) -> dict[str, Organisation]:
    made = {}
    for name, domains, sector, country in (
        ("University of Oxford", ["ox.ac.uk"], "academia", "GB"),
        ("DeepMind", ["deepmind.com"], "industry", "GB"),
        ("OpenAI", ["openai.com"], "industry", "US"),
        ("Algorithm Watch", ["algorithmwatch.org"], "civil society", "DE"),
    ):
        made[name] = save_organisation(
            session, OrganisationInput(name, domains, sector, country), by=None
        )
    session.commit()
    return made


_ADDRESSES = itertools.count(1)


def _confirmed(app: Flask, client: FlaskClient, session, slug: str, **answers: str) -> Signature:
    # Each signer from an address of their own, as the rate defence expects of real people.
    client.environ_base["REMOTE_ADDR"] = (
        f"10.0.{len(answers['email'])}.{hash(answers['email']) % 250}"
    )
    assert sign(client, slug, **answers).status_code == 303
    signature = session.scalars(
        select(Signature).where(Signature.email_normalized == answers["email"])
    ).one()
    confirm_signature(session, app, signature)
    session.commit()
    return signature


def _true_tallies(session, letter_id: int) -> dict[tuple, int]:
    """What the kept tallies must equal: a GROUP BY over the listed signatures."""
    rows = session.execute(
        select(
            Signature.affiliation_id,
            func.coalesce(Signature.email_organisation_id, 0),
            Signature.country,
            func.count(),
        )
        .where(Signature.letter_id == letter_id, *PUBLICLY_COUNTED, Signature.is_public.is_(True))
        .group_by(Signature.affiliation_id, Signature.email_organisation_id, Signature.country)
    ).all()
    return {tuple(row[:3]): row[3] for row in rows}


def _kept_tallies(session, letter_id: int) -> dict[tuple, int]:
    rows = session.execute(
        select(
            SignatureTally.affiliation_id,
            SignatureTally.organisation_id,
            SignatureTally.country,
            func.sum(SignatureTally.signatures),
        )
        .where(SignatureTally.letter_id == letter_id)
        .group_by(
            SignatureTally.affiliation_id, SignatureTally.organisation_id, SignatureTally.country
        )
        .having(func.sum(SignatureTally.signatures) != 0)
    ).all()
    return {tuple(row[:3]): int(row[3]) for row in rows}


def test_counts_by_organisation_sector_and_country_with_watched_ones_at_zero(
    app: Flask, client: FlaskClient, session, runner
) -> None:
    _registry(session)
    letter = make_letter(session, slug="who-signed")
    _confirmed(app, client, session, letter.slug, name="A One", email="a@ox.ac.uk",
               affiliation="University of Oxford", country="GB")  # fmt: skip
    # An address at Oxford, stated as a name the registry does not know: counted under what
    # was stated only (the address's organisation is not made public by the count).
    _confirmed(app, client, session, letter.slug, name="B Two", email="b@cs.ox.ac.uk",
               affiliation="Oxford", country="FR")  # fmt: skip
    _confirmed(app, client, session, letter.slug, name="C Three", email="c@gmail.com",
               affiliation="University of Oxford", country="GB")  # stated only  # fmt: skip
    _confirmed(app, client, session, letter.slug, name="D Four", email="d@deepmind.com",
               affiliation="DeepMind", country="GB")  # fmt: skip
    _confirmed(app, client, session, letter.slug, name="E Five", email="e@gmail.com",
               affiliation="Independent", country="DE")  # no organisation  # fmt: skip
    make_signature(session, letter=letter, affiliation="University of Oxford", is_public=False)
    make_signature(session, letter=letter, affiliation="DeepMind", state=SignatureState.PENDING)
    result = runner.invoke(
        args=["organisations", "watch", letter.slug, "OpenAI", "deepmind", "Algorithm Watch"]
    )
    assert result.exit_code == 0, result.output

    found = breakdown.letter_breakdown(session, letter)
    by_name = {count.name: count for count in found.organisations}
    assert (by_name["University of Oxford"].verified, by_name["University of Oxford"].stated) == (
        1,
        2,
    )
    assert [(u.name, u.stated) for u in found.unregistered] == [("Independent", 1), ("Oxford", 1)]
    assert (by_name["DeepMind"].verified, by_name["DeepMind"].stated) == (1, 1)
    # Watched, and absent: shown at zero, so "who is missing" is a fact.
    assert (by_name["OpenAI"].verified, by_name["OpenAI"].stated) == (0, 0)
    assert [count.name for count in found.absent] == ["Algorithm Watch", "OpenAI"]
    assert [count.watched for count in found.organisations if count.name != "University of Oxford"]
    assert found.listed == 5  # the private and the pending signatures are not in it
    assert found.without_organisation == 2
    assert {sector.value: n for sector, n in found.sectors.items()} == {
        "academia": 2,
        "industry": 1,
    }
    assert found.countries == {"GB": 3, "DE": 1, "FR": 1}

    data = client.get(f"/api/letters/{letter.slug}/affiliations").get_json()
    assert set(data) >= {"organisations", "sectors", "countries"}
    assert {
        "name": "OpenAI",
        "sector": "industry",
        "verified": 0,
        "stated": 0,
        "watched": True,
    } in (data["organisations"])
    assert data["sectors"] == {"academia": 2, "industry": 1}
    assert data["countries"] == {"GB": 3, "DE": 1, "FR": 1}
    # Every affiliation no organisation stands for, with its count: "Oxford" is not a name
    # of the registry's (its signer's address is verified, but the name stated is its own).
    assert sorted(data["unregistered"], key=lambda row: row["name"]) == [
        {"name": "Independent", "stated": 1},
        {"name": "Oxford", "stated": 1},
    ]

    response = client.get(f"/api/letters/{letter.slug}/affiliations.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    oxford = next(row for row in rows if row["name"] == "University of Oxford")
    assert (oxford["kind"], oxford["verified"], oxford["stated"]) == ("organisation", "1", "2")
    assert {"kind": "country", "name": "FR", "signatories": "1"}.items() <= next(
        row for row in rows if row["kind"] == "country" and row["name"] == "FR"
    ).items()

    page = client.get(f"/letters/{letter.slug}/breakdown").get_data(as_text=True)
    assert "No one from 2 of these 3 has signed: Algorithm Watch, OpenAI." in page
    # watched, organisations, affiliations not in the registry, sectors, countries
    assert page.count("<svg") == 5
    assert (
        f'<th scope="row"><a href="/letters/{letter.slug}/signatories'
        '?organisation=University+of+Oxford">'
        "University of Oxford</a></th><td>Academia</td><td>1</td><td>2</td>"
    ) in page
    letter_page = client.get(f"/letters/{letter.slug}").get_data(as_text=True)
    # As many as carry the list's ✓: "B Two" writes from Oxford but stated "Oxford", a name
    # the registry does not know, so is not counted as verified for it.
    assert '<span data-testid="verified-affiliations">2</span>' in letter_page


def test_the_kept_tallies_follow_every_change_to_the_list(
    app: Flask, client: FlaskClient, session
) -> None:
    made = _registry(session)
    letter = make_letter(session)
    ada = _confirmed(app, client, session, letter.slug, name="Ada L", email="ada@ox.ac.uk",
                     affiliation="Oxford Uni")  # fmt: skip
    _confirmed(app, client, session, letter.slug, name="Bob B", email="bob@deepmind.com",
               affiliation="University of Oxford")  # fmt: skip
    make_signature(session, letter=letter, affiliation="Oxford University", country="IE")
    assert _kept_tallies(session, letter.id) == _true_tallies(session, letter.id)

    # A merge moves signatures between affiliations.
    target = session.scalars(
        select(Affiliation).where(Affiliation.name == "University of Oxford")
    ).one()
    variants = session.scalars(
        select(Affiliation).where(Affiliation.name.in_(["Oxford Uni", "Oxford University"]))
    ).all()
    merge(session, target, variants, new_name=None, by=None)
    session.commit()
    assert _kept_tallies(session, letter.id) == _true_tallies(session, letter.id)

    # The registry changes which organisation an address is at.
    registry.delete_organisation(session, made["DeepMind"], by=None)
    session.commit()
    assert _kept_tallies(session, letter.id) == _true_tallies(session, letter.id)

    # Hidden, made private, withdrawn.
    ada.is_public = False
    session.commit()
    assert _kept_tallies(session, letter.id) == _true_tallies(session, letter.id)
    for signature in session.scalars(select(Signature).where(Signature.letter_id == letter.id)):
        signature.state = SignatureState.HIDDEN
    session.commit()
    assert _kept_tallies(session, letter.id) == {} == _true_tallies(session, letter.id)


def test_watching_an_organisation_the_registry_does_not_have_changes_nothing(
    session, runner
) -> None:
    _registry(session)
    letter = make_letter(session)
    assert runner.invoke(args=["organisations", "watch", letter.slug, "OpenAI"]).exit_code == 0
    result = runner.invoke(args=["organisations", "watch", letter.slug, "OpenAI", "Acme Corp"])
    assert result.exit_code != 0
    assert "Not in the registry of organisations, by name or other name" in result.output
    assert result.output.rstrip().endswith("first): Acme Corp")
    assert [o.name for o in breakdown.watched_organisations(session, letter)] == ["OpenAI"]
    assert runner.invoke(args=["organisations", "watch", letter.slug, "--clear"]).exit_code == 0
    assert breakdown.watched_organisations(session, letter) == []
    assert runner.invoke(args=["organisations", "watch", letter.slug]).exit_code != 0


def test_recount_repairs_tallies_changed_behind_the_triggers_back(session, runner) -> None:
    letter = make_letter(session)
    for country in ("GB", "GB", "FR"):
        make_signature(session, letter=letter, country=country)
    # Someone edits the tables by hand: one group lost, one group invented.
    session.execute(SignatureTally.__table__.delete().where(SignatureTally.country == "FR"))
    first = session.scalars(select(SignatureTally)).first()
    session.add(
        SignatureTally(
            letter_id=letter.id,
            affiliation_id=first.affiliation_id,
            organisation_id=0,
            country="JP",
            shard=3,
            signatures=7,
        )
    )
    session.commit()
    assert _kept_tallies(session, letter.id) != _true_tallies(session, letter.id)
    result = runner.invoke(args=["signatures", "recount"])
    assert result.exit_code == 0, result.output
    assert "2 breakdown tallies were off; repaired." in result.output
    assert _kept_tallies(session, letter.id) == _true_tallies(session, letter.id)


def test_a_signer_counts_only_under_the_affiliation_they_stated(
    app: Flask, client: FlaskClient, session
) -> None:
    # A DeepMind address stating Oxford: DeepMind's count must not rise as they appear, or the
    # breakdown would tell the world where a signer works who chose to say otherwise.
    _registry(session)
    letter = make_letter(session, slug="stated-only")
    _confirmed(app, client, session, letter.slug, name="A One", email="a@deepmind.com",
               affiliation="DeepMind", country="GB")  # fmt: skip
    before = {
        c.name: (c.verified, c.stated)
        for c in breakdown.letter_breakdown(session, letter).organisations
    }
    _confirmed(app, client, session, letter.slug, name="B Two", email="b@deepmind.com",
               affiliation="University of Oxford", country="GB")  # fmt: skip
    after = {
        c.name: (c.verified, c.stated)
        for c in breakdown.letter_breakdown(session, letter).organisations
    }
    assert before["DeepMind"] == after["DeepMind"] == (1, 1)
    assert after["University of Oxford"] == (0, 1)
