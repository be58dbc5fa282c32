"""Letter text: Markdown rendered to sanitised HTML."""

from __future__ import annotations

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
