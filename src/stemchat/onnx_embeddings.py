"""The fast query path: all-MiniLM-L6-v2 exported once to ONNX (fp32), run with onnxruntime.

Same vectors as sentence-transformers (mean pooling over the attention mask, L2 normalized),
without importing torch at question time. The export needs torch and the `onnx` package; it runs
once, from the local weights, during ingest (or on first use) and records the source model's
hash so a changed model is exported again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length in sentence-transformers
_EXPORT_LOCK = threading.Lock()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def onnx_dir(data_dir: Path) -> Path:
    return data_dir / "onnx"


def is_current(model_path: Path, out_dir: Path, tag: str) -> bool:
    """Is there an export of exactly this model (by its fingerprint) in out_dir?"""
    manifest = out_dir / "manifest.json"
    if not (manifest.exists() and (out_dir / "model.onnx").exists()):
        return False
    try:
        return bool(json.loads(manifest.read_text()).get("model_tag") == tag)
    except (OSError, ValueError):
        return False


def export(model_path: Path, out_dir: Path, tag: str) -> Path:
    """Export the transformer to ONNX (fp32) with dynamic batch and length; atomic."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    with _EXPORT_LOCK:
        if is_current(model_path, out_dir, tag):
            return out_dir
        # a folder of this process's own: two processes exporting at once never share one
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{out_dir.name}.tmp-", dir=out_dir.parent))
        model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)

        class Encoder(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                return out.last_hidden_state

        sample = tokenizer(["export sample"], return_tensors="pt")
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about constants; equivalence is tested
            torch.onnx.export(
                Encoder(model),
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(tmp / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    n: axes
                    for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
                },
                opset_version=17,
                dynamo=False,
            )
        shutil.copy2(model_path / "tokenizer.json", tmp / "tokenizer.json")
        weights = model_path / "model.safetensors"
        (tmp / "manifest.json").write_text(
            json.dumps(
                {
                    "model_tag": tag,
                    "source": str(model_path),
                    "source_sha256": _sha256(weights) if weights.exists() else "",
                    "precision": "fp32",
                    "max_tokens": MAX_TOKENS,
                },
                indent=2,
            )
        )
        if is_current(model_path, out_dir, tag):  # another process finished first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
            return out_dir
        aside = out_dir.with_name(f"{out_dir.name}.old-{os.getpid()}")
        with contextlib.suppress(OSError):
            out_dir.rename(aside)
        try:
            tmp.rename(out_dir)
        except OSError:  # another process renamed its export in between
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
        return out_dir


class OnnxEmbeddings(Embeddings):
    """Query and document embeddings through onnxruntime + tokenizers; no torch import."""

    def __init__(self, folder: Path, batch_size: int = 32) -> None:
        self.folder = folder
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        session, tokenizer = _load(str(self.folder))
        out: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            enc = tokenizer.encode_batch([t or " " for t in texts[start : start + self.batch_size]])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            types = np.array([e.type_ids for e in enc], dtype=np.int64)
            (hidden,) = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
            )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out.append(pooled / np.clip(norms, 1e-12, None))
        return np.concatenate(out).astype(np.float32).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


_LOAD_LOCK = threading.Lock()


def _load(folder: str):  # type: ignore[no-untyped-def]
    """The session and tokenizer, loaded once per folder even when two threads ask at once."""
    with _LOAD_LOCK:
        return _load_once(folder)


def warm_up(folder: Path) -> threading.Thread:
    """Load the session in a background thread while the caller opens the store.

    onnxruntime builds its session outside the GIL, so this overlaps with the imports and the
    store opening that a fresh process does anyway; the first question then finds it ready.
    """
    thread = threading.Thread(target=_load, args=(str(folder),), name="onnx-warm-up", daemon=True)
    thread.start()
    return thread


@lru_cache(maxsize=2)
def _load_once(folder: str):  # type: ignore[no-untyped-def]
    import onnxruntime as ort
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        str(Path(folder) / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
    )
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return session, tokenizer
