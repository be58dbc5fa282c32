"""Countries as ISO 3166-1 alpha-2 codes, with the names people pick them by."""

from __future__ import annotations

from functools import cache

import pycountry
from babel import Locale

from app.support.text import matching_key


@cache
def country_choices(language: str = "en") -> tuple[tuple[str, str], ...]:
    """(code, name) pairs sorted by name in `language` (CLDR's names, through Babel; English
    as pycountry writes them), for the sign form (built once per language)."""
    territories = Locale.parse(language).territories if language != "en" else {}
    pairs = [
        (
            country.alpha_2,
            territories.get(country.alpha_2)
            or getattr(country, "common_name", None)
            or country.name,
        )
        for country in pycountry.countries
    ]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def _sort_key(name: str) -> str:
    """Sorts names as readers expect, whatever their accents ("Égypte" among the E's)."""
    return matching_key(name)


@cache
def _names(language: str = "en") -> dict[str, str]:
    return dict(country_choices(language))


def country_name(code: str, language: str = "en") -> str:
    return _names(language).get(code, code)


def is_country_code(code: str) -> bool:
    return code in _names()


@cache
def _spellings() -> dict[str, str]:
    """Every way a country may be written (code, name, official name), folded -> alpha-2."""
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        for spelling in (
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "official_name", None),
            getattr(country, "common_name", None),
        ):
            if spelling:
                codes[matching_key(spelling)] = country.alpha_2
    return codes


def country_code(value: str) -> str | None:
    """The alpha-2 code of a country as a person may write it ("fr", "FRA", "France")."""
    return _spellings().get(matching_key(value))
