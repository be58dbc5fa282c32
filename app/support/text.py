"""Cleaning what people type: Unicode normalisation, trimming, and keys for matching variants."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

import idna
import regex
from email_validator import EmailNotValidError, validate_email

#: Characters that render as nothing (Unicode's Default_Ignorable_Code_Point: zero-width
#: joiners and spaces, the combining grapheme joiner, variation selectors, Hangul fillers,
#: tags...) and noncharacters (U+FFFE, U+FFFF..., which no XML document may hold). The regex
#: package follows Unicode's tables; unicodedata has neither property.
_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
_NONCHARACTER = regex.compile(r"\p{Noncharacter_Code_Point}")
#: Scripts whose words need the zero-width (non-)joiners: Persian and Urdu (Arabic), Syriac,
#: N'Ko, Mongolian and the Indic scripts, where they choose between a letter's forms.
_JOINING_SCRIPTS = frozenset(
    {
        "ARABIC", "SYRIAC", "NKO", "MONGOLIAN", "DEVANAGARI", "BENGALI", "GURMUKHI", "GUJARATI",
        "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM", "SINHALA", "KHMER", "MYANMAR",
    }
)  # fmt: skip
_JOINERS = frozenset("\u200c\u200d")
_MONGOLIAN_SELECTORS = frozenset("\u180b\u180c\u180d\u180f")
_KEY_DROPPED = re.compile(r"[.'\u2019\u00b7\u0387\u2024\u2027\u2219\u22c5\u30fb\uff65]")
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
    """Whether the text holds characters that are not what a reader sees: control and format
    characters (bidirectional overrides display a name as something it is not), lone
    surrogates and noncharacters (no text at all), and, in one-line text such as a name,
    anything that renders as nothing where no script needs it (has_hidden_characters).
    Multi-line text (a comment, a letter) keeps its emoji's variation selectors and joiners."""
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
        if category == "Cs":  # a lone surrogate (from JSON's "\ud800"): no text at all
            return True
        if category == "Cf" and char not in _JOINERS:
            return True
    return bool(_NONCHARACTER.search(value)) or (not multiline and has_hidden_characters(value))


def has_hidden_characters(value: str) -> bool:
    """Whether a one-line text holds a character that renders as nothing (Unicode's
    Default_Ignorable_Code_Point) where no script needs one: "Bar\u200dack Obama" looks
    exactly like "Barack Obama". Kept where writing needs them: a zero-width (non-)joiner
    between two letters of a script that uses them (Persian, the Indic scripts) or inside an
    emoji sequence, a variation selector after a symbol or a Han character, Mongolian's
    variation selectors after a Mongolian letter."""
    for found in _IGNORABLE.finditer(value):
        at = found.start()
        before = value[at - 1] if at else ""
        after = value[at + 1] if at + 1 < len(value) else ""
        if not _needed_here(value[at], before, after):
            return True
    return False


def _needed_here(char: str, before: str, after: str) -> bool:
    from confusable_homoglyphs.categories import alias

    if char in _JOINERS:
        if not (before and after):
            return False
        if {alias(before), alias(after)} <= _JOINING_SCRIPTS:
            return True
        # An emoji sequence (👩‍🔬): an emoji on one side, an emoji, selector or skin tone on
        # the other; never between two accents of a Latin word.
        sides = {unicodedata.category(before), unicodedata.category(after)}
        return "So" in sides and sides <= {"So", "Mn", "Sk"}
    if char in _MONGOLIAN_SELECTORS:
        return bool(before) and alias(before) == "MONGOLIAN"
    if "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef":
        return bool(before) and (unicodedata.category(before) == "So" or alias(before) == "HAN")
    return False


def without_ignorables(value: str) -> str:
    """The text as a reader sees it: every character that renders as nothing removed."""
    return _IGNORABLE.sub("", value)


