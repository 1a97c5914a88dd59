"""stemchat's Streamlit app: page layout only; everything shown comes from the library."""

from __future__ import annotations

import streamlit as st

from stemchat.texts import use_language
from stemchat.ui import chat, evidence_map, i18n, maintainer, resources

PAGES = {"Chat": chat.page, "Evidence map": evidence_map.page}
if resources.settings().maintainer_page:
    PAGES["Maintainer"] = maintainer.page
with use_language(i18n.page_language()):  # every page, and the switch, in the chosen language
    st.set_page_config(page_title=i18n.ui("page_title"), page_icon=":material/biotech:")
    names = i18n.page_names()
    choice = st.sidebar.radio(
        i18n.ui("page"), list(PAGES), key="page", format_func=names.__getitem__
    )
    i18n.language_switch()
    PAGES[choice]()
