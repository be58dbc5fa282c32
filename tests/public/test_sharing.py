"""Sharing a letter: link previews with an image the app draws, plain share links, a widget
other sites may frame (and no other page), and a printable poster with a QR code."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from PIL import Image

from tests.factories import make_letter, make_signature


def _meta(page: str, name: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', page)
    assert found, f"no {name} on the page"
    return found.group(1)


def test_the_letter_page_previews_with_a_drawn_image(client: FlaskClient, session) -> None:
    letter = make_letter(
        session, slug="shared", title="Ban deepfakes", body="We **call** for laws."
    )
    letter.organisers_name = "AI researchers for safe media"
    make_signature(session, letter=letter)
    session.commit()
    page = client.get("/letters/shared").get_data(as_text=True)
    assert _meta(page, "og:title") == "Ban deepfakes"
    assert _meta(page, "og:description") == "We call for laws."
    image_url = _meta(page, "og:image")
    assert re.fullmatch(r"https?://[^/]+/letters/shared/share\.png\?v=1", image_url), image_url
    assert _meta(page, "twitter:card") == "summary_large_image"

    picture = client.get(image_url.split("/", 3)[3].join(["/", ""]))
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    with Image.open(io.BytesIO(picture.get_data())) as image:
        assert image.size == (1200, 630)
    assert client.get("/letters/shared/share.png").get_data() == picture.get_data()

    # Share links are addresses only: no script of anyone else's.
    for host in ("mastodonshare.com", "bsky.app", "linkedin.com", "x.com/intent", "mailto:"):
        assert host in page, host
    assert not re.search(r"<script[^>]+src=\"https?://", page)
    assert "/letters/shared/embed" in page and "/letters/shared/poster" in page


def test_the_image_says_the_count_in_the_readers_language(app) -> None:
    from app.public.share_views import count_line

    with app.test_request_context("/?lang=en"):
        assert count_line(1) == "1 confirmed signature"
        assert count_line(1234) == "1,200+ confirmed signatures"
    with app.test_request_context("/?lang=de"):
        assert count_line(1234) != "1,200+ confirmed signatures"
        assert "1.200+" in count_line(1234)


def test_the_image_is_drawn_again_only_when_the_count_changes_materially() -> None:
    from app.support.share_image import material_count

    assert [material_count(n) for n in (0, 1, 99, 100, 1234, 1299, 1300, 56789)] == [
        0, 1, 99, 100, 1200, 1200, 1300, 56000,
    ]  # fmt: skip


def test_only_the_widget_may_be_framed_by_other_sites(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="framed", title="Ban deepfakes")
    make_signature(session, letter=letter)
    make_signature(session, letter=letter)
    widget = client.get("/letters/framed/embed")
    assert widget.status_code == 200
    assert "X-Frame-Options" not in widget.headers
    assert "frame-ancestors *" in widget.headers["Content-Security-Policy"]
    html = widget.get_data(as_text=True)
    assert '<strong data-testid="verified-count">2</strong>' in html
    assert 'target="_blank"' in html and "/letters/framed" in html
    page = client.get("/letters/framed")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_poster_carries_the_title_an_excerpt_and_a_qr_code_to_sign(
    client: FlaskClient, session
) -> None:
    import segno

    make_letter(session, slug="poster", title="Ban deepfakes", body="We call for laws. " * 60)
    page = client.get("/letters/poster").get_data(as_text=True)
    poster = client.get("/letters/poster/poster").get_data(as_text=True)
    assert "<h1>Ban deepfakes</h1>" in poster
    assert "We call for laws." in poster and "…" in poster  # an excerpt, not the whole text
    address = re.search(r"go to <strong>([^<]+)</strong>", poster).group(1)  # type: ignore[union-attr]
    assert address.endswith("/letters/poster")
    expected = segno.make(address, error="m")
    drawn = expected.svg_inline(scale=8, svgclass="qr", lineclass=None, omitsize=True)
    assert drawn.split(">", 1)[1] in poster
    assert page  # the letter page links to it
