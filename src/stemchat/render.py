"""The edge: a structured answer becomes Markdown here, and only here.

Every piece of corpus or user text is escaped (`markup.escape`) as it is placed; the reviewed fixed
texts from texts.yaml are Markdown already. The UI, the CLI and the export all render through this
module, so nothing else needs to know Markdown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from stemchat.answer import Answer, EvidenceLine, Statement
from stemchat.markup import escape
from stemchat.texts import disclaimer, text, texts, tier_description, use_language


def statement(s: Statement) -> str:
    """One statement with its markers ("... [1][2]"); fixed texts are trusted Markdown."""
    body = s.text.strip() if s.origin == "fixed" else escape(s.text.strip())
    marks = "".join(f"[{n}]" for n in s.cites)
    return f"{body} {marks}" if marks else body


def tier_words(tier: str) -> str:
    """The tier's name in the current language ("early"; "inicial")."""
    return str(texts()["tier_names"].get(tier, tier.replace("_", " ")))


def kind_words(kind: str) -> str:
    """A source's kind in the current language ("trial"; "ensayo clínico"), else as recorded."""
    return str(texts()["ui"]["doc_kinds"].get(kind, kind))


def evidence_line(e: EvidenceLine) -> str:
    """The evidence strength of one condition, shown first (bold name and tier, then plain words)."""
    label = e.tier_label.rstrip(". ") or tier_description(e.tier)
    when = f" ({text('as_of').format(date=e.as_of)})" if e.as_of else ""
    note = f" {e.tier_note.strip()}" if e.tier_note.strip() else ""
    head = escape(text("evidence_head").format(name=e.condition_name, tier=tier_words(e.tier)))
    return f"**{head}**" + escape(f" — {label}{when}.{note}")


def approval_line(e: EvidenceLine) -> str:
    if not e.approval_line:
        return ""
    return f"**{text('approvals_label')}** {escape(e.approval_line)}"


_SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\]+")


def link(url: str) -> str:
    """A source address as a Markdown autolink when it is a plain web address, else as text."""
    return f"<{url}>" if _SAFE_URL.fullmatch(url) else escape(url)


def passage(text: str) -> str:
    """A cited passage (plain text, one paragraph or item per line) as safe Markdown lines."""
    return "  \n".join(escape(line) for line in text.splitlines() if line.strip())


def document(body: str, allowed_urls: Sequence[str] = ()) -> str:
    """A corpus document's own Markdown when it is clean (`stemchat check` refuses the rest),
    else its text escaped: never an image, raw HTML or a link outside its sources."""
    from stemchat.markup import problems, to_plain

    return body if not problems(body, allowed_urls) else passage(to_plain(body))


_AFTER_EVIDENCE = ("not_covered", "clarify", "general_tier_line")


def markdown(answer: Answer) -> str:
    """The Markdown shown to the patient for one answer, in the answer's language."""
    with use_language(answer.language):
        return _markdown(answer)


def _markdown(answer: Answer) -> str:
    blocks = [statement(s) for s in answer.notices if s.key not in _AFTER_EVIDENCE]
    if answer.reply:  # the direct reply is the first thing read
        blocks.append(" ".join(statement(s) for s in answer.reply))
    lines = []
    for e in answer.evidence:
        lines.append(f"- {evidence_line(e)}")
        if e.approval_line:
            lines.append(f"  {approval_line(e)}")
    if lines:
        blocks.append("\n".join(lines))
    blocks += [statement(s) for s in answer.notices if s.key in _AFTER_EVIDENCE]
    for section in answer.sections:
        items = "\n".join(f"- {statement(s)}" for s in section.statements)
        blocks.append(f"**{escape(section.title)}**\n\n{items}")
    blocks.append(f"_{escape(answer.disclaimer)}_")
    return "\n\n".join(b for b in blocks if b)


def export_markdown(turns: Sequence[Answer], when: dt.datetime | None = None) -> str:
    """The conversation as Markdown to bring to a doctor: questions, answers, tiers, sources.

    Headings and the disclaimer are in the current language (the page's); each answer stays in
    the language it was given in."""
    when = when or dt.datetime.now(dt.UTC)
    words = texts()["ui"]["export"]
    out = [
        f"# {escape(words['title'])}",
        "",
        escape(str(words["intro"]).format(when=when.strftime("%Y-%m-%d %H:%M"))),
        "",
    ]
    for i, turn in enumerate(turns, start=1):
        quoted = "\n".join(f"> {escape(line)}" for line in turn.question.splitlines() or [""])
        question = escape(str(words["question"]).format(n=i))
        answer = escape(words["answer"])
        out += [f"## {question}", "", quoted, "", f"### {answer}", "", turn.answer, ""]
        if turn.citations:
            out += [escape(words["sources"]), ""]
            out += [
                escape(f"[{c.n}] {c.title} ({kind_words(c.kind)}, {c.date})")
                + (f" — {link(c.url)}" if c.url else "")
                + "  "
                for c in turn.citations
            ]
            out.append("")
    out += ["---", "", escape(disclaimer()), ""]
    return "\n".join(out)
