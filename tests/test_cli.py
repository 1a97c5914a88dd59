"""The `stemchat` command line as a user runs it: real processes, real store, JSON contracts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_corpus

pytestmark = pytest.mark.integration

CONTRACT_KEYS = {"question", "answer", "evidence", "citations", "safety", "disclaimer"}
EVIDENCE_KEYS = {"condition", "condition_name", "tier", "tier_label", "tier_note", "as_of"}
CITATION_KEYS = {"n", "doc_id", "chunk_id", "title", "url", "passage"}


def run(
    args: list[str], env_extra: dict[str, str], cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "stemchat.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cli")
    corpus = copy_corpus(tmp / "corpus")
    return {"STEMCHAT_CORPUS_DIR": str(corpus), "STEMCHAT_DATA_DIR": str(tmp / "data")}


def test_ask_json_ingests_first_then_answers_each_turn(cli_env: dict[str, str]) -> None:
    proc = run(
        [
            "ask",
            "--json",
            "Can stem cells treat lupus?",
            "is it approved for that?",
            "and for Lou Gehrig's disease?",
        ],
        cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ingesting first" in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 3
    for turn in lines:
        assert set(turn) >= CONTRACT_KEYS
        assert turn["safety"] == "none"
        assert turn["disclaimer"] and turn["disclaimer"] in turn["answer"]
        assert "Evidence strength" in turn["answer"]
        for ev in turn["evidence"]:
            assert set(ev) >= EVIDENCE_KEYS
        for cit in turn["citations"]:
            assert set(cit) >= CITATION_KEYS
            assert f"[{cit['n']}]" in turn["answer"]
    assert [e["condition"] for e in lines[0]["evidence"]] == ["lupus"]
    assert lines[0]["evidence"][0]["tier"] == "early"
    assert [e["condition"] for e in lines[1]["evidence"]] == ["lupus"]
    assert [e["condition"] for e in lines[2]["evidence"]] == ["als"]
    assert lines[2]["evidence"][0]["tier"] == "negative"


def test_status_json_and_check(cli_env: dict[str, str]) -> None:
    run(["ingest"], cli_env)
    st = json.loads(run(["status", "--json"], cli_env).stdout)
    assert st["documents"] == 4 and st["chunks"] > 4 and st["pending"] == 0
    assert st["mode"] == "embedded" and st["location"].endswith("chroma")
    ok = run(["check"], cli_env)
    assert ok.returncode == 0 and "0 errors" in ok.stdout
    again = run(["ingest", "--if-stale"], cli_env)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_check_exit_code_on_errors(tmp_path: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    (corpus / "documents" / "broken.md").write_text("---\nid: [\n---\n")
    proc = run(
        ["check"], {"STEMCHAT_CORPUS_DIR": str(corpus), "STEMCHAT_DATA_DIR": str(tmp_path / "d")}
    )
    assert proc.returncode == 1
    assert "broken.md:" in proc.stdout and "malformed YAML" in proc.stdout


def test_corpus_report_flags_a_condition_on_a_single_source(tmp_path: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    env = {"STEMCHAT_CORPUS_DIR": str(corpus), "STEMCHAT_DATA_DIR": str(tmp_path / "d")}
    proc = run(["corpus", "report", "--json"], env)
    assert proc.returncode == 1  # the test corpus has one source per condition
    rows = json.loads(proc.stdout)["by_condition"]
    assert rows["lupus"]["document_ids"] == ["overview-lupus"]
    assert rows["lupus"]["problems"] == ["1 source(s) (give it at least 2)"]
    text = run(["corpus", "report"], env).stdout
    line = next(ln for ln in text.splitlines() if ln.startswith("lupus "))
    assert "early" in line and "give it at least 2" in line


def test_bad_setting_is_one_line_without_traceback(tmp_path: Path) -> None:
    proc = run(
        ["status"], {"STEMCHAT_CHROMA_URL": "localhost:8000", "STEMCHAT_DATA_DIR": str(tmp_path)}
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "STEMCHAT_CHROMA_URL" in proc.stderr


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    proc = run(
        ["status"],
        {
            "STEMCHAT_CHROMA_URL": "http://127.0.0.1:9",
            "STEMCHAT_DATA_DIR": str(tmp_path),
            "STEMCHAT_CORPUS_DIR": str(tmp_path),
        },
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "stemchat: error:" in proc.stderr


def test_feedback_export_csv(tmp_path: Path) -> None:
    from stemchat.feedback import feedback_store

    store = feedback_store(tmp_path / "data")
    store.add(
        rating=0,
        question="q, with comma",
        answer="a\nmultiline",
        corpus_version="v1",
        comment="unclear",
    )
    out = tmp_path / "fb.csv"
    proc = run(
        ["feedback", "export", "--out", str(out)], {"STEMCHAT_DATA_DIR": str(tmp_path / "data")}
    )
    assert proc.returncode == 0, proc.stderr
    import csv

    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1
    assert rows[0]["question"] == "q, with comma" and rows[0]["answer"] == "a\nmultiline"
    assert (
        rows[0]["rating"] == "0"
        and rows[0]["comment"] == "unclear"
        and rows[0]["corpus_version"] == "v1"
    )
