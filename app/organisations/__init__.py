"""Organisations: the shared registry (names, sectors, countries, email domains), what a
letter's list says about them (breakdowns, watch-lists), and checking a list of names."""
