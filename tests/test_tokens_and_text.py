"""Tokens (expired and invalid told apart, one salt per purpose) and text cleaning."""

from __future__ import annotations

import pytest

from app.affiliations.affiliations import affiliation_for
from app.signing.tokens import TokenExpired, TokenInvalid, TokenPurpose, make_token, read_token
from app.support.text import has_control_characters, matching_key, normalise


def test_a_token_round_trips_its_subject_and_carries_nothing_personal() -> None:
    token = make_token("key", TokenPurpose.CONFIRM, 42)
    assert read_token("key", TokenPurpose.CONFIRM, token, max_age=60) == 42
    assert "@" not in token


def test_expired_and_invalid_tokens_are_told_apart() -> None:
    token = make_token("key", TokenPurpose.CONFIRM, 7)
    with pytest.raises(TokenExpired) as expired:
        read_token("key", TokenPurpose.CONFIRM, token, max_age=-1)
    assert expired.value.subject_id == 7
    with pytest.raises(TokenInvalid):
        read_token("other-key", TokenPurpose.CONFIRM, token, max_age=60)
    with pytest.raises(TokenInvalid):
        read_token("key", TokenPurpose.CONFIRM, token[:-3] + "abc", max_age=60)
    with pytest.raises(TokenInvalid):
        read_token("key", TokenPurpose.CONFIRM, "", max_age=60)


def test_a_token_made_for_another_purpose_is_invalid() -> None:
    from itsdangerous import URLSafeTimedSerializer

    foreign = URLSafeTimedSerializer("key", salt="undersigned.withdraw").dumps(7)
    with pytest.raises(TokenInvalid):
        read_token("key", TokenPurpose.CONFIRM, foreign, max_age=60)


def test_a_signed_but_strange_payload_is_invalid() -> None:
    from itsdangerous import URLSafeTimedSerializer

    for payload in ("7", -1, True, {"id": 7}, None):
        odd = URLSafeTimedSerializer("key", salt=TokenPurpose.CONFIRM.value).dumps(payload)
        with pytest.raises(TokenInvalid):
            read_token("key", TokenPurpose.CONFIRM, odd, max_age=60)


def test_affiliation_variants_share_one_key() -> None:
    assert matching_key("M.I.T.") == matching_key("mit") == matching_key(" MIT ") == "mit"
    assert matching_key("Max-Planck-Institut") == matching_key("Max Planck  Institut")
    assert matching_key("Université de Montréal") == "universite de montreal"
    assert matching_key("清华大学") == "清华大学"


def test_variants_land_on_one_affiliation_row_per_letter(session) -> None:
    from tests.factories import make_letter

    letter, other = make_letter(session), make_letter(session)
    first = affiliation_for(session, letter.id, "M.I.T.")
    assert affiliation_for(session, letter.id, "mit") is first
    assert affiliation_for(session, letter.id, "Stanford") is not first
    assert affiliation_for(session, other.id, "MIT") is not first
    assert first.name == "M.I.T."


def test_normalise_and_control_characters() -> None:
    assert normalise("  e\u0301  ") == "\u00e9"
    assert normalise("a\r\nb  \r\n", multiline=True) == "a\nb"
    assert has_control_characters("a\x00b")
    assert has_control_characters("a\nb")
    assert not has_control_characters("a\nb\tc", multiline=True)
    assert has_control_characters("abc\u202e")
    assert not has_control_characters("Zoë 李")


def test_an_address_cell_is_bounded_as_the_address_column_is() -> None:
    from app.models import EMAIL_MAX
    from app.support.csv_input import ADDRESS_MAX

    assert ADDRESS_MAX == EMAIL_MAX
