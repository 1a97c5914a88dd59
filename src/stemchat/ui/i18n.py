"""The pages' language: `?lang=es` in the address, switched from the sidebar on every page.

The address holds the choice, so it carries from one page to the other and survives a reload;
each page renders inside `use_language(page_language())` (app.py) and takes its own words from
the `ui` group of texts.yaml / texts.es.yaml.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from stemchat.texts import LANGUAGES, texts

# Each language named in itself (the switch is read by someone who does not read the other one)
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def ui(key: str) -> str:
    """One of the pages' own words, in the current language."""
    return str(texts()["ui"][key])


def ui_group(key: str) -> dict[str, Any]:
    """A group of the pages' own words (column headings, page names), in the current language."""
    group = texts()["ui"][key]
    assert isinstance(group, dict)
    return group


def page_language() -> str:
    """The pages' language: `?lang=es` in the address, or the sidebar switch (English first)."""
    wanted = st.query_params.get("lang", "en")
    return wanted if wanted in LANGUAGES else "en"


def page_names() -> dict[str, str]:
    """Each page's name in the sidebar, by its key, in the current language (a page's key never
    changes; a widget's format_func gets this mapping, not a lookup of the language later)."""
    return {str(k): str(v) for k, v in ui_group("pages").items()}


def language_switch() -> str:
    """The sidebar's language switch, the same widget on every page; a change goes into the
    address (`?lang=`), and the app runs again in the new language."""
    current = page_language()
    chosen = st.sidebar.radio(
        ui("language"),
        list(LANGUAGES),
        index=list(LANGUAGES).index(current),
        format_func=LANGUAGE_NAMES.__getitem__,
        horizontal=True,
        key="language",
    )
    if chosen != current:
        st.query_params["lang"] = chosen
        st.rerun()
    return current
