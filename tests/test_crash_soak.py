"""Crash safety of ingest: SIGKILL a real `stemchat ingest` at random points, then check the store.

Each round changes the corpus (edit, add, delete, revert documents), starts `stemchat ingest` as a
subprocess and kills it with SIGKILL. Two kinds of kill point:

- `event`: the parent watches Chroma's SQLite file (and its rollback journal) and kills right after
  the n-th write it sees, plus a few random milliseconds; the writes of an ingest take ~50 ms of a
  ~7 s run (most of it is loading torch and the model), so this is what lands kills inside the
  upserts, the manifest commit, the deletes and Chroma's own open-time compaction;
- `time`: a random delay within the measured duration of a whole ingest.

After every kill the store must open; every committed document must have all its chunks (by id,
in the HNSW index, and through a dense search filtered to the document); every document entry in
the manifest must be the version from before the run or the new one; and nothing outside the
manifest may come out of `HybridRetriever`. These checks run in a fresh process each time, as any
reader starts (see `check_store`). About one round in five is not killed: that ingest must repair
whatever the kills left, ending exactly where a clean ingest of the same corpus ends. At the end
one more killed run is repaired by `stemchat ingest` and compared with a clean `stemchat ingest`
in another data dir: `stemchat status --json` and the chunk ids in Chroma must be equal.

Rounds: STEMCHAT_SOAK_ROUNDS, else 16 when CI is set, else 5. The seed is printed; rerun a failure
with STEMCHAT_SOAK_SEED. `scripts/soak.sh` runs this module for 200+ rounds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from stemchat.chunking import chunk_document, content_key
from stemchat.corpus import load_corpus
from stemchat.embeddings import model_tag
from stemchat.ingest import status
from stemchat.langchain_retriever import HybridRetriever
from stemchat.retrieval import HybridSearch, lexical_index_for
from stemchat.settings import Settings
from stemchat.store import DocEntry, Manifest, open_store
from tests.conftest import REPO, TEST_CORPUS

pytestmark = pytest.mark.integration

STEMCHAT = Path(sys.executable).parent / "stemchat"
ARTIFACTS = REPO / "test-artifacts"
WORDS = (  # noqa: SIM905 - a sentence is easier to read than a list of 23 strings
    "trial patients cells marrow placebo remission safety dose months follow-up infusion "
    "registry clinic approval risk benefit relapse kidney nerve immune graft donor blood"
).split()
VOLATILE = {"location", "updated"}  # status keys that differ between two stores by nature


# Read at import: the autouse fixture in conftest.py clears STEMCHAT_* before each test runs.
ROUNDS = os.environ.get("STEMCHAT_SOAK_ROUNDS", "")
SEED = os.environ.get("STEMCHAT_SOAK_SEED", "")


def soak_rounds() -> int:
    if ROUNDS:
        return int(ROUNDS)
    return 16 if os.environ.get("CI") else 5


class _StoredVectorsOnly(Embeddings):
    """The checks query with the chunks' stored vectors; nothing may embed text here."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise AssertionError("the soak checks pass query_vector explicitly")

    def embed_query(self, text: str) -> list[float]:
        raise AssertionError("the soak checks pass query_vector explicitly")


