"""Look-alike names: letters of another script that look the same must not walk past the
watch-list, names mixing scripts within a word are held for review, and "zalgo" is refused."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import limiter
from app.models import OrganiserRole, Signature
from app.moderation import operations
from app.signing.defences import LOOKS_LIKE_NOTABLE, MIXED_SCRIPTS, WATCHED_NAME
from app.support import csv_input
from app.support.text import lookalike_key, mixes_scripts
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in, sign


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def _signature(session, email: str) -> Signature:
    return session.scalars(select(Signature).where(Signature.email == email)).one()


@pytest.mark.parametrize(
    "impostor",
    [
        "B\u0430r\u0430ck Ob\u0430m\u0430",  # Cyrillic a (U+0430)
        "\u0392ARACK \u039fBAMA",  # Greek capital Beta and Omicron
        "BAR\u0410CK OB\u0410M\u0410",  # Cyrillic capital A (U+0410)
        "Barack Obarna",  # rn for m
        "\U0001d401\U0001d41a\U0001d42b\U0001d41a\U0001d41c\U0001d424 Obama",  # mathematical bold
        "BARACK  obama.",
    ],
)
def test_a_lookalike_of_a_watched_name_is_held_for_review(
    client: FlaskClient, session, impostor: str
) -> None:
    letter = make_letter(session, slug="lookalike")
    letter.watch_names = ["Barack Obama"]
    session.commit()
    assert sign(client, "lookalike", name=impostor, email="fake@example.org").status_code == 303
    held = _signature(session, "fake@example.org")
    assert held.quarantined
    assert WATCHED_NAME in held.review_flags


@pytest.mark.parametrize(
    "capital", ["\u0392", "\u039f", "\u0405", "\u041d", "\u0410", "\u0415", "\u041a"]
)
def test_greek_and_cyrillic_capitals_share_the_key_of_their_latin_twins(capital: str) -> None:
    latin = {"\u0392": "B", "\u039f": "O", "\u0405": "S", "\u041d": "H", "\u0410": "A"}
    latin |= {"\u0415": "E", "\u041a": "K"}
    assert lookalike_key(f"{capital}ob") == lookalike_key(f"{latin[capital]}ob")


def test_names_that_differ_are_not_matched() -> None:
    assert lookalike_key("Anna Smith") != lookalike_key("Ana Smith")
    assert lookalike_key("Barack Obama") != lookalike_key("Barack Obamo")


def test_a_word_mixing_latin_with_cyrillic_is_held_even_without_a_watch_list(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="mixed")
    sign(client, "mixed", name="Ge\u043effrey Hinton", email="mixed@example.org")
    held = _signature(session, "mixed@example.org")
    assert held.quarantined
    assert held.review_flags == [MIXED_SCRIPTS]


@pytest.mark.parametrize(
    "name",
    [
        "Владимир Набоков",  # wholly Cyrillic
        "Αλέξης Παπαδόπουλος",  # wholly Greek
        "山田たろう",  # Han with Hiragana: an allowed mix
        "ヤマダ 太郎",  # Katakana and Han
        "김민준",
        "Nguyễn Thị Minh Khai",
        "Jean-Luc Picard",
        "Zoë O'Brien",
        "Marie Curie (Skłodowska)",
    ],
)
def test_names_in_one_script_or_an_allowed_mix_are_not_held(
    client: FlaskClient, session, name: str
) -> None:
    make_letter(session, slug="scripts")
    sign(client, "scripts", name=name, email="one@example.org")
    signature = _signature(session, "one@example.org")
    assert not signature.quarantined, signature.review_flags
    assert not mixes_scripts(name)


def test_a_name_with_stacked_marks_is_refused_at_the_form_and_nothing_is_stored(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="zalgo")
    zalgo = "Z\u0334\u0327\u031b\u0316\u0317a\u0338\u0322l\u0337g\u0336o"
    response = sign(client, "zalgo", name=zalgo, email="zalgo@example.org")
    assert response.status_code == 422
    assert "remove the extra accents" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Signature)) == 0
    # Vietnamese and Tibetan carry several marks on a letter and are fine.
    for number, name in enumerate(["Nguyễn Ngọc Ánh", "བསྒྲུབས་པ"]):
        assert sign(client, "zalgo", name=name, email=f"ok{number}@example.org").status_code == 303


def test_a_correction_to_a_stacked_name_is_refused(session) -> None:
    letter = make_letter(session, slug="correct-zalgo")
    signature = make_signature(session, letter=letter, name="Ada Lovelace")
    fix = operations.Correction(
        name="A\u0301\u0302\u0303\u0304\u0305da", title="Professor", affiliation="Example",
        country="GB",
    )  # fmt: skip
    with pytest.raises(operations.InvalidInput, match="extra accents"):
        operations.correct(session, signature, fix, by=None)


def test_the_console_shows_names_that_look_alike_and_the_watch_list(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="hints")
    letter.watch_names = ["Geoffrey Hinton"]
    session.commit()
    real = make_signature(session, letter=letter, name="Geoffrey Hinton")
    fake = make_signature(session, letter=letter, name="Ge\u043effrey H\u0456nton")
    make_signature(session, letter=letter, name="Geoffrey Everest Hinton")
    organiser = make_organiser(session, letters={letter: OrganiserRole.VIEWER})
    log_in(client, organiser.email)
    page = client.get(f"/admin/letters/hints/signatures/{real.id}").get_data(as_text=True)
    assert 'data-testid="watched"' in page
    assert f"/admin/letters/hints/signatures/{fake.id}" in page
    assert "Geoffrey Everest Hinton" not in page
    # A correction keeps the key current.
    operations.correct(
        session, fake, operations.Correction(name="Someone Else", title="T", affiliation="A",
                                             country="GB"), by=None,
    )  # fmt: skip
    session.commit()
    page = client.get(f"/admin/letters/hints/signatures/{real.id}").get_data(as_text=True)
    assert f"/admin/letters/hints/signatures/{fake.id}" not in page
    assert csrf_token(client, f"/admin/letters/hints/signatures/{real.id}")


def test_imported_names_get_their_key_and_stacked_marks_are_refused(app, session) -> None:
    from app.db import utcnow
    from app.moderation import imports
    from app.signing.settings import signing_settings

    letter = make_letter(session, slug="imported-lookalikes")
    real = make_signature(session, letter=letter, name="Barack Obama")
    header = "name,email,affiliation,title,country\n"
    zalgo = "Z\u0334\u0327\u031b\u0316\u0317a"
    with pytest.raises(csv_input.ImportRejected, match="more than 4 accents"):
        imports.parse(f"{header}{zalgo},z@example.org,X,Y,GB\n".encode())
    rows = imports.parse(
        f"{header}B\u0430r\u0430ck Ob\u0430m\u0430,b@example.org,X,Y,GB\n".encode()
    )
    imports.import_rows(
        session, letter, rows, verified=True, source="import: test",
        settings=signing_settings(app.config), now=utcnow(),
    )  # fmt: skip
    session.commit()
    assert [s.email for s in operations.lookalikes(session, real)] == ["b@example.org"]


def test_searching_the_console_for_a_name_finds_its_lookalikes(session) -> None:
    letter = make_letter(session, slug="search-lookalikes")
    make_signature(session, letter=letter, name="Barack Obama", email="real@example.org")
    make_signature(session, letter=letter, name="\u0392ARACK \u039fBAMA", email="fake@example.org")
    make_signature(session, letter=letter, name="Someone Else", email="else@example.org")
    found = operations.signature_page(
        session, letter, operations.SignatureFilter(text="Barack Obama"), cursor=None
    )
    assert sorted(s.email for s in found.items) == ["fake@example.org", "real@example.org"]


def test_a_lookalike_of_a_notable_signatory_is_held_for_review(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="notable-twin")
    real = make_signature(session, letter=letter, name="Yoshua Bengio", email="yb@example.org")
    real.is_notable = True
    make_signature(session, letter=letter, name="Ada Lovelace", email="ada@example.org")
    session.commit()
    sign(client, "notable-twin", name="Y\u043eshua Beng\u0456o", email="twin@example.org")
    sign(client, "notable-twin", name="YOSHUA BENGIO", email="again@example.org")
    # A name like an ordinary (not notable) signatory's is someone else with the same name.
    sign(client, "notable-twin", name="Ada Lovelace", email="other-ada@example.org")
    for email in ("twin@example.org", "again@example.org"):
        held = _signature(session, email)
        assert held.quarantined
        assert LOOKS_LIKE_NOTABLE in held.review_flags
    # (Held all the same, for the rate: the test client signs thrice from one address.)
    assert LOOKS_LIKE_NOTABLE not in _signature(session, "other-ada@example.org").review_flags
