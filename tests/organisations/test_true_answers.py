"""True answers once real data arrives: organisations' other names, every affiliation linked by
the one rule whichever way it came (form, import, registry change, recount), a manual link that
wins, the breakdown for every affiliation, check-a-list with the breakdown's own numbers, and
imported signatures said to be imported."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.affiliations.affiliations import link_organisation, merge
from app.errors import InvalidInput
from app.models import Affiliation, Organisation, OrganisationAlias, Signature
from app.organisations import breakdown, registry
from app.organisations.registry import OrganisationInput, save_organisation
from app.support.csv_input import ImportRejected
from tests.factories import make_letter, make_signature
from tests.helpers import csrf_token

REGISTRY_CSV = """name,domains,sector,country,aliases
Massachusetts Institute of Technology,mit.edu,academia,US,MIT;M.I.T.;Massachusetts Tech
Université de Genève,unige.ch,academia,CH,University of Geneva;UNIGE
Tsinghua University,tsinghua.edu.cn,academia,CN,清华大学
Anthropic,anthropic.com,industry,US,
Microsoft,microsoft.com,industry,US,Microsoft Research
Google,google.com,industry,US,
"""


def _import_registry(runner, tmp_path: Path, text: str = REGISTRY_CSV):
    path = tmp_path / "registry.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["organisations", "import", str(path)])


def _import_signatures(runner, tmp_path: Path, slug: str, rows: list[tuple], **options: str):
    path = tmp_path / f"{slug}-signatures.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("name", "email", "affiliation", "title", "country", "signed_at"))
        writer.writerows(rows)
    args = ["signatures", "import", slug, str(path), "--verified"]
    for option, value in options.items():
        args += [f"--{option}", value]
    return runner.invoke(args=args)


def _organisation(session, name: str) -> Organisation:
    return session.scalars(select(Organisation).where(Organisation.name == name)).one()


def test_the_registry_file_gives_organisations_other_names(runner, session, tmp_path) -> None:
    result = _import_registry(runner, tmp_path)
    assert result.exit_code == 0, result.output
    mit = _organisation(session, "Massachusetts Institute of Technology")
    assert mit.alias_names == ["MIT", "Massachusetts Tech"]  # "M.I.T." folds as "MIT" does
    assert registry.organisation_named(session, "mit") is mit
    assert registry.organisation_named(session, "清华大学").name == "Tsinghua University"
    assert [o.name for o in registry.organisations(session, search="unige")] == [
        "Université de Genève"
    ]

    # Re-importing sets the aliases to the file's.
    again = REGISTRY_CSV.replace("MIT;M.I.T.;Massachusetts Tech", "MIT")
    assert _import_registry(runner, tmp_path, again).exit_code == 0
    session.expire_all()
    assert _organisation(session, "Massachusetts Institute of Technology").alias_names == ["MIT"]


def test_a_name_given_to_two_organisations_is_refused_naming_it_and_nothing_changes(
    runner, session, tmp_path
) -> None:
    assert _import_registry(runner, tmp_path).exit_code == 0
    # Another organisation claiming "MIT" (an alias of the registry's MIT), in a file.
    clash = "name,domains,sector,country,aliases\nMinistry of IT,mit.gov.example,government,,MIT\n"
    result = _import_registry(runner, tmp_path, clash)
    assert result.exit_code != 0
    assert "“MIT” is already a name of “Massachusetts Institute of Technology”" in result.output
    assert session.scalar(select(Organisation).where(Organisation.name == "Ministry of IT")) is None
    # Within one file: an alias that is another row's name.
    inside = (
        "name,domains,sector,country,aliases\nAcme,acme.example,industry,,Beta Corp\n"
        "Beta Corp,beta.example,industry,,\n"
    )
    with pytest.raises(ImportRejected) as refused:
        registry.import_registry(session, inside.encode(), by=None)
    assert "“Beta Corp” is a name on line 3" in str(refused.value.problems)
    # In the console's terms: an organisation whose alias is another's name.
    with pytest.raises(InvalidInput, match="already a name of “Google”"):
        save_organisation(
            session,
            OrganisationInput("Alphabet", ["abc.xyz"], "industry", "US", aliases=["Google"]),
            by=None,
        )
    assert (
        session.scalar(select(OrganisationAlias).where(OrganisationAlias.key == "google")) is None
    )


def test_the_watch_list_takes_other_names(runner, session, tmp_path) -> None:
    assert _import_registry(runner, tmp_path).exit_code == 0
    letter = make_letter(session)
    result = runner.invoke(args=["organisations", "watch", letter.slug, "MIT", "UNIGE", "M.I.T."])
    assert result.exit_code == 0, result.output
    assert [o.name for o in breakdown.watched_organisations(session, letter)] == [
        "Massachusetts Institute of Technology",
        "Université de Genève",
    ]


#: How people type the registry's organisations (and some the registry does not have).
SPELLINGS = {
    "Massachusetts Institute of Technology": [
        "MIT",
        "M.I.T.",
        "mit",
        "Massachusetts Institute of Technology",
        "massachusetts institute of technology",
    ],
    "Université de Genève": [
        "Université de Genève",
        "Universite de Geneve",
        "UNIGE",
        "University of Geneva",
    ],
    "Tsinghua University": ["Tsinghua University", "清华大学", "TSINGHUA UNIVERSITY"],
    "Anthropic": ["Anthropic", "anthropic"],
    "Microsoft": ["Microsoft Research", "Microsoft"],
    "Google": ["Google", "google"],
}
UNREGISTERED = ["Harvard University", "harvard university", "Independent", "Citizen", "ETH Zürich"]


def test_a_generated_import_answers_who_signed_as_the_rows_say(
    client: FlaskClient, runner, session, tmp_path
) -> None:
    """A few thousand rows typed the way people type: the breakdown must equal counts this
    test makes itself from the rows, for every registered organisation and every affiliation
    that is not in the registry."""
    assert _import_registry(runner, tmp_path).exit_code == 0
    letter = make_letter(session, slug="generated")
    watched = ["MIT", "Anthropic", "Microsoft", "Tsinghua University", "Google", "UNIGE"]
    assert runner.invoke(args=["organisations", "watch", letter.slug, *watched]).exit_code == 0
    chooser = random.Random(23)
    rows, expected, unregistered = [], Counter(), Counter()
    choices = [(name, typed) for name, spellings in SPELLINGS.items() for typed in spellings]
    choices += [(None, typed) for typed in UNREGISTERED]
    for number in range(3000):
        organisation, typed = chooser.choice(choices)
        rows.append((f"Person {number}", f"p{number}@example.org", typed, "Researcher", "GB", ""))
        if organisation:
            expected[organisation] += 1
        else:
            unregistered[typed.casefold().replace("ü", "u")] += 1
    result = _import_signatures(runner, tmp_path, letter.slug, rows)
    assert result.exit_code == 0, result.output

    found = breakdown.letter_breakdown(session, letter)
    stated = {count.name: count.stated for count in found.organisations}
    assert stated == dict(expected)
    assert found.absent == []  # every watched organisation has signatories: none is "absent"
    # Imported addresses are never verified: nobody confirmed them by link here.
    assert all(count.verified == 0 for count in found.organisations)
    by_key = Counter()
    for count in found.unregistered:
        by_key[count.name.casefold().replace("ü", "u")] += count.stated
    assert by_key == unregistered
    assert found.listed == 3000

    data = client.get("/api/letters/generated/affiliations").get_json()
    assert sum(row["stated"] for row in data["unregistered"]) == sum(unregistered.values())
    assert [row["stated"] for row in data["unregistered"]] == sorted(
        (row["stated"] for row in data["unregistered"]), reverse=True
    )
    rows_csv = list(
        csv.DictReader(io.StringIO(client.get("/api/letters/generated/affiliations.csv").text))
    )
    assert {r["name"]: int(r["stated"]) for r in rows_csv if r["kind"] == "unregistered"} == {
        row["name"]: row["stated"] for row in data["unregistered"]
    }

    # Check a list: the breakdown's own numbers, by name, other name or domain; an affiliation
    # outside the registry by its own count.
    checked = client.post(
        "/api/letters/generated/check",
        json={
            "organisations": [
                "MIT",
                "mit.edu",
                "Massachusetts Institute of Technology",
                "Harvard University",
                "Nobody Inc",
            ]
        },
    ).get_json()["organisations"]
    mit = expected["Massachusetts Institute of Technology"]
    assert [(r["name"], r["stated"]) for r in checked] == [
        ("Massachusetts Institute of Technology", mit),
        ("Massachusetts Institute of Technology", mit),
        ("Massachusetts Institute of Technology", mit),
        ("Harvard University", unregistered["harvard university"]),
        (None, 0),
    ]
    # The public list filtered to an organisation lists exactly its stated signatories.
    listed = client.get(
        "/api/letters/generated/signatories", query_string={"organisation": "MIT", "limit": 100}
    ).get_json()["items"]
    assert len(listed) == min(100, mit)
    assert all(item["organisation"] == "Massachusetts Institute of Technology" for item in listed)
    assert all(item["imported"] is True for item in listed)


def test_a_registry_change_after_an_import_relinks_every_letter_at_once(
    client: FlaskClient, runner, session, tmp_path
) -> None:
    letter = make_letter(session, slug="later")
    rows = [(f"P{n}", f"q{n}@example.org", "Samsung Electronics", "Engineer", "KR", "")
            for n in range(2)]  # fmt: skip
    rows += [(f"R{n}", f"r{n}@example.org", "SAIT", "Engineer", "KR", "") for n in range(3)]
    assert _import_signatures(runner, tmp_path, letter.slug, rows).exit_code == 0
    assert client.get("/api/letters/later/affiliations").get_json()["organisations"] == []

    samsung = save_organisation(
        session,
        OrganisationInput("Samsung Electronics", ["samsung.com"], "industry", "KR"),
        by=None,
    )
    session.commit()
    counts = client.get("/api/letters/later/affiliations").get_json()
    assert [(o["name"], o["stated"]) for o in counts["organisations"]] == [
        ("Samsung Electronics", 2)
    ]
    # An alias added later links the affiliations already typed that way.
    save_organisation(
        session,
        OrganisationInput(
            "Samsung Electronics", ["samsung.com"], "industry", "KR", aliases=["SAIT"]
        ),
        by=None,
        existing=samsung,
    )
    session.commit()
    counts = client.get("/api/letters/later/affiliations").get_json()
    assert [(o["name"], o["stated"]) for o in counts["organisations"]] == [
        ("Samsung Electronics", 5)
    ]
    assert counts["unregistered"] == []
    # Taking the alias away unlinks them again.
    save_organisation(
        session,
        OrganisationInput("Samsung Electronics", ["samsung.com"], "industry", "KR", aliases=[]),
        by=None,
        existing=samsung,
    )
    session.commit()
    counts = client.get("/api/letters/later/affiliations").get_json()
    assert counts["organisations"][0]["stated"] == 2
    assert counts["unregistered"] == [{"name": "SAIT", "stated": 3}]


def test_an_organisers_link_survives_a_registry_import(runner, session, tmp_path) -> None:
    letter = make_letter(session)
    make_signature(session, letter=letter, affiliation="Google Brain")
    make_signature(session, letter=letter, affiliation="Anthropic")
    assert _import_registry(runner, tmp_path).exit_code == 0
    brain = session.scalars(select(Affiliation).where(Affiliation.name == "Google Brain")).one()
    anthropic = session.scalars(select(Affiliation).where(Affiliation.name == "Anthropic")).one()
    assert brain.organisation is None and anthropic.organisation.name == "Anthropic"
    link_organisation(session, brain, _organisation(session, "Google"), by=None)
    link_organisation(session, anthropic, None, by=None)  # "stands for none", by hand
    session.commit()

    with_alphabet = REGISTRY_CSV.replace(
        "Google,google.com,industry,US,", "Google,google.com,industry,US,Alphabet"
    )
    assert _import_registry(runner, tmp_path, with_alphabet).exit_code == 0
    assert runner.invoke(args=["signatures", "recount"]).exit_code == 0
    session.expire_all()
    assert brain.organisation.name == "Google" and brain.linked_by_hand
    assert anthropic.organisation is None and anthropic.linked_by_hand
    # Handed back to the rule, it follows the registry's names again.
    link_organisation(session, anthropic, None, by=None, automatic=True)
    assert anthropic.organisation.name == "Anthropic" and not anthropic.linked_by_hand


def test_recount_repairs_links_broken_behind_its_back_and_says_so(
    runner, session, tmp_path
) -> None:
    letter = make_letter(session)
    make_signature(session, letter=letter, affiliation="MIT")
    make_signature(session, letter=letter, affiliation="Harvard University")
    assert _import_registry(runner, tmp_path).exit_code == 0
    mit = _organisation(session, "Massachusetts Institute of Technology")
    session.execute(update(Affiliation).values(organisation_id=None))  # by hand, in SQL
    session.execute(
        update(Affiliation)
        .where(Affiliation.name == "Harvard University")
        .values(organisation_id=mit.id)
    )
    session.commit()
    result = runner.invoke(args=["signatures", "recount"])
    assert result.exit_code == 0, result.output
    assert "2 affiliations stood for the wrong organisation (or none) on 1 letters" in result.output
    session.expire_all()
    linked = dict(session.execute(select(Affiliation.name, Affiliation.organisation_id)).all())
    assert linked == {"MIT": mit.id, "Harvard University": None}
    assert "affiliations stood" not in runner.invoke(args=["signatures", "recount"]).output


def _signed_from(session, letter, *affiliations: str) -> list[Affiliation]:
    """A signature from each affiliation; the affiliations, in that order."""
    for name in affiliations:
        make_signature(session, letter=letter, affiliation=name)
    return [
        session.scalars(select(Affiliation).where(Affiliation.name == name)).one()
        for name in affiliations
    ]


def test_merging_a_variant_that_is_an_alias_links_the_kept_name(runner, session, tmp_path) -> None:
    assert _import_registry(runner, tmp_path).exit_code == 0
    letter = make_letter(session)
    kept, variant = _signed_from(session, letter, "Mass. Inst. Tech.", "M.I.T.")
    assert kept.organisation is None
    merge(session, kept, [variant], new_name=None, by=None)
    session.commit()
    assert session.get(Affiliation, kept.id).organisation.name == (
        "Massachusetts Institute of Technology"
    )


def test_the_sign_form_links_an_alias_typed_by_the_first_signer(
    client: FlaskClient, runner, session, tmp_path
) -> None:
    from tests.helpers import sign

    assert _import_registry(runner, tmp_path).exit_code == 0
    make_letter(session, slug="formed")
    assert sign(client, "formed", affiliation="University of Geneva").status_code == 303
    signature = session.scalars(select(Signature)).one()
    assert signature.affiliation.organisation.name == "Université de Genève"


def test_imported_signatures_say_so_in_public_with_their_source_and_dates(
    client: FlaskClient, runner, session, tmp_path
) -> None:
    letter = make_letter(session, slug="paper")
    make_signature(session, letter=letter, name="Online Signer")
    rows = [
        ("Ada Paper", "ada@example.org", "Citizen", "Nurse", "CH", "2026-03-01"),
        ("Bob Paper", "bob@example.org", "Citizen", "Teacher", "CH", "2026-03-02T10:00:00Z"),
    ]
    result = _import_signatures(runner, tmp_path, "paper", rows, source="Paper forms, Geneva 2026")
    assert result.exit_code == 0, result.output

    items = client.get("/api/letters/paper/signatories").get_json()["items"]
    by_name = {item["name"]: item for item in items}
    assert by_name["Ada Paper"]["imported"] is True
    assert by_name["Ada Paper"]["source"] == "Paper forms, Geneva 2026"
    assert by_name["Ada Paper"]["signed_at"].startswith("2026-03-01T00:00:00")
    assert by_name["Bob Paper"]["signed_at"].startswith("2026-03-02T10:00:00")
    assert (by_name["Online Signer"]["imported"], by_name["Online Signer"]["source"]) == (
        False,
        None,
    )
    assert client.get("/api/letters/paper").get_json()["integrity"]["imported"] == 2
    opened = list(csv.DictReader(io.StringIO(client.get("/letters/paper/signatories.csv").text)))
    assert {row["name"]: (row["imported"], row["source"]) for row in opened}["Ada Paper"] == (
        "yes",
        "Paper forms, Geneva 2026",
    )
    page = client.get("/letters/paper").get_data(as_text=True)
    assert "imported: Paper forms, Geneva 2026" in page
    line = page[page.index('data-testid="integrity"') :][:900]
    assert "of those counted, 2 imported by the organisers" in line
    assert "Signatures are confirmed by email." not in page
    # The count itself says how many were confirmed by email here and how many imported.
    assert ">3</strong> signatures: 1 confirmed by email here, 2 imported by the organisers" in page
    listing = client.get("/letters/paper/signatories").get_data(as_text=True)
    assert "3 signatures: 1 confirmed by email here, 2 imported by the organisers" in listing

    # A date in the future, or not a date, is a line problem: nothing imported.
    bad = [("Cy Paper", "cy@example.org", "Citizen", "Nurse", "CH", "next Tuesday")]
    refused = _import_signatures(runner, tmp_path, "paper", bad)
    assert refused.exit_code != 0 and "signed_at 'next Tuesday' is not a date" in refused.output


def test_the_console_import_asks_where_the_signatures_come_from(
    client: FlaskClient, session
) -> None:
    from tests.factories import make_organiser
    from tests.helpers import log_in

    make_letter(session, slug="console-import")
    organiser = make_organiser(session, is_superuser=True)
    session.commit()
    log_in(client, organiser.email)
    url = "/admin/letters/console-import/import"
    content = "name,email,affiliation,title,country\nAda,ada@example.org,X,Y,GB\n"
    refused = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "verified": "y",
            "file": (io.BytesIO(content.encode()), "list.csv"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Please say where these signatures come from" in refused.get_data(as_text=True)
    assert session.scalar(select(Signature)) is None


def test_check_a_list_takes_pasted_rows_and_says_how_many_signed(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="pasted")
    make_signature(session, letter=letter, name="Ada Lovelace", affiliation="University of London")
    make_signature(session, letter=letter, name="Alan Turing", affiliation="Manchester")
    url = "/letters/pasted/check"
    pasted = (
        "Name\tAffiliation\nAda Lovelace\tUniversity of London\n"
        "Alan Turing, Cambridge\nNobody Here\n"
    )
    page = client.post(
        url, data={"csrf_token": csrf_token(client, url), "names": pasted, "organisations": ""}
    ).get_data(as_text=True)
    assert "2 of 3 names signed." in page
    assert "same affiliation" in page and "another affiliation on the list" in page
    download = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "names": pasted, "download": "csv"},
    )
    assert download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(r["asked"], r["affiliation_given"], r["signed"]) for r in rows] == [
        ("Ada Lovelace", "University of London", "yes"),
        ("Alan Turing", "Cambridge", "yes"),
        ("Nobody Here", "", "no"),
    ]


def test_a_signers_own_page_and_thank_you_page_tell_the_truth(client: FlaskClient, session) -> None:
    from app.models import SignatureState, SignerAccess
    from app.signing import signer_access

    letter = make_letter(session, slug="truthful")
    listed = make_signature(session, letter=letter, email="me@example.org")
    other = make_letter(session, slug="truthful-2")
    held = make_signature(session, letter=other, email="me@example.org")
    held.quarantined = True
    third = make_letter(session, slug="truthful-3")
    hidden = make_signature(
        session, letter=third, email="me@example.org", state=SignatureState.HIDDEN
    )
    session.commit()
    access = SignerAccess(email_normalized="me@example.org")
    session.add(access)
    session.flush()
    shown = {s.id: s.status_for_signer for s in signer_access.signatures_of(session, access)}
    assert shown == {listed.id: "listed", held.id: "in_review", hidden.id: "hidden"}


def test_check_a_list_answers_every_line_even_repeated_or_with_a_blank_affiliation(
    client: FlaskClient, session
) -> None:
    """Found in review: a name given twice, or an affiliation of only non-breaking spaces,
    gave a 500."""
    letter = make_letter(session, slug="repeated")
    make_signature(session, letter=letter, name="Ada Lovelace", affiliation="UCL")
    url = "/letters/repeated/check"
    names = "Ada Lovelace, UCL\nAda Lovelace, Oxford\nAda Lovelace, \u00a0,\nNobody"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "names": names})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 of 4 names signed." in page
    api = client.post("/api/letters/repeated/check", json={"names": ["Ada", "Ada"]}).get_json()
    assert [row["query"] for row in api["names"]] == ["Ada", "Ada"]


def test_a_domain_or_a_subdomain_answers_for_its_organisation(
    client: FlaskClient, runner, session, tmp_path
) -> None:
    assert _import_registry(runner, tmp_path).exit_code == 0
    letter = make_letter(session, slug="domains")
    make_signature(session, letter=letter, affiliation="MIT")
    checked = client.post(
        "/api/letters/domains/check", json={"organisations": ["cs.mit.edu", "@MIT.EDU", "mit.ed"]}
    ).get_json()["organisations"]
    assert [(row["name"], row["stated"]) for row in checked] == [
        ("Massachusetts Institute of Technology", 1),
        ("Massachusetts Institute of Technology", 1),
        (None, 0),
    ]


def test_the_breakdowns_link_for_a_long_affiliation_lists_its_signatories(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="long-name")
    long_name = "Institute for " + "Very " * 30 + "Long Names"
    assert 150 < len(long_name) <= 200
    make_signature(session, letter=letter, name="Ada Long", affiliation=long_name)
    items = client.get(
        "/api/letters/long-name/signatories", query_string={"affiliation": long_name}
    ).get_json()["items"]
    assert [item["name"] for item in items] == ["Ada Long"]


def test_an_import_confirmed_later_by_its_own_link_is_no_longer_imported(
    app, client: FlaskClient, runner, session, tmp_path
) -> None:
    from tests.helpers import confirm_signature

    make_letter(session, slug="later-confirmed")
    path = tmp_path / "pending.csv"
    path.write_text("name,email,affiliation,title,country\nAda,ada@example.org,UCL,Prof,GB\n")
    result = runner.invoke(
        args=["signatures", "import", "later-confirmed", str(path), "--source", "Paper"]
    )
    assert result.exit_code == 0, result.output
    signature = session.scalars(select(Signature)).one()
    assert signature.imported
    confirm_signature(session, app, signature)
    session.commit()
    assert not signature.imported
    item = client.get("/api/letters/later-confirmed/signatories").get_json()["items"][0]
    assert (item["imported"], item["source"]) == (False, None)
    assert client.get("/api/letters/later-confirmed").get_json()["integrity"]["imported"] == 0


def test_removing_an_organisation_hands_its_affiliations_back_to_the_rule(
    runner, session, tmp_path
) -> None:
    assert _import_registry(runner, tmp_path).exit_code == 0
    harvard = save_organisation(
        session, OrganisationInput("Harvard University", ["harvard.edu"], "academia", "US"), by=None
    )
    letter = make_letter(session)
    make_signature(session, letter=letter, affiliation="MIT")
    mit_affiliation = session.scalars(select(Affiliation).where(Affiliation.name == "MIT")).one()
    link_organisation(session, mit_affiliation, harvard, by=None)  # a mistake, by hand
    session.commit()
    registry.delete_organisation(session, harvard, by=None)
    session.commit()
    session.expire_all()
    assert mit_affiliation.organisation.name == "Massachusetts Institute of Technology"
    assert not mit_affiliation.linked_by_hand


def test_the_database_refuses_one_name_for_two_organisations(session) -> None:
    from sqlalchemy.exc import IntegrityError

    google = save_organisation(
        session, OrganisationInput("Google", ["google.com"], "industry", "US"), by=None
    )
    other = save_organisation(
        session, OrganisationInput("Alphabet", ["abc.xyz"], "industry", "US"), by=None
    )
    session.commit()
    # Past the registry's own checks, straight into the table: the database says no.
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(OrganisationAlias(organisation_id=other.id, name="Google", key="google"))
        session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(OrganisationAlias(organisation_id=google.id, name="Goog", key="goog"))
        session.flush()
        other.key = "goog"
        session.flush()


def test_a_merge_keeps_an_organisers_choice_of_none(runner, session, tmp_path) -> None:
    assert _import_registry(runner, tmp_path).exit_code == 0
    letter = make_letter(session)
    ours, theirs = _signed_from(session, letter, "Our Lab", "Their Lab")
    link_organisation(session, ours, None, by=None)
    link_organisation(session, theirs, _organisation(session, "Google"), by=None)
    merge(session, ours, [theirs], new_name=None, by=None)
    session.commit()
    kept = session.get(Affiliation, ours.id)
    assert kept.organisation is None and kept.linked_by_hand
