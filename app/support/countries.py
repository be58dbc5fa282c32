"""Countries as ISO 3166-1 alpha-2 codes, with the names people pick them by."""

from __future__ import annotations

from functools import cache

import pycountry

from app.support.text import matching_key


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """(code, name) pairs sorted by name, for the sign form (built once: every form uses it)."""
    pairs = [
        (country.alpha_2, getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    ]
    return tuple(sorted(pairs, key=lambda pair: pair[1].casefold()))


@cache
def _names() -> dict[str, str]:
    return dict(country_choices())


def country_name(code: str) -> str:
    return _names().get(code, code)


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
