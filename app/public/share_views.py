"""Sharing a letter: the picture a shared link shows, the widget other sites embed, and the
poster for lecture halls. All the same for every visitor, so all cached like the letter page."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import segno
from flask import Response, render_template, url_for
from flask_babel import format_decimal, get_locale, get_translations, gettext, ngettext
from markupsafe import Markup

from app.db import db, utcnow
from app.letters import letters
from app.models import Letter
from app.public import bp
from app.signatories import public_list
from app.support import share_image
from app.support.http_cache import shared_response
from app.support.markdown_html import plain_excerpt

#: Pages other sites may show in a frame (every other page refuses to be framed).
FRAMEABLE_ENDPOINTS = frozenset({"public.embed"})


@dataclass(frozen=True)
class Sharing:
    """What the letter page offers for sharing: the link preview's tags and share links."""

    url: str
    description: str
    image_url: str
    links: list[tuple[str, str]]
    embed_url: str


def sharing(letter: Letter, verified_count: int) -> Sharing:
    """The letter's link preview (Open Graph, Twitter card) and plain share links: no
    third-party script, only addresses. The image address names the count it shows, so a
    chat app asks for it again once the count changes materially."""
    address = url_for("public.letter", slug=letter.slug, _external=True)
    text = gettext("%(title)s: an open letter", title=letter.title)
    both = f"{text} {address}"
    return Sharing(
        url=address,
        description=plain_excerpt(letter.body, 200),
        image_url=url_for(
            "public.share_png",
            slug=letter.slug,
            v=share_image.material_count(verified_count),
            _external=True,
        ),
        links=[
            (gettext("Email"), f"mailto:?subject={quote(letter.title)}&body={quote(both)}"),
            ("Mastodon", f"https://mastodonshare.com/?text={quote(text)}&url={quote(address)}"),
            ("Bluesky", f"https://bsky.app/intent/compose?text={quote(both)}"),
            ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={quote(address)}"),
            ("X", f"https://x.com/intent/post?text={quote(text)}&url={quote(address)}"),
        ],
        embed_url=url_for("public.embed", slug=letter.slug, _external=True),
    )


@bp.get("/letters/<slug>/share.png")
def share_png(slug: str) -> Response:
    """The link preview's picture (og:image): title, verified count, organisers."""

    def picture() -> bytes:
        letter = letters.public_letter(db.session, slug)
        count = public_list.count_verified(db.session, letter)
        translation = letters.translations_of(db.session, letter).get(str(get_locale()))
        site = urlsplit(url_for("public.index", _external=True)).netloc
        return share_image.share_png(
            translation.title if translation else letter.title,
            count_line(count),
            gettext("Organised by %(name)s", name=letter.organisers_name)
            if letter.organisers_name
            else gettext("An open letter"),
            site,
        )

    return shared_response(picture, mimetype="image/png")


def count_line(count: int) -> str:
    """The count as the share image says it, in the reader's language: exact below 100,
    else its first two digits and a plus ("1,200+")."""
    shown = share_image.material_count(count)
    if shown == count:
        return ngettext("%(num)s confirmed signature", "%(num)s confirmed signatures", count)
    # Flask-Babel's ngettext would write `num` without the language's thousands separator.
    text = get_translations().ngettext(
        "%(num)s+ confirmed signature", "%(num)s+ confirmed signatures", shown
    )
    return str(text) % {"num": format_decimal(shown)}


@bp.get("/letters/<slug>/embed")
def embed(slug: str) -> Response:
    """A small page for an iframe on another site: the count and a button to sign."""

    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        return render_template(
            "public/embed.html",
            letter=letter,
            verified_count=public_list.count_verified(db.session, letter),
            is_open=letter.is_open(utcnow()),
        )

    return shared_response(page)


@bp.get("/letters/<slug>/poster")
def poster(slug: str) -> Response:
    """A printable poster: the title, a short excerpt and a QR code to sign (SVG)."""

    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        address = url_for("public.letter", slug=letter.slug, _external=True)
        # A viewBox, not a fixed size: the code scales to the poster's box whole.
        qr = segno.make(address, error="m").svg_inline(
            scale=8, title=f"QR code: {address}", svgclass="qr", lineclass=None, omitsize=True
        )
        return render_template(
            "public/poster.html",
            letter=letter,
            excerpt=plain_excerpt(letter.body, 450),
            address=address,
            qr_svg=Markup(qr),  # noqa: S704 (segno's own SVG, the address escaped by it)
        )

    return shared_response(page)