#: What XML 1.0 cannot hold: C0 controls but tab and line ends, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text any XML writer (Atom feeds, Excel workbooks) can hold, whatever was stored before
    the checks at input refused it: each character XML cannot hold becomes U+FFFD, the mark
    for "a character was here"."""
    return _NOT_XML.sub("\ufffd", value)


# --- email addresses ---------------------------------------------------------------------------

#: RFC 5322's dot-atom, in ASCII: a local part email-validator accepts as it is, unchanged.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_ADDRESS_MAX = 254


def mailbox_key(address: str) -> str:
    """How addresses are compared and counted (one signature per address, sign-in, searches,
    the limits on emails to one mailbox): trimmed, in lower case, and outside ASCII in NFKC
    with its domain in IDNA, so that "victim@\uff4dailbox.example" (a full-width m) is the
    mailbox it reaches. Mail still goes to the address as typed."""
    address = address.strip()
    if address.isascii():
        return address.lower()
    local, at, domain = unicodedata.normalize("NFKC", address).rpartition("@")
    # A domain no one can deliver to stays as typed.
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local}{at}{domain}".lower()


class InvalidAddress(ValueError):
    """Not an email address we can deliver to; the message says why, for the person."""


def email_address(value: str) -> str:
    """The address in the one spelling we keep, checked by email-validator without network
    look-ups; InvalidAddress if it is not one.

    Kept in its ASCII form (an internationalised domain as punycode): every SMTP server can
    deliver to it, and one address has one spelling for the one-signature-per-address rule.

    A plain ASCII local part (RFC 5322's dot-atom, which the validator keeps as it is) is
    checked here, and the domain once per domain: an import of 200,000 rows from a few
    hundred institutions spent 10 s of CPU validating the same domains again.
    """
    local, at, domain = value.rpartition("@")
    if at and _PLAIN_LOCAL_PART.fullmatch(local):
        checked_domain = _email_domain(domain)
        if len(local) + 1 + len(checked_domain) <= _ADDRESS_MAX:
            return f"{local}@{checked_domain}"
    return _validated(value)


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str:
    return _validated(f"x@{domain}").rpartition("@")[2]


def _validated(value: str) -> str:
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from None
    return checked.ascii_email or checked.normalized


@lru_cache(maxsize=65536)
def matching_key(value: str) -> str:
    """Fold case, accents and punctuation: "M.I.T." -> "mit", "Max-Planck " -> "max planck";
    what renders as nothing goes, and dots of every kind go as "." does ("Bar‧ack" -> "barack").

    Remembered: an import or a wave of signers repeats the same organisations and countries.
    """
    if value.isascii():  # no marks to drop: skip the per-character walk (imports are mostly ASCII)
        without_marks = value
    else:
        # What renders as nothing is not compared: "Bar\u200dack" is "Barack" to a reader.
        decomposed = unicodedata.normalize("NFKD", without_ignorables(value))
        without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = _KEY_DROPPED.sub("", without_marks.casefold())
    return " ".join(_KEY_SEPARATORS.sub(" ", folded).split())


# --- look-alike names (Unicode TS #39) ---------------------------------------------------------

#: Letters from different scripts that TS #39 lets share one word (its "highly restrictive"
#: level): Japanese, Chinese with Bopomofo, Korean, each with Latin. Common and Inherited
#: characters (digits, punctuation, combining marks) belong to every script.
_ALLOWED_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPTLESS = frozenset({"COMMON", "INHERITED"})
#: Combining marks one letter may carry: Vietnamese needs two, Tibetan stacks reach four.
#: More is "zalgo" text, which smears over the lines around it.
MAX_MARKS_PER_LETTER = 4
#: Keys are cut here: folding can lengthen a name many times ("ﷺ" is a whole phrase), and an
#: index entry must stay small. Names that agree this far are worth a look anyway.
LOOKALIKE_KEY_MAX = 600


@lru_cache(maxsize=1)
def _prototypes() -> dict[int, str]:
    """Each confusable character's prototype, read from confusable-homoglyphs' copy of
    Unicode's confusables.txt. The package lists, for a prototype, every character confusable
    with it and, for any other character, its one prototype; a prototype with a single
    look-alike is listed like a pair of look-alikes, so such a pair shares its smaller member."""
    from confusable_homoglyphs.confusables import confusables_data

    def target(entry: dict[str, str]) -> str:
        return entry["c"].replace("\u200e", "")  # the package wraps right-to-left glyphs in LRMs

    mapping: dict[int, str] = {}
    for char, look_alikes in confusables_data.items():
        if len(look_alikes) != 1:
            continue  # a prototype: it stays itself
        prototype = target(look_alikes[0])
        back = confusables_data.get(prototype, [])
        if len(back) == 1 and target(back[0]) == char:
            prototype = min(char, prototype)
        if prototype != char and len(char) == 1:  # (a few keys are sequences: never matched)
            mapping[ord(char)] = prototype
    return mapping  # keyed by code point, as str.translate wants


def skeleton(value: str) -> str:
    """TS #39's skeleton: every character replaced by the prototype it may be mistaken for."""
    # str.translate walks the string in C: a per-character loop cost an import of 200,000
    # names seconds.
    replaced = unicodedata.normalize("NFD", value).translate(_prototypes())
    return unicodedata.normalize("NFD", replaced)


@lru_cache(maxsize=65536)
def lookalike_key(value: str) -> str:
    """The key names are compared by: two names that look alike share it.

    Folded as matching_key folds (case, accents, width, mathematical letters, punctuation),
    then by skeleton twice: once in capitals, where Greek and Cyrillic capitals (and through
    them their small letters: Cyrillic a, o, dze) meet Latin ones, and once in small letters, where
    "rn" meets "m". Over-matching only costs an organiser a look; under-matching lets a fake
    famous name through.
    """
    folded = matching_key(value)
    through_capitals = matching_key(skeleton(folded.upper()))
    return matching_key(skeleton(through_capitals))[:LOOKALIKE_KEY_MAX]


def mixes_scripts(value: str) -> bool:
    """True when a word mixes scripts as no real name does ("Barack" with a Cyrillic a,
    U+0430, among Latin letters): the classic way to slip a fake past a reader. Names wholly
    in one script, or in a mix TS #39 allows (Han with kana), are fine."""
    if value.isascii():
        return False
    from confusable_homoglyphs.categories import alias

    for word in value.split():
        scripts = {alias(char) for char in word} - _SCRIPTLESS
        if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_SCRIPT_MIXES):
            return True
    return False


#: What a person is told when has_stacked_marks refuses what they typed.
STACKED_MARKS_MESSAGE = (
    f"Please remove the extra accents: a letter may carry at most {MAX_MARKS_PER_LETTER} marks."
)


def has_stacked_marks(value: str) -> bool:
    """True when some letter carries more than MAX_MARKS_PER_LETTER combining marks."""
    if value.isascii():
        return False
    run = 0
    for char in unicodedata.normalize("NFD", value):
        run = run + 1 if unicodedata.combining(char) or unicodedata.category(char) == "Me" else 0
        if run > MAX_MARKS_PER_LETTER:
            return True
    return False


def web_address(text: str | None, limit: int) -> str | None:
    """A link people may follow (http or https, with a host, printable, at most `limit`
    characters) as typed, None when empty; ValueError when it is not one."""
    url = normalise(text or "") or None
    if url is not None:
        parts = urlsplit(url)
        if (
            len(url) > limit
            or has_control_characters(url)
            or parts.scheme not in ("http", "https")
            or not parts.netloc
        ):
            raise ValueError("not a web address")
    return url
