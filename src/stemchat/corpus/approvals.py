"""The approval sentence of a condition, written from its approval records (never typed by hand).

Every sentence says where a product is approved, of what kind (full, conditional, limited), and
whether anything is approved in the US and in the EU: "Approved: South Korea only (Cartistem, a
surgical cartilage implant, Jan 2012). Not approved in the US or EU." Withdrawn, expired and
pending decisions follow. The wording is data (texts.yaml `approval_wording`).
"""

from __future__ import annotations

import datetime as dt
import re

from stemchat.corpus.models import Approval, Condition, EvidenceMap
from stemchat.texts import texts

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _wording(lang: str | None = None) -> dict[str, object]:
    words = texts(lang).get("approval_wording") or texts()["approval_wording"]
    assert isinstance(words, dict)
    return words


def date_words(date: str, words: dict[str, object] | None = None) -> str:
    """'2024-12-18' -> 'Dec 2024' ('dic 2024' in Spanish); '2012' -> '2012'."""
    parts = date.split("-")
    months = (words or _wording()).get("months") or _MONTHS
    assert isinstance(months, list)
    if len(parts) >= 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
        return f"{months[int(parts[1]) - 1]} {parts[0]}"
    return parts[0]


def _at(where: str, words: dict[str, object] | None = None) -> str:
    """A place as the answer's language names it ("South Korea" -> "Corea del Sur")."""
    places = (words or _wording()).get("places") or {}
    assert isinstance(places, dict)
    return str(places.get(where, where))


def _what(text: str | None, words: dict[str, object] | None = None) -> str:
    """A record's English description, where the answer's language is English (records
    describe products in English; a translation shows the product, kind, place and date)."""
    return (text or "") if (words or _wording()).get("describe", True) else ""


def _product(a: Approval, words: dict[str, object]) -> str:
    kinds = words["kinds"]
    assert isinstance(kinds, dict)
    kind = f"{kinds[a.kind]}: " if a.kind != "full" else ""
    what = f", {_what(a.what, words)}" if _what(a.what, words) else ""
    return f"{kind}{a.product}{what}, {date_words(a.date, words)}"


def _place(where: str, items: list[Approval], only: bool, words: dict[str, object]) -> str:
    name = str(words["only"]).format(where=_at(where, words)) if only else _at(where, words)
    return f"{name} ({'; '.join(_product(a, words) for a in items)})"


def approval_line(condition: Condition, lang: str | None = None) -> str:
    """The approval sentence shown beside the evidence strength of one condition."""
    words = _wording(lang)
    by_status: dict[str, list[Approval]] = {}
    for a in condition.approvals:
        by_status.setdefault(a.status, []).append(a)
    active = by_status.get("active", [])
    places = {a.where for a in active}
    parts: list[str] = []
    if active:
        grouped: dict[str, list[Approval]] = {}
        for a in active:
            grouped.setdefault(a.where, []).append(a)
        only = len(grouped) == 1
        items = "; ".join(_place(w, xs, only, words) for w, xs in grouped.items())
        parts.append(str(words["approved"]).format(items=items))
        missing = {"US", "EU"} - places
        if missing == {"US", "EU"}:
            parts.append(str(words["not_us_eu"]))
        elif missing:
            parts.append(str(words["not_us"] if "US" in missing else words["not_eu"]))
    else:
        parts.append(str(words["none"]))
    parts += _not_active(condition, words)
    if condition.approval_note:
        parts.append(condition.approval_note.strip())
    return " ".join(parts)


def _not_active(condition: Condition, words: dict[str, object]) -> list[str]:
    """Withdrawn, expired and pending records, one sentence per status."""
    kinds = words["kinds"]
    assert isinstance(kinds, dict)
    parts = []
    for status in ("withdrawn", "expired", "pending"):
        ended = [
            str(words[f"{status}_item"]).format(
                where=_at(a.where, words),
                product=a.product,
                date=date_words(a.date, words),
                ended=date_words(a.ended or "", words),
                kind=kinds[a.kind],
            )
            for a in condition.approvals
            if a.status == status
        ]
        if ended:
            parts.append(str(words[status]).format(items="; ".join(ended)))
    return parts


