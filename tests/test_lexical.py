"""The BM25 index on disk: atomic saves, also when two writers save the same version at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from stemchat.lexical import LexicalIndex

pytestmark = pytest.mark.unit

IDS = ["a::k::000", "b::k::000", "c::k::000"]
TEXTS = [
    "mesenchymal stem cells for lupus nephritis",
    "the NurOwn trial in ALS missed its primary endpoint",
    "remestemcel-L for children with steroid-refractory GVHD",
]


def test_concurrent_saves_of_one_version_leave_one_loadable_index(tmp_path: Path) -> None:
    folder = tmp_path / "bm25" / "stemchat-v1"
    errors: list[BaseException] = []

    def save() -> None:
        try:
            LexicalIndex.build(IDS, TEXTS).save(folder)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in folder.parent.iterdir()) == ["stemchat-v1"]  # no leftovers
    hits = LexicalIndex.load(folder).search("ALS trial endpoint", 2)
    assert hits[0][0] == "b::k::000"


def test_a_broken_saved_index_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / "junk").write_text("half a save")
    LexicalIndex.build(IDS, TEXTS).save(folder)
    assert not (folder / "junk").exists()
    assert LexicalIndex.load(folder).search("GVHD children", 1)[0][0] == "c::k::000"
