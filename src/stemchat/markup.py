"""One place for untrusted markup: corpus and user text are parsed as Markdown tokens (markdown-it-py)
and judged against an allow-list, never with regexes over Markdown.

- `problems(markdown, allowed_urls)`: what this Markdown would render that it must not: an image,
  raw HTML, or a link (inline, reference-style, autolink, bare URL, e-mail) to anything but the
  allowed source addresses.
- `to_plain(markdown)`: the text a reader should see, with images, HTML and link targets removed
  (how corpus passages become sentences and citations).
- `escape(text)`: plain text made safe to place inside Markdown: it renders as the same text and
  nothing else (every render call in the UI, CLI and export goes through it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Characters that can open or close a Markdown construct anywhere in a line.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")  # "$": Streamlit renders $...$ as maths
# At the start of a line: headings, quotes, list items, thematic breaks, setext underlines.
_LINE_START = re.compile(r"^(\s*\d*)([#+=.)-])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# Bare addresses that GitHub-flavoured renderers turn into links.
_WWW = re.compile(r"(?i)(?<![a-z0-9])(www)\.")
_EMAIL_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-]+\.)")
_BARE_WWW = re.compile(r"(?i)(?<![a-z0-9/.\\])www\.[a-z0-9-]")
_BARE_EMAIL = re.compile(r"[\w.+-]@[\w-]+\.[\w-]")
_HIDDEN = re.compile(r"[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"linkify": True}).enable(["linkify", "table", "strikethrough"])
    assert md.linkify is not None  # linkify-it-py is a dependency
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": True})
    return md


def _walk(tokens: Iterable[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


# What every image, raw HTML, link, autolink, bare address or e-mail needs at least one of
_MAY_RENDER = re.compile(r"[<\[@]|://|www\.", re.I)


def problems(markdown: str, allowed_urls: Iterable[str] = ()) -> list[str]:
    """What this Markdown would render beyond plain formatted text, one line per problem."""
    if not _MAY_RENDER.search(markdown):
        return []  # no "<", "[", "@", "://" or "www.": nothing here can render as HTML or a link
    allowed = {u.strip() for u in allowed_urls if u}
    found: list[str] = []
    for token in _walk(_parser().parse(markdown)):
        if token.type == "image":
            found.append(f"image: {str(token.attrs.get('src', ''))[:60]}")
        elif token.type in ("html_inline", "html_block"):
            found.append(f"raw HTML: {token.content.strip()[:60]}")
        elif token.type == "link_open":
            href = str(token.attrs.get("href", ""))
            if href not in allowed:
                found.append(f"link to an address that is not a source: {href[:60]}")
        elif token.type == "inline" and _BARE_WWW.search(token.content):
            # raw source: "www." becomes a link in GitHub-flavoured renderers, "www\." does not
            found.append(f"bare web address: {token.content.strip()[:60]}")
        elif (
            token.type == "inline"
            and _BARE_EMAIL.search(token.content)
            and not any(t.type == "link_open" for t in token.children or [])
        ):
            found.append(f"link to an address that is not a source: {token.content[:60]}")
    return found


def to_plain(markdown: str, *, tables: bool = True, lead_ins: bool = True) -> str:
    """Readable text of a Markdown body: paragraphs and headings on their own lines, list items as
    "- item", table rows as "a; b; c" (or dropped), no images, HTML, link targets or emphasis.

    `lead_ins=False` also drops a bold label opening a paragraph or item ("**Evidence:** ...").
    """
    return _to_plain_cached(markdown, tables, lead_ins)


@lru_cache(maxsize=4096)
def _to_plain_cached(markdown: str, tables: bool, lead_ins: bool) -> str:
    markdown = _HIDDEN.sub("", markdown)
    lines: list[str] = []
    tokens = _parser().parse(markdown)
    item_depth = 0
    row: list[str] | None = None
    in_table = False
    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            item_depth += 1
        elif kind == "list_item_close":
            item_depth -= 1
        elif kind == "table_open":
            in_table = True
        elif kind == "table_close":
            in_table = False
            lines.append("")
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if tables and row is not None and any(row):
                lines.append("; ".join(cell for cell in row if cell))
            row = None
        elif kind == "inline":
            children = token.children or []
            text = _inline_text(children if lead_ins else _without_lead_in(children))
            if in_table:
                if row is not None:
                    row.append(text)
                continue
            if not text:
                continue
            lines.append(f"- {text}" if item_depth else text)
        elif kind in ("paragraph_close", "heading_close") and not item_depth:
            lines.append("")
        elif kind in ("code_block", "fence"):
            lines.extend([*token.content.strip().splitlines(), ""])
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    for child in children:
        kind = child.type
        if kind == "image":
            continue  # neither a remote image nor its alt text is part of the passage
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        # html_inline, link_open/close, em/strong markers: dropped, their inner text kept
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _without_lead_in(children: list[Token]) -> list[Token]:
    """Inline tokens without an opening bold title of up to 12 words ("**MILES (480 people).**").

    A bold label ending in a colon ("**South Korea only:** Cartistem was approved...") carries
    meaning for the sentence after it: it stays, as plain text."""
    children = [c for c in children if not (c.type == "text" and not c.content)]
    if not children or children[0].type != "strong_open":
        return children
    end = next((i for i, c in enumerate(children) if c.type == "strong_close"), None)
    if end is None:
        return children
    label = _inline_text(children[1:end])
    if len(label.split()) > 12 or not label.endswith((".", "!", "?")):
        return children
    return children[end + 1 :]


def escape(text: str) -> str:
    """Plain text that renders as itself in Markdown: no emphasis, link, image, HTML or list."""
    out = []
    for line in str(text).split("\n"):
        line = re.sub(r"^[ \t]{4,}", " ", line.rstrip())  # no indented code block
        line = _INLINE_SPECIAL.sub(r"\\\1", line)
        line = _ENTITY.sub(r"\\&", line)
        line = line.replace("://", ":\\//")  # "https:\//" never links, whatever the scheme
        line = _WWW.sub(r"\1\\.", line)
        line = _EMAIL_AT.sub(r"\\@", line)
        line = _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", line, count=1)
        out.append(line)
    return "\n".join(out)


def plain_of_escaped(markdown: str) -> str:
    """What a reader sees for Markdown made by `escape` (for tests and checks)."""
    tokens = _parser().parse(markdown)
    texts = [_inline_text(t.children or []) for t in tokens if t.type == "inline"]
    return " ".join(t for t in texts if t)


def link_targets(markdown: str) -> list[str]:
    """Every address the Markdown would link to (for tests)."""
    return [
        str(t.attrs.get("href", ""))
        for t in _walk(_parser().parse(markdown))
        if t.type == "link_open"
    ]


def attrs(token: Token) -> dict[str, Any]:  # pragma: no cover - debugging aid
    return dict(token.attrs)