def product_fact(a: Approval, lang: str | None = None) -> str:
    """One product's record as a sentence: what kind of approval, where, since when, for whom."""
    words = _wording(lang)
    kinds = words["kinds"]
    assert isinstance(kinds, dict)
    who = _what(a.who or a.what, words)
    to = str(words.get("for", "for"))
    the = words.get("the_places", ["US", "EU", "UK"])
    assert isinstance(the, list)
    fact = str(words[f"fact_{a.status}"]).format(
        product=a.product,
        kind=kinds[a.kind],
        where=f"the {a.where}" if a.where in the else _at(a.where, words),
        date=date_words(a.date, words),
        ended=date_words(a.ended or "", words),
        who=f"{to} {who}" if who and not who.startswith(f"{to} ") else who,
    )
    if not who:  # no `who` on record (or not in this language): drop "It is ."
        fact = re.sub(r"\s+[^.]*\s\.$", "", fact)
    return re.sub(r",\s*\.$", ".", fact.replace(" ,", ","))


def named_products(text: str, evidence: EvidenceMap) -> list[Approval]:
    """Approval records of products the text names ("is Holoclar approved in the US?")."""
    out: list[Approval] = []
    for c in evidence.conditions.values():
        for a in c.approvals:
            name = re.escape(a.product.split(" (")[0])
            if re.search(rf"\b{name}\b", text, re.I) and a not in out:
                out.append(a)
    return out


def not_covered_line(lang: str | None = None) -> str:
    """What a not-covered condition says about approvals (US and EU named all the same)."""
    return str(_wording(lang)["not_covered"])


def states_us_and_eu(line: str) -> bool:
    """Does an approval sentence say something about the US and about the EU?"""
    padded = f" {line}"
    us = " US" in padded or "EE. UU." in padded or "Estados Unidos" in padded
    eu = " EU" in padded or " UE" in padded or "Unión Europea" in padded
    return us and eu


def stale_pending(condition: Condition, today: dt.date, months: int = 6) -> list[Approval]:
    """Pending decisions last checked more than `months` ago (someone must look again)."""
    out = []
    for a in condition.approvals:
        if a.status != "pending":
            continue
        y, m = (int(x) for x in [*a.as_of.split("-"), "1"][:2])
        if (today.year - y) * 12 + (today.month - m) > months:
            out.append(a)
    return out


_APPROVAL_WORD = re.compile(
    r"\b(?:approv\w*|licen[cs]\w*|authori[sz]\w*|marketing permission)\b", re.I
)
_NEGATED = re.compile(
    r"\b(?:not|no|never|nothing|none|neither|nor|unapproved|without|isn'?t|wasn'?t|aren'?t|"
    r"hasn'?t|haven'?t|withdr\w*|refus\w*|reject\w*|expired?)\b",
    re.I,
)
_PLACE = re.compile(
    r"\b(?:US|U\.S\.|USA|United States|America|American|FDA|EU|European|Europe|EMA|UK|Britain|"
    r"British|MHRA|Japan|Japanese|MHLW|PMDA|Korea|Korean|MFDS|KFDA|India|Indian|DCGI|CDSCO|"
    r"China|Chinese|NMPA|Canada|Canadian|Health Canada|Australia|Australian|TGA|New Zealand|"
    r"Medsafe|Switzerland|Swiss|Swissmedic|Israel|Israeli|Iran|anywhere|nowhere|worldwide|"
    r"any country|every country|regulators?)\b"
)


def approval_without_place(sentence: str) -> bool:
    """A sentence that says something was approved but not where ("Cartistem was approved in
    2012 for knee cartilage"): read alone, it looks like an approval everywhere."""
    if not _APPROVAL_WORD.search(sentence) or _NEGATED.search(sentence):
        return False
    return not _PLACE.search(sentence)


