"""The maintainer page (read-only): documents, review state, reading grade, check results.

Shown only when `STEMCHAT_MAINTAINER_PAGE` is on (`make run` on localhost): it lists file paths
and reviewers, which a patient deployment does not publish.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from stemchat.corpus.report import corpus_report
from stemchat.markup import escape
from stemchat.ui import resources


def page() -> None:
    st.title("Maintainer view")
    st.caption(
        "Read-only. Edit the files in corpus/ and run `stemchat check` and `stemchat ingest`."
    )
    settings = resources.settings()
    report = corpus_report(settings.corpus_dir, max_age_days=settings.review_max_age_days)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Documents", report["documents"])
    c2.metric("Conditions", report["conditions"])
    c3.metric("Mean reading grade", report["mean_grade"])
    c4.metric("Check errors", len(report["errors"]))
    rows = pd.DataFrame(
        [
            {
                "document": r["id"],
                "kind": r["kind"],
                "conditions": ", ".join(r["conditions"]),
                "last reviewed": r["last_reviewed"],
                "stale": "STALE" if r["stale"] else "",
                "grade": r["grade"],
                "words": r["words"],
                "problems": "; ".join(r["problems"]),
            }
            for r in report["rows"]
        ]
    )
    st.dataframe(rows, hide_index=True, width="stretch")
    st.subheader("stemchat check")
    if not report["errors"] and not report["warnings"]:
        st.success("No errors or warnings.")
    for line in report["errors"]:
        st.error(escape(line))
    for line in report["warnings"]:
        st.warning(escape(line))
