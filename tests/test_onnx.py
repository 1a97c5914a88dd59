"""The ONNX query path: same vectors as sentence-transformers, re-export on a new model, no torch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from stemchat.beir import evaluate_retrieval
from stemchat.embeddings import ensure_onnx, make_embeddings, model_tag
from stemchat.onnx_embeddings import OnnxEmbeddings, is_current, onnx_dir
from stemchat.settings import Settings
from tests.conftest import DATA, fresh_process

pytestmark = pytest.mark.integration

SAMPLE = DATA / "medquad-sample"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("onnx") / "data")
    assert ensure_onnx(settings)
    return settings


def test_export_manifest_records_the_source_model(exported: Settings) -> None:
    folder = onnx_dir(exported.data_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model_tag"] == model_tag(exported.resolved_model_path)
    assert len(manifest["source_sha256"]) == 64 and manifest["precision"] == "fp32"
    assert isinstance(make_embeddings(exported, "query"), OnnxEmbeddings)
    # a different model fingerprint makes the export stale, and ensure_onnx exports again
    manifest["model_tag"] = "some-other-model"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert not is_current(
        exported.resolved_model_path, folder, model_tag(exported.resolved_model_path)
    )
    assert not isinstance(make_embeddings(exported, "query"), OnnxEmbeddings)
    assert ensure_onnx(exported)
    assert isinstance(make_embeddings(exported, "query"), OnnxEmbeddings)


def test_vectors_match_sentence_transformers_on_real_passages(
    exported: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in (SAMPLE / "corpus.jsonl").open()]
    texts = [f"{r['title']}\n\n{r['text']}" for r in rows]
    assert len(texts) >= 200
    fast = np.array(make_embeddings(exported, "query").embed_documents(texts))
    slow = np.array(embeddings.embed_documents(texts))
    cosine = (fast * slow).sum(axis=1)
    assert cosine.min() >= 0.9999


def test_retrieval_quality_is_unchanged(exported: Settings, tmp_path: Path) -> None:
    onnx = evaluate_retrieval(exported, SAMPLE, ["dense", "hybrid"])
    torch_path = evaluate_retrieval(
        exported.model_copy(update={"query_embeddings": "torch"}), SAMPLE, ["dense", "hybrid"]
    )
    for method in ("dense", "hybrid"):
        assert (
            abs(onnx["methods"][method]["ndcg@10"] - torch_path["methods"][method]["ndcg@10"])
            <= 0.002
        )


LOADED = "print('LOADED', 'torch' in sys.modules, 'sentence_transformers' in sys.modules, file=sys.stderr)\n"


def _fresh_process(shipped, code: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run `code` in a new interpreter on the indexed shipped store; it reports what it loaded."""
    assert ensure_onnx(shipped)
    proc = fresh_process(shipped, code + LOADED)
    assert "LOADED False False" in proc.stderr
    return proc


def test_no_torch_on_the_question_path(shipped) -> None:  # type: ignore[no-untyped-def]
    proc = _fresh_process(
        shipped,
        "from stemchat.cli import main\n"
        "assert main(['ask', '--json', 'Do stem cells help lupus?', 'is it approved for that?']) == 0\n",
    )
    turns = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [t["evidence"][0]["tier"] for t in turns] == ["early", "early"]


def test_no_torch_for_the_chat_pages_first_answer(shipped) -> None:  # type: ignore[no-untyped-def]
    """The Streamlit app's engine, first answer included, in a fresh process: no torch."""
    proc = _fresh_process(
        shipped,
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('app.py', default_timeout=240).run()\n"
        "at.chat_input[0].set_value('Is there evidence for stem cells in ALS?').run()\n"
        "assert not at.exception, at.exception\n"
        "text = ' '.join(m.value for m in at.markdown)\n"
        "print('ANSWERED', 'Evidence strength' in text, file=sys.stderr)\n",
    )
    assert "ANSWERED True" in proc.stderr
