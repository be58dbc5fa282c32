"""Soft defences: signs that a signature may be fake. Such signatures are held for review
(quarantined) rather than refused, so whoever sends them learns nothing."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from sqlalchemy import Row, Select, bindparam, exists, func, select

from app.db import DbSession
from app.errors import InvalidInput
from app.models import Letter, Signature
from app.support.text import lookalike_key, mailbox_key, mixes_scripts

HONEYPOT = "honeypot"
RATE = "rate"
DISPOSABLE = "disposable-domain"
DUPLICATE_MAILBOX = "duplicate-mailbox"
URL_IN_NAME = "url-in-name"
WATCHED_NAME = "watch-list"
MIXED_SCRIPTS = "mixed-scripts"
#: The name is, or looks like, that of a signatory the organisers marked notable.
LOOKS_LIKE_NOTABLE = "looks-like-notable"
BLOCKED_DOMAIN = "blocked-domain"
BLOCKED_RANGE = "blocked-range"

#: More than this many signatures from one address on one letter within the window is odd
#: (the UK Parliament's petitions use 1 a minute and 5 in 5 minutes). A department behind one
#: address trips it too: that is why it holds signatures for review instead of refusing them.
RATE_WINDOWS = ((timedelta(minutes=1), 1), (timedelta(minutes=5), 5))

_URL = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|net|org|ru|cn|io|xyz|top|info)\b)", re.I)
_DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}


@dataclass(frozen=True)
class Clues:
    """What the request tells about the signer beyond their answers."""

    honeypot: str = ""
    client_hash: str | None = None
    client_block_hash: str | None = None
    #: Checked against the letter's blocked ranges, then forgotten: never stored.
    client_address: str | None = None


NO_CLUES = Clues()


def client_hash(secret_key: str, address: str | None) -> str | None:
    """A keyed hash of the client address: comparable, but not the address."""
    if not address:
        return None
    digest = hmac.new(secret_key.encode(), b"client:" + address.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def canonical_email(email: str) -> str:
    """One spelling per mailbox: "A.Da+news@GMail.com" -> "ada@gmail.com"."""
    local, _, domain = mailbox_key(email).rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


@dataclass(frozen=True)
class SignerKeys:
    """What a new signature is stored and compared under: worked out once per signature."""

    email_key: str  # mailbox_key: one signature per address
    email_canonical: str  # canonical_email: the same mailbox spelt another way
    name_key: str  # lookalike_key: names that look alike

    @classmethod
    def of(cls, name: str, email: str) -> SignerKeys:
        return cls(mailbox_key(email), canonical_email(email), lookalike_key(name))


def look_up_values(
    letter: Letter, keys: SignerKeys, clues: Clues, *, now: datetime, with_rate: bool
) -> dict[str, object]:
    """The values look_ups(with_rate) takes."""
    values: dict[str, object] = {
        "letter_id": letter.id,
        "canonical": keys.email_canonical,
        "email_key": keys.email_key,
        "name_key": keys.name_key,
    }
    if with_rate:
        longest = max(window for window, _ in RATE_WINDOWS)
        values.update(client_hash=clues.client_hash, since=now - longest)
        values.update({f"after_{i}": now - window for i, (window, _) in enumerate(RATE_WINDOWS)})
    return values


def review_flags(
    letter: Letter,
    *,
    name: str,
    email: str,
    keys: SignerKeys,
    clues: Clues,
    found: Row[*tuple[Any, ...]],
    with_rate: bool,
) -> list[str]:
    """Every soft defence this signature trips; empty when it looks ordinary. `found` is the
    answer to look_ups(with_rate), which the caller runs (with whatever else it needs to know
    before its insert, in the same statement)."""
    flags = [HONEYPOT] if clues.honeypot.strip() else []
    flags += name_flags(letter, name=name, keys=keys, found=found)
    domain = email_domain(email)
    if domain in DISPOSABLE_DOMAINS:
        flags.append(DISPOSABLE)
    if _in_blocked_domain(domain, letter.blocked_domains or []):
        flags.append(BLOCKED_DOMAIN)
    if clues.client_address and _in_blocked_range(
        clues.client_address, letter.blocked_ranges or []
    ):
        flags.append(BLOCKED_RANGE)
    if found.twin:
        flags.append(DUPLICATE_MAILBOX)
    if with_rate and any(
        found._mapping[f"recent_{i}"] >= allowed for i, (_, allowed) in enumerate(RATE_WINDOWS)
    ):
        flags.append(RATE)
    return flags


def name_flags(
    letter: Letter, *, name: str, keys: SignerKeys, found: Row[*tuple[Any, ...]]
) -> list[str]:
    """The defences a name trips, wherever a name is set (the sign form, an invitation whose
    name was changed): a link in it, a watched name or one that looks like it, a notable
    signatory's look-alike, scripts mixed within a word. `found`: look_ups' answer."""
    flags = []
    if _URL.search(name):
        flags.append(URL_IN_NAME)
    if _is_watched(letter, keys.name_key):
        flags.append(WATCHED_NAME)
    if mixes_scripts(name):
        flags.append(MIXED_SCRIPTS)
    if found.notable_twin:
        flags.append(LOOKS_LIKE_NOTABLE)
    return flags


@cache
def look_ups(with_rate: bool) -> Select[*tuple[Any, ...]]:
    """One SELECT: is there a twin (the same mailbox spelt another way), is there a notable
    signatory whose name has this name's look-alike key (someone signing as a famous person who
    has signed), and, with_rate, how many signatures this address made within each of
    RATE_WINDOWS (recent_0, recent_1, ...). Built once: constructing it per signature cost more
    CPU than running it.

    The rate part reads at most the few newest rows from the address, so a campus behind one
    NAT address with thousands of signatures costs what a lone signer does.

    The letter's id is given as a sub-select, unseen by the planner: statistics that have not
    yet met this letter's rows (a new letter, a big import) then cannot make a scan of the
    whole letter look cheaper than the index made for each look-up (see imports._look_up).
    """
    table = Signature.__table__.c
    letter = select(bindparam("letter_id", type_=table.letter_id.type)).scalar_subquery()
    twin = exists().where(
        table.letter_id == letter,
        table.email_canonical == bindparam("canonical"),
        table.email_normalized != bindparam("email_key"),
    )
    # Through the (letter_id, name_key) index or the partial index of the letter's notable
    # signatories, whichever the planner likes: a handful of rows either way.
    notable_twin = exists().where(
        table.letter_id == letter,
        table.name_key == bindparam("name_key"),
        table.is_notable.is_(True),
        table.email_normalized != bindparam("email_key"),
    )
    answers = (twin.label("twin"), notable_twin.label("notable_twin"))
    if not with_rate:
        return select(*answers)
    newest = (
        select(table.signed_at)
        .where(
            table.letter_id == letter,
            table.client_hash == bindparam("client_hash"),
            table.signed_at > bindparam("since"),
        )
        .order_by(table.signed_at.desc())
        .limit(max(allowed for _, allowed in RATE_WINDOWS))
        .subquery()
    )
    counts = (
        func.count().filter(newest.c.signed_at > bindparam(f"after_{i}")).label(f"recent_{i}")
        for i in range(len(RATE_WINDOWS))
    )
    return select(*answers, *counts).select_from(newest)


def watched_name(letter: Letter, name: str) -> bool:
    """Whether the name is, or looks like, one on the letter's watch-list."""
    return _is_watched(letter, lookalike_key(name))


