"""Compare two offline language detectors on stemchat's labelled patient messages.

    python scripts/language_study.py [--set eval/language.yaml] [--repeat 20] [--json]

Needs both detectors in the running interpreter (stemchat ships only the chosen one):

    pip install py3langid==0.4.0 lingua-language-detector==2.1.1

(lingua-language-detector 2.2.0 requires Python >= 3.12; stemchat is pinned to 3.11, so 2.1.1,
the newest release that installs here, stands in for it.)

For each detector it reports, on eval/language.yaml:
- raw: the detector alone, restricted to English and Spanish (a message it cannot call, e.g.
  lingua's None, keeps the previous language);
- stemchat: the detector inside stemchat.language.decide (words first, the detector when the
  words do not settle it, the previous language for a message too short to tell);
- ms per call (median and 95th percentile over the set, warm), and the import time (a fresh
  interpreter: import, load or build restricted to English and Spanish, first call).
The words alone (no detector) are the baseline.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _language_module() -> Any:
    """stemchat/language.py on its own (it imports nothing from stemchat), so that the study
    runs in a small environment with both detectors and without the whole package."""
    path = ROOT / "src" / "stemchat" / "language.py"
    spec = importlib.util.spec_from_file_location("stemchat_language", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


language = _language_module()
DEFAULT, LANGS, decide = language.DEFAULT, language.LANGS, language.decide
Detector = Callable[[str], tuple[str, float]]

IMPORTS = {
    "py3langid==0.4.0": (
        "from py3langid.langid import MODEL_FILE, LanguageIdentifier\n"
        "ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)\n"
        "ident.set_languages(['en', 'es'])\n"
        "ident.classify('las células madre sirven para la ELA')\n"
    ),
    "lingua-language-detector (low accuracy)": (
        "from lingua import Language, LanguageDetectorBuilder\n"
        "det = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)"
        ".with_low_accuracy_mode().build()\n"
        "det.compute_language_confidence_values('las células madre sirven para la ELA')\n"
    ),
}


def py3langid_detector() -> Detector:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGS))

    def detect(text: str) -> tuple[str, float]:
        lang, conf = ident.classify(text)
        return str(lang), float(conf)

    return detect


def lingua_detector() -> Detector:
    from lingua import Language, LanguageDetectorBuilder

    det = (
        LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)
        .with_low_accuracy_mode()
        .build()
    )
    codes = {Language.ENGLISH: "en", Language.SPANISH: "es"}

    def detect(text: str) -> tuple[str, float]:
        values = det.compute_language_confidence_values(text)
        if not values or values[0].value <= 0.0:
            return "und", 0.0
        return codes[values[0].language], float(values[0].value)

    return detect


def import_ms(code: str, runs: int = 3) -> float:
    """Median wall time of a fresh interpreter running `code`, less an empty interpreter's."""

    def once(body: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", body], check=True)
        return (time.perf_counter() - started) * 1000

    empty = statistics.median(once("pass") for _ in range(runs))
    return statistics.median(once(code) for _ in range(runs)) - empty


def evaluate(
    cases: list[dict[str, Any]], predict: Callable[[str, str | None], str]
) -> tuple[float, list[dict[str, Any]]]:
    wrong = []
    for case in cases:
        got = predict(case["text"], case.get("previous"))
        if got != case["lang"]:
            wrong.append({**case, "got": got})
    return 1 - len(wrong) / len(cases), wrong


def timing(cases: list[dict[str, Any]], call: Callable[[str], object], repeat: int) -> dict:
    for case in cases:  # warm
        call(case["text"])
    times = []
    for _ in range(repeat):
        for case in cases:
            started = time.perf_counter()
            call(case["text"])
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 4),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "language.yaml")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = yaml.safe_load(args.set.read_text(encoding="utf-8"))["cases"]

    report: dict[str, Any] = {"messages": len(cases), "options": {}}
    words_acc, words_wrong = evaluate(cases, lambda t, p: decide(t, p, None))
    report["options"]["words alone (no detector)"] = {
        "stemchat_accuracy": round(words_acc, 4),
        "stemchat_wrong": words_wrong,
        **timing(cases, lambda t: decide(t, None, None), args.repeat),
        "import_ms": 0.0,
    }
    for (name, code), build in zip(
        IMPORTS.items(), (py3langid_detector, lingua_detector), strict=True
    ):
        detector = build()

        def raw(text: str, previous: str | None, detector: Detector = detector) -> str:
            lang, _ = detector(text)
            return lang if lang in LANGS else (previous or DEFAULT)

        raw_acc, raw_wrong = evaluate(cases, raw)
        acc, wrong = evaluate(cases, lambda t, p, d=detector: decide(t, p, d))
        raw_time = timing(cases, detector, args.repeat)
        report["options"][name] = {
            "raw_accuracy": round(raw_acc, 4),
            "raw_wrong": len(raw_wrong),
            "stemchat_accuracy": round(acc, 4),
            "stemchat_wrong": wrong,
            "raw_median_ms": raw_time["median_ms"],
            "raw_p95_ms": raw_time["p95_ms"],
            **timing(cases, lambda t, d=detector: decide(t, None, d), args.repeat),
            "import_ms": round(import_ms(code), 1),
        }

    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"{report['messages']} labelled messages ({args.set.name})\n")
    header = (
        f"{'option':40} {'raw acc':>7} {'raw ms':>7} {'stemchat acc':>12} {'ms/call':>8}"
        f" {'p95 ms':>7} {'import ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, row in report["options"].items():
        raw_acc = f"{row['raw_accuracy']:.3f}" if "raw_accuracy" in row else "-"
        raw_ms = f"{row['raw_median_ms']:.3f}" if "raw_median_ms" in row else "-"
        print(
            f"{name:40} {raw_acc:>7} {raw_ms:>7} {row['stemchat_accuracy']:>12.3f}"
            f" {row['median_ms']:>8.3f} {row['p95_ms']:>7.3f} {row['import_ms']:>9.0f}"
        )
    print("\nraw: the detector alone; stemchat: inside stemchat.language.decide (ms per message)")
    for name, row in report["options"].items():
        if row["stemchat_wrong"]:
            print(f"\n{name}: wrong inside stemchat")
            for case in row["stemchat_wrong"]:
                print(f"  {case['text']!r}: expected {case['lang']}, got {case['got']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
