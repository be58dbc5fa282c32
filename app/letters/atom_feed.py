"""A letter's updates as an Atom feed (feedgen), for feed readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from feedgen.feed import FeedGenerator

from app.models import Letter, LetterUpdate
from app.support.text import xml_text


def atom(
    letter: Letter,
    updates: Sequence[LetterUpdate],
    *,
    page_url: str,
    feed_url: str,
    render: Callable[[str], str],
) -> bytes:
    """The feed's XML: newest update first; its time is the newest update's (or the letter's
    launch when there is none), so the same updates always give the same bytes."""
    feed = FeedGenerator()
    feed.id(page_url)
    feed.title(xml_text(f"Updates: {letter.title}"))
    feed.link(href=page_url, rel="alternate")
    feed.link(href=feed_url, rel="self")
    feed.language("en")
    newest = updates[0].published_at if updates else (letter.launched_at or letter.created_at)
    feed.updated(newest)
    # feedgen writes entries in the reverse of the order they were added.
    for update in reversed(updates):
        entry = feed.add_entry()
        entry.id(f"{page_url}#update-{update.id}")
        entry.title(xml_text(update.subject))
        entry.link(href=f"{page_url}#update-{update.id}")
        entry.published(update.published_at)
        entry.updated(update.published_at)
        entry.content(xml_text(str(render(update.body))), type="html")
    return bytes(feed.atom_str(pretty=True))
