"""Cleaning what people type: Unicode normalisation, trimming, and keys for matching variants."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Format characters (Unicode category Cf) are invisible: bidirectional overrides make a name
# display as something other than what it is, zero-width spaces make a blank name look filled.
# The zero-width (non-)joiners are kept: Persian, Indic scripts and emoji need them.
_ALLOWED_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
_KEY_DROPPED = re.compile(r"[.'\u2019]")
_KEY_SEPARATORS = re.compile(r"[^\w]+|_+")


def normalise(value: str | None, *, multiline: bool = False) -> str:
    """NFC, trimmed; in multi-line text, line endings become \\n and trailing spaces go."""
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", value)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        value = "\n".join(line.rstrip() for line in value.split("\n"))
    return value.strip()


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    if value.isascii():
        # The common case, decided in C: ASCII has no format characters, and its control
        # characters are exactly what isprintable() refuses.
        if multiline:
            value = value.replace("\n", "").replace("\t", "")
        return not value.isprintable()
    allowed = {"\n", "\t"} if multiline else set()
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" and char not in allowed:
            return True
        if category == "Cf" and char not in _ALLOWED_FORMAT_CHARACTERS:
            return True
    return False


@lru_cache(maxsize=65536)
def matching_key(value: str) -> str:
    """Fold case, accents and punctuation: "M.I.T." -> "mit", "Max-Planck " -> "max planck".

    Remembered: an import or a wave of signers repeats the same organisations and countries.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = _KEY_DROPPED.sub("", without_marks.casefold())
    return " ".join(_KEY_SEPARATORS.sub(" ", folded).split())