@dataclass
class Soak:
    """One soak run: a corpus that changes every round and the store that ingest writes."""

    root: Path
    rng: random.Random
    corpus: Path = field(init=False)
    data: Path = field(init=False)
    originals: dict[str, str] = field(init=False)
    next_extra: int = 0
    full_run_s: float = 12.0  # refined by every run that completes
    max_events: int = 24  # refined likewise
    # The shortest run and fewest writes seen: most kill points are drawn below these, so a
    # round meant to be killed is killed even when its change is small and its ingest short.
    short_run_s: float = 8.0
    min_events: int = 6

    def __post_init__(self) -> None:
        self.corpus = self.root / "corpus"
        self.data = self.root / "data"
        shutil.copytree(TEST_CORPUS, self.corpus)
        self.originals = {p.stem: p.read_text() for p in self.docs_dir.glob("*.md")}

    @property
    def docs_dir(self) -> Path:
        return self.corpus / "documents"

    def settings(self, data: Path | None = None) -> Settings:
        return Settings(
            corpus_dir=self.corpus, data_dir=data or self.data, query_embeddings="torch"
        )

    def env(self, data: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
        env.update(
            STEMCHAT_DATA_DIR=str(data or self.data),
            STEMCHAT_CORPUS_DIR=str(self.corpus),
            # Ingest also exports the model to ONNX for the question path (atomic: temporary
            # folder, then rename). It would double every round's cost; the soak is about the store.
            STEMCHAT_QUERY_EMBEDDINGS="torch",
        )
        return env

    # -- the corpus changes between rounds ----------------------------------------------------
    def mutate(self) -> list[str]:
        """Edit, add, delete or revert one to three documents; returns what was done."""
        done: list[str] = []
        for _ in range(self.rng.randint(1, 3)):
            docs = sorted(p.stem for p in self.docs_dir.glob("*.md"))
            removed = sorted(set(self.originals) - set(docs))
            choice = self.rng.choices(
                ["edit", "add", "delete", "revert"],
                weights=[5, 2, 2, 2] if removed else [5, 2, 2, 1],
            )[0]
            if choice == "add" and len(docs) < 8:
                base = self.rng.choice(sorted(self.originals))
                new_id = f"extra-{self.next_extra:03d}"
                self.next_extra += 1
                text = self.originals[base].replace(f"id: {base}", f"id: {new_id}", 1)
                (self.docs_dir / f"{new_id}.md").write_text(text + self._paragraph())
                done.append(f"add {new_id}")
            elif choice == "delete" and len(docs) > 3:
                victim = self.rng.choice(docs)
                (self.docs_dir / f"{victim}.md").unlink()
                done.append(f"delete {victim}")
            elif choice == "revert":
                doc = self.rng.choice(removed or sorted(self.originals))
                (self.docs_dir / f"{doc}.md").write_text(self.originals[doc])
                done.append(f"revert {doc}")
            else:
                doc = self.rng.choice(docs)
                path = self.docs_dir / f"{doc}.md"
                path.write_text(path.read_text() + self._paragraph())
                done.append(f"edit {doc}")
        return done

    def _paragraph(self) -> str:
        """One to eight sentences: sometimes enough to add a chunk."""
        sentences = [
            " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(6, 14))).capitalize()
            + "."
            for _ in range(self.rng.randint(1, 8))
        ]
        return "\n" + " ".join(sentences) + "\n"

    def target(self) -> Manifest:
        """The manifest a complete ingest of the corpus as it is now must end with (no embedding)."""
        s = self.settings()
        tag = model_tag(s.resolved_model_path)
        manifest = Manifest(model=tag)
        for doc in load_corpus(s.corpus_dir).documents:
            chunks = chunk_document(
                doc, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap, model_tag=tag
            )
            key = content_key(doc, s.chunk_size, s.chunk_overlap, tag)
            manifest.documents[doc.id] = DocEntry(key=key, chunks=len(chunks))
        return manifest

    # -- one killed ingest ---------------------------------------------------------------------
    def run_and_kill(self, kill: bool = True) -> dict[str, Any]:
        """Start `stemchat ingest`, SIGKILL it at a random point (unless kill=False); what happened."""
        mode = ("event" if self.rng.random() < 0.75 else "time") if kill else "none"
        wide = self.rng.random() < 0.25  # now and then anywhere in a long run
        nth = self.rng.randint(1, self.max_events if wide else self.min_events)
        extra = self.rng.uniform(0.0, 0.004)
        deadline = self.rng.uniform(0.0, self.full_run_s if wide else self.short_run_s)
        sqlite = self.data / "chroma" / "chroma.sqlite3"
        journal = sqlite.with_name("chroma.sqlite3-journal")
        wal = sqlite.with_name("chroma.sqlite3-wal")

        def signature() -> tuple[object, ...]:
            out: list[object] = []
            for path in (sqlite, journal, wal):
                try:
                    st = path.stat()
                    out.append((st.st_mtime_ns, st.st_size))
                except FileNotFoundError:
                    out.append(None)
            return tuple(out)

        last = signature()
        events = 0
        start = time.monotonic()
        proc = subprocess.Popen(
            # --prune: the corpus here loses documents on purpose; the guard against a wrong
            # corpus folder wiping the index is tested in test_review_defects, not here
            [str(STEMCHAT), "ingest", "--prune"],
            env=self.env(),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        killed_at: float | None = None
        while proc.poll() is None:
            now = time.monotonic() - start
            if mode == "time" and now >= deadline:
                killed_at = now
                break
            sig = signature()
            if sig != last:
                last = sig
                events += 1
                if mode == "event" and events >= nth:
                    time.sleep(extra)
                    killed_at = time.monotonic() - start
                    break
            time.sleep(0.001)
        if killed_at is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        elapsed = time.monotonic() - start
        completed = proc.returncode == 0
        if completed:
            self.full_run_s = max(self.full_run_s * 0.8, elapsed)
            self.max_events = max(8, events + 2)
            self.short_run_s = min(self.short_run_s, 0.9 * elapsed)
            self.min_events = max(2, min(self.min_events, events))
        elif proc.returncode != -signal.SIGKILL:
            raise AssertionError(f"ingest failed on its own (exit {proc.returncode}):\n{err}")
        return {
            "mode": mode,
            "target": nth if mode == "event" else round(deadline, 3),
            "events": events,
            "killed_at": None if completed else round(killed_at or elapsed, 3),
            "completed": completed,
            "elapsed": round(elapsed, 2),
            "stdout": out.strip(),
        }


def check_store(settings: Settings, before: Manifest, target: Manifest) -> dict[str, Any]:
    """The invariants that must hold after any kill; returns what the store holds.

    Runs in a fresh process (`python -m tests.test_crash_soak check`), the way every reader starts:
    an embedded Chroma client keeps per-path state inside its process that another process's
    writes do not update, so a client kept open across an ingest is no judge of what is on disk.
    """
    store = open_store(settings)  # raises StoreError, with the reason, if it cannot open
    manifest = store.read_manifest()
    # Every committed entry is the document's version from before this run or the new one.
    for doc_id, entry in manifest.documents.items():
        allowed = {e.key for e in (before.documents.get(doc_id), target.documents.get(doc_id)) if e}
        assert entry.key in allowed, f"{doc_id}: committed key {entry.key} is neither old nor new"
    owned = manifest.all_chunk_ids()
    rows: dict[str, tuple[str, dict[str, Any], list[float]]] = {}
    if owned:
        got = store.collection.get(ids=owned, include=["documents", "metadatas", "embeddings"])
        rows = {
            i: (d, dict(m), [float(x) for x in e])
            for i, d, m, e in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }
    missing = sorted(set(owned) - set(rows))
    assert not missing, f"committed chunks missing from the store: {missing}"
    count = store.count()
    stored = store.all_ids()
    assert count == len(stored), f"count() {count} != {len(stored)} ids listed"
    for doc_id, entry in manifest.documents.items():
        ids = entry.chunk_ids(doc_id)
        for cid in ids:
            text, meta, _ = rows[cid]
            assert text, f"{cid}: empty text"
            assert meta["doc_id"] == doc_id and meta["doc_key"] == entry.key, (cid, meta)
        # Dense search filtered to this version of the document finds all of it (metadata and
        # HNSW must agree; a drift between them is where Chroma says "Error finding id").
        only = {"$and": [{"doc_id": doc_id}, {"doc_key": entry.key}]}
        found = {h.id for h in store.query(rows[ids[0]][2], len(ids), only)}
        assert set(ids) <= found, f"{doc_id}: dense search misses {sorted(set(ids) - found)}"
    # Every committed chunk is in the vector index: its own vector finds it.
    for cid in owned:
        hits = store.query(rows[cid][2], min(count, 20))
        assert cid in {h.id for h in hits}, f"{cid}: not found by its own vector"
    # Nothing outside the manifest comes out of retrieval, even asked with its own words and vector.
    leftovers = sorted(set(stored) - set(owned))
    if manifest.documents:
        searcher = HybridSearch(
            store=store,
            embeddings=_StoredVectorsOnly(),
            lexical=lexical_index_for(store, manifest, settings.data_dir),
            manifest=manifest,
            k=20,
        )
        retriever = HybridRetriever(searcher=searcher)
        probes = [(cid, rows[cid][0], rows[cid][2]) for cid in owned[:: max(1, len(owned) // 6)]]
        if leftovers:
            extra = store.collection.get(ids=leftovers, include=["documents", "embeddings"])
            probes += [
                (i, d, [float(x) for x in e])
                for i, d, e in zip(
                    extra["ids"], extra["documents"], extra["embeddings"], strict=True
                )
            ]
        for cid, text, vector in probes:
            shown = [p.chunk_id for p in retriever.search(text or "", query_vector=vector, k=20)]
            assert all(manifest.owns(c) for c in shown), f"uncommitted chunk retrieved: {shown}"
            if manifest.owns(cid):
                assert cid in shown, f"{cid}: committed but not retrieved by its own text"
    return {
        "version": manifest.version,
        "documents": len(manifest.documents),
        "leftovers": len(leftovers),
        "ids": sorted(stored),
        "manifest": manifest.to_json(),
        "status": status(settings, store),
    }


class Checker:
    """A fresh process, started early so its imports overlap the ingest; checks once when told."""

    def __init__(self, soak: Soak) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.test_crash_soak", "check"],
            cwd=REPO,
            env=soak.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, before: Manifest, target: Manifest) -> dict[str, Any]:
        request = json.dumps({"before": before.to_json(), "target": target.to_json()})
        out, err = self.proc.communicate(request + "\n", timeout=300)
        if self.proc.returncode != 0:
            raise AssertionError(f"store check failed:\n{err[-4000:]}")
        return dict(json.loads(out.strip().splitlines()[-1]))


def classify(facts: dict[str, Any], run: dict[str, Any], before: Manifest, target: Manifest) -> str:
    """Where the kill landed, judged from the store it left."""
    if run["completed"]:
        return "not killed: ran to the end"
    if facts["version"] == target.version:
        return "after commit, leftovers to delete" if facts["leftovers"] else "after the writes"
    if facts["version"] == before.version:
        return "before commit, chunks written" if facts["leftovers"] else "before any commit"
    return "between commits"


def comparable(st: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in st.items() if k not in VOLATILE}


def assert_exact(facts: dict[str, Any], target: Manifest) -> None:
    """A run that ended: exactly the documents and chunks of a clean ingest, nothing pending."""
    assert facts["version"] == target.version, "the ingest ended on another corpus version"
    assert facts["ids"] == sorted(target.all_chunk_ids()), "stored chunk ids differ"
    st = facts["status"]
    assert st["pending"] == 0 and st["stored_chunks"] == st["chunks"] == target.chunk_count, st


def cli(soak: Soak, data: Path, *args: str) -> str:
    out = subprocess.run(
        [str(STEMCHAT), *args],
        env=soak.env(data),
        cwd=soak.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"stemchat {' '.join(args)}: {out.stderr[-2000:]}"
    return out.stdout


def fresh_ids(soak: Soak, data: Path) -> list[str]:
    """The chunk ids in a store, listed by a fresh process."""
    code = (
        "import json, stemchat; from stemchat.settings import load_settings; "
        "from stemchat.store import open_store; "
        "print(json.dumps(sorted(open_store(load_settings()).all_ids())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=soak.env(data),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return list(json.loads(out.stdout))


def run_soak(root: Path, rounds: int, seed: int) -> dict[str, Any]:
    """The soak itself; raises on the first broken invariant, keeping the store for a post-mortem."""
    print(f"\ncrash soak: {rounds} rounds, seed {seed} (rerun with STEMCHAT_SOAK_SEED={seed})")
    soak = Soak(root, random.Random(seed))
    started = time.monotonic()
    landed: Counter[str] = Counter()
    before = Manifest()
    for r in range(1, rounds + 2):
        final = r == rounds + 1  # one more killed run, repaired by the real commands below
        changes = soak.mutate() if r > 1 else ["initial corpus"]
        target = soak.target()
        checker = Checker(soak)
        run: dict[str, Any] = {}
        try:
            run = soak.run_and_kill(kill=final or soak.rng.random() >= 0.2)
            facts = checker.run(before, target)
            if run["completed"]:
                assert_exact(facts, target)
            where = classify(facts, run, before, target)
            if not final:
                landed[where] += 1
            print(
                f"round {r:3d}: {'; '.join(changes)[:60]:<60} {run['mode']:<5} "
                f"at {run['killed_at'] or run['elapsed']:>6}s (write {run['events']:>2}) -> {where}; "
                f"{facts['documents']} docs, {facts['leftovers']} leftover chunks",
                flush=True,
            )
            before = Manifest.from_json(facts["manifest"])
            if final:
                # The next `stemchat ingest` repairs; a clean one in another data dir must agree.
                clean = root / "clean"
                runs = [
                    subprocess.Popen(
                        [str(STEMCHAT), "ingest", "--prune"],
                        env=soak.env(data),
                        cwd=soak.root,
                        stdout=subprocess.DEVNULL,
                    )
                    for data in (soak.data, clean)
                ]
                assert [p.wait(timeout=300) for p in runs] == [0, 0]
                got = json.loads(cli(soak, soak.data, "status", "--json"))
                want = json.loads(cli(soak, clean, "status", "--json"))
                assert comparable(got) == comparable(want), (got, want)
                assert got["pending"] == 0 and got["stored_chunks"] == got["chunks"]
                ids = fresh_ids(soak, soak.data)
                assert ids == fresh_ids(soak, clean) == sorted(target.all_chunk_ids())
        except BaseException:
            checker.proc.kill()
            keep = ARTIFACTS / f"crash-soak-seed{seed}-round{r}"
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(soak.root, keep, ignore=shutil.ignore_patterns("*.lock"))
            print(f"round {r} failed (seed {seed}); store and corpus kept in {keep}; run: {run}")
            raise
    return {
        "seed": seed,
        "rounds": rounds,
        "kills": rounds - landed["not killed: ran to the end"],
        "landed": dict(landed),
        "failures": 0,
        "wall_s": round(time.monotonic() - started, 1),
    }


def test_sigkill_ingest_soak(tmp_path: Path) -> None:
    rounds = soak_rounds()
    seed = int(SEED or random.SystemRandom().randrange(10**9))
    summary = run_soak(tmp_path / "soak", rounds, seed)
    print("crash soak summary:", json.dumps(summary))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crash-soak-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    assert summary["kills"] >= rounds // 2, "too few runs were killed to mean anything"


def test_kill_points_are_named() -> None:
    """The classifier names each store shape a kill can leave (keeps the soak's log honest)."""
    old = Manifest(documents={"a": DocEntry("k1", 1)})
    new = Manifest(documents={"a": DocEntry("k2", 1)})
    run = {"completed": False}
    assert classify({"version": old.version, "leftovers": 0}, run, old, new) == "before any commit"
    assert classify({"version": old.version, "leftovers": 1}, run, old, new).startswith("before")
    assert classify({"version": new.version, "leftovers": 1}, run, old, new).startswith("after c")
    assert classify({"version": "x", "leftovers": 0}, run, old, new) == "between commits"


def _check_main() -> int:
    """`python -m tests.test_crash_soak check`: settings from the environment, manifests on stdin."""
    from stemchat.settings import load_settings

    request = json.loads(sys.stdin.readline())
    facts = check_store(
        load_settings(),
        Manifest.from_json(request["before"]),
        Manifest.from_json(request["target"]),
    )
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        sys.exit(_check_main())
    sys.exit("usage: python -m tests.test_crash_soak check  (the soak runs under pytest)")


WRITER = """
import hashlib, random, stemchat
from stemchat.settings import load_settings
from stemchat.store import open_store
store = open_store(load_settings())
manifest = store.read_manifest()
doc_id, entry = sorted(manifest.documents.items())[0]
old = entry.chunk_ids(doc_id)
entry.key = hashlib.sha256(entry.key.encode()).hexdigest()[:16]
rng = random.Random(7)
vectors = [[rng.uniform(-1, 1) for _ in range(384)] for _ in old]
new = entry.chunk_ids(doc_id)
store.upsert(new, vectors, ["rewritten"] * len(new),
             [{"doc_id": doc_id, "doc_key": entry.key} for _ in new])
store.write_manifest(manifest)
store.delete(old)
print(doc_id)
"""


def test_reader_open_across_another_process_writing(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    """The app keeps its store open while `stemchat ingest` runs elsewhere.

    An embedded client's state goes stale when another process writes: Chroma then raises
    "Error finding id" or serves old chunks. Reads must not fail (the store reopens its client
    and retries), and after `reopen()` (a new manifest version seen) they are exact.
    """
    from stemchat.ingest import ingest

    corpus = shutil.copytree(TEST_CORPUS, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data")
    ingest(settings, embeddings)
    reader = open_store(settings)
    other = open_store(settings)  # a second client in the same process shares Chroma's state
    vector = embeddings.embed_query("lupus remission")
    assert reader.query(vector, 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(STEMCHAT_DATA_DIR=str(settings.data_dir), STEMCHAT_CORPUS_DIR=str(corpus))
    for _ in range(3):
        version = reader.read_manifest().version
        out = subprocess.run(
            [sys.executable, "-c", WRITER], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        doc_id = out.stdout.strip()
        # Without a reopen: no error, whatever the client's view (the retry absorbs the errors).
        reader.query(vector, 5, {"doc_id": doc_id})
        reader.get(reader.read_manifest().all_chunk_ids())
        manifest = reader.read_manifest()
        assert manifest.version != version  # what a long-lived reader watches
        reader.reopen()
        owned = manifest.all_chunk_ids()
        assert {h.id for h in reader.get(owned)} == set(owned)
        assert sorted(reader.all_ids()) == sorted(owned) and reader.count() == len(owned)
        hits = reader.query(vector, len(owned), {"doc_id": doc_id})
        assert {h.id for h in hits} == set(manifest.documents[doc_id].chunk_ids(doc_id))
    other.reopen()
    assert other.count() == len(owned)