def _is_watched(letter: Letter, name_key: str) -> bool:
    watched = letter.watch_names or []
    return bool(watched) and name_key in {lookalike_key(w) for w in watched}


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def trending_domains(
    session: DbSession, letter: Letter, *, now: datetime, threshold: int = 50
) -> list[tuple[str, int]]:
    """Email domains with at least `threshold` new signatures in the last hour: a university
    mailing list, or a bot farm. Either way organisers should look."""
    recent = session.scalars(
        select(Signature.email_normalized).where(
            Signature.letter_id == letter.id,
            Signature.signed_at > now - timedelta(hours=1),
        )
    )
    counts: dict[str, int] = {}
    for address in recent:
        domain = email_domain(address)
        counts[domain] = counts.get(domain, 0) + 1
    return sorted(((d, n) for d, n in counts.items() if n >= threshold), key=lambda item: -item[1])


def _in_blocked_domain(domain: str, blocked: list[str]) -> bool:
    """The domain itself or any parent: blocking "spam.example" covers "mx.spam.example"."""
    return any(domain == b or domain.endswith("." + b) for b in blocked)


def _in_blocked_range(address: str, ranges: list[str]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    # "::ffff:203.0.113.9" is an IPv4 client seen through an IPv6 socket.
    client = getattr(parsed, "ipv4_mapped", None) or parsed
    return any(client in ipaddress.ip_network(cidr, strict=False) for cidr in ranges)


def _block_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def block_hash(secret_key: str, address: str | None) -> str | None:
    """A keyed hash of the address's block (/24 or /48): one network, not one machine."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return client_hash(secret_key, "block:" + _block_of(parsed))


def hashes_for_range(secret_key: str, cidr: str) -> tuple[str, list[str]]:
    """What to match for an address range, without ever storing addresses: the hashes of each
    address for a range up to one block, or of each block for a range up to 256 blocks.
    Returns ("client" or "block", hashes); InvalidInput for wider or malformed ranges."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise InvalidInput(f"{cidr!r} is not an address range (like 203.0.113.0/24).") from None
    block = 24 if network.version == 4 else 48
    if network.prefixlen >= block:
        if network.num_addresses > 256:
            raise InvalidInput("Give a range of at most 256 addresses, or a whole block.")
        hashes = [client_hash(secret_key, str(a)) for a in network]
        if network.num_addresses == 1:
            hashes = [client_hash(secret_key, str(network.network_address))]
        return "client", [h for h in hashes if h]
    if block - network.prefixlen > 8:
        raise InvalidInput(f"Give a range of at most 256 /{block} blocks.")
    hashes = [
        client_hash(secret_key, "block:" + str(sub)) for sub in network.subnets(new_prefix=block)
    ]
    return "block", [h for h in hashes if h]


def trending_blocks(
    session: DbSession, letter: Letter, *, now: datetime, threshold: int = 50
) -> list[tuple[str, int]]:
    """Address blocks (by hash) with at least `threshold` new signatures in the last hour."""
    rows = session.execute(
        select(Signature.client_block_hash, func.count())
        .where(
            Signature.letter_id == letter.id,
            Signature.client_block_hash.is_not(None),
            Signature.signed_at > now - timedelta(hours=1),
        )
        .group_by(Signature.client_block_hash)
        .having(func.count() >= threshold)
        .order_by(func.count().desc())
    ).all()
    return [(block, count) for block, count in rows if block]
