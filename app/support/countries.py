"""Countries as ISO 3166-1 alpha-2 codes, with the names people pick them by."""

from __future__ import annotations

from functools import cache

import pycountry


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
