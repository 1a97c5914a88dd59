"""stemchat's Streamlit app: page layout only; everything shown comes from the library."""

from __future__ import annotations

import streamlit as st

from stemchat.ui import chat, evidence_map, maintainer, resources

st.set_page_config(page_title="stemchat: stem cell evidence", page_icon=":material/biotech:")

PAGES = {"Chat": chat.page, "Evidence map": evidence_map.page}
if resources.settings().maintainer_page:
    PAGES["Maintainer"] = maintainer.page
choice = st.sidebar.radio("Page", list(PAGES), key="page")
PAGES[choice]()
