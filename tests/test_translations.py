"""The public side in English, French, German and Spanish: every marked string is translated
in every catalogue (extracted afresh from the code, as `make catalogues` does), placeholders
kept, and nothing a translator wrote can break an HTML attribute."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.support.languages import DEFAULT_LANGUAGE, LANGUAGES
from config import PROJECT_ROOT

CATALOGUES = PROJECT_ROOT / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The msgids the code and templates mark today."""
    pot = tmp_path_factory.mktemp("catalogue") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_",
         "--no-location", "-o", str(pot), "."],
        cwd=PROJECT_ROOT,
        check=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {str(message.id if isinstance(message.id, str) else message.id[0])
                for message in read_po(handle) if message.id}  # fmt: skip


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != DEFAULT_LANGUAGE])
def test_every_marked_string_is_translated(language: str, extracted: set[str]) -> None:
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = (message, forms)
    missing = sorted(msgid for msgid in extracted if msgid not in translated)
    assert not missing, f"{len(missing)} strings missing from {language}: {missing[:5]}"
    for msgid in extracted:
        message, forms = translated[msgid]
        assert all(forms), f"untranslated in {language}: {msgid!r}"
        assert not message.fuzzy, f"fuzzy in {language}: {msgid!r}"
        wanted = set(PLACEHOLDER.findall(msgid))
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) == wanted, f"{language}: {msgid!r} -> {form!r}"
            assert form.count('"') <= msgid.count('"'), f"{language}: a quote in {form!r}"
