"""Markdown to safe HTML: markdown-it-py renders, Pygments highlights, nh3 sanitises.

Lessons are written by instructors, but they are still treated as untrusted: whatever HTML they contain
is escaped by the renderer and anything that slips through is stripped by nh3 before it reaches a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "th": {"style"},
    "td": {"style"},
}
LANGUAGE_ALIASES = {"dockerfile": "docker", "shell": "bash", "sh": "bash", "console": "console", "yml": "yaml"}


@dataclass
class Rendered:
    html: str
    toc: list[dict] = field(default_factory=list)


def slugify_heading(text: str) -> str:
    """The stable anchor of a heading: lower case, anything not a letter or digit becomes one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def highlight_code(code: str, language: str) -> str:
    language = (language or "text").strip().split()[0].lower() if language else "text"
    try:
        lexer = get_lexer_by_name(LANGUAGE_ALIASES.get(language, language))
    except ClassNotFound:
        return f'<pre class="highlight"><code>{escape(code)}</code></pre>'
    # Starting with "<pre" tells markdown-it not to wrap the block a second time.
    body = highlight(code, lexer, HtmlFormatter(nowrap=True))
    return f'<pre class="highlight"><code class="language-{escape(language)}">{body}</code></pre>'


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.enable("strikethrough")
    md.options["highlight"] = lambda code, lang, attrs: highlight_code(code, lang)
    return md


_parser = _make_parser()


def render_markdown(text: str) -> Rendered:
    """Render Markdown, giving `##`-`####` headings stable ids and collecting the table of contents."""
    tokens = _parser.parse(text)
    toc: list[dict] = []
    used: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.tag not in {"h2", "h3", "h4"}:
            continue
        title = tokens[index + 1].content
        anchor = slugify_heading(title) or "section"
        base, n = anchor, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        token.attrSet("id", anchor)
        if token.tag in {"h2", "h3"}:
            toc.append({"level": int(token.tag[1]), "anchor": anchor, "title": title})
    html = _parser.renderer.render(tokens, _parser.options, {})
    return Rendered(html=sanitize(html), toc=toc)


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def pygments_css() -> str:
    return HtmlFormatter(style="default").get_style_defs(".highlight")