def _short_name(condition: Condition) -> str:
    """'Steroid-refractory acute GVHD (...)' -> 'steroid-refractory acute GVHD'; names of people
    ("Parkinson's") and acronyms keep their capitals."""
    name = re.split(r" \(|: ", condition.name)[0]
    first = name.split()[0]
    proper = "'" in first or any(ch.isupper() for ch in first[1:])
    return name if proper else name[0].lower() + name[1:]


def _item(a: Approval, kinds: dict[str, str], with_what: bool = True) -> str:
    kind = f"{kinds[a.kind]}: " if a.kind != "full" else ""
    what = f", {_what(a.what)}" if with_what and _what(a.what) else ""
    return f"{kind}{a.product}{what}"


def approval_reply(condition: Condition, lang: str | None = None) -> str:
    """The direct reply to "is it approved?": where, of what kind, and the US and EU status."""
    words = _wording(lang)
    # "is it still available in Europe?": a withdrawn or pending record is part of the reply
    reply = " ".join([_approval_reply(condition, words), *_not_active(condition, words)])
    if condition.approval_note and condition.tier.value in ("established", "randomized"):
        # where the treatment is a hospital procedure with good evidence, "no" or "nothing is
        # approved in the EU" first would read as "it does not work": the note comes first
        if reply == words["reply_none"]:
            reply = str(words.get("reply_none_plain", reply))
        reply = f"{condition.approval_note.strip()} {reply}"
    return reply


def _approval_reply(condition: Condition, words: dict[str, object]) -> str:
    kinds = words["kinds"]
    assert isinstance(kinds, dict)
    active = [a for a in condition.approvals if a.status == "active"]
    if not active:
        return str(words["reply_none"])
    places: dict[str, list[str]] = {}
    for a in active:
        places.setdefault(a.where, []).append(_item(a, kinds))
    listed = "; ".join(
        f"{_at(where, words)} ({'; '.join(items)})" for where, items in places.items()
    )
    missing = {"US", "EU"} - set(places)
    tail = {
        frozenset({"US", "EU"}): "reply_not_us_eu",
        frozenset({"US"}): "reply_not_us",
        frozenset({"EU"}): "reply_not_eu",
    }.get(frozenset(missing))
    head = str(words["reply_only" if len(places) == 1 else "reply_some"]).format(places=listed)
    return f"{head} {words[tail]}" if tail else head


def approvals_summary(
    evidence: EvidenceMap, region: str | None = None, lang: str | None = None
) -> str:
    """Across conditions: every active approval (in one region, or all), product by product."""
    words = _wording(lang)
    kinds = words["kinds"]
    assert isinstance(kinds, dict)
    shown = (region,) if region else ("US", "EU")
    by_place: dict[str, list[str]] = {}
    others: dict[str, int] = {}
    for c in evidence.conditions.values():
        for a in c.approvals:
            if a.status != "active":
                continue
            if a.where in shown:
                by_place.setdefault(a.where, []).append(
                    f"{_item(a, kinds, with_what=False)} {words.get('for', 'for')} "
                    f"{_short_name(c)} ({date_words(a.date)})"
                )
            else:
                others[a.where] = others.get(a.where, 0) + 1
    if not by_place:
        return str(words["summary_none"]).format(where=region or "anywhere")
    parts = [str(words["summary_head"])]
    for where in shown:
        if where in by_place:
            items = "; ".join(by_place[where])
            parts.append(str(words["summary_place"]).format(where=_at(where, words), items=items))
    if region is None and others:
        listed = ", ".join(f"{_at(where, words)} ({n})" for where, n in sorted(others.items()))
        parts.append(str(words["summary_elsewhere"]).format(places=listed))
    parts.append(str(words["summary_tail"]))
    return " ".join(parts)
