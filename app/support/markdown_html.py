"""Letter text: Markdown rendered to sanitised HTML."""

from __future__ import annotations

import html
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the source is shown as text, and nh3 cleans the output as a second line of defence.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})


@lru_cache(maxsize=256)
def render_markdown(source: str) -> Markup:
    html = _markdown.render(source)
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S704


@lru_cache(maxsize=256)
def plain_excerpt(source: str, limit: int = 300) -> str:
    """The text without its markup, whitespace folded, cut at a word near `limit` characters:
    for link previews and posters."""
    text = " ".join(nh3.clean(_markdown.render(source), tags=set()).split())
    text = html.unescape(text)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
