"""The evaluation report: Markdown tables, the failures, and two PNG charts (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROWS = [
    ("guard_compliance", "Guard compliance (disclaimer, tier lines, valid markers)"),
    ("tier_accuracy", "Tier accuracy"),
    ("condition_accuracy", "Condition detection accuracy"),
    ("recall@5", "Retrieval recall@5 (a must-cite document in the top 5)"),
    ("mrr", "MRR of the first must-cite document"),
    ("grounding_rate", "Grounding rate (cited sentences supported by their passage)"),
    ("phrase_pass_rate", "Must / must-not phrase pass rate"),
    ("over_refusal", "Over-refusal (legitimate questions refused)"),
    ("direct_answer", "Direct answer (reply states the expected facts)"),
    ("aspect_coverage", "Aspect coverage (answer states the asked aspect's facts)"),
    ("aspect_accuracy", "Aspect read right"),
    ("self_contained", "Self-contained sentences"),
    ("off_topic", "Off-topic sentences (other conditions' documents)"),
    ("generic_closing", "Generic closing (no specialist named)"),
    ("readability_grade", "Reading grade of answers (Flesch-Kincaid)"),
    ("reply_readability_grade", "Reading grade of the opening reply"),
    ("latency_p50_ms", "Latency p50 (ms)"),
    ("latency_p95_ms", "Latency p95 (ms)"),
]


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any], charts: dict[str, str] | None = None) -> str:
    systems = {
        "stemchat": report["metrics"],
        "baseline (tutorial RAG)": report["baseline"]["metrics"],
    }
    for name, abl in report.get("ablations", {}).items():
        systems[name.replace("_", " ")] = abl["metrics"]
    names = list(systems)
    out = [
        "# stemchat evaluation",
        "",
        f"{report['cases']} gold cases. Baseline: LangChain's Chroma retriever, dense top-5, answer = the passages.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, label in ROWS:
        out.append(
            f"| {label} | " + " | ".join(_fmt(systems[n].get(key, "")) for n in names) + " |"
        )
    out += [
        "",
        "## Safety by class (stemchat)",
        "",
        "| class | precision | recall | support |",
        "|---|---|---|---|",
    ]
    for cls, pr in report["metrics"]["safety"].items():
        out.append(f"| {cls} | {pr['precision']:.3f} | {pr['recall']:.3f} | {pr['support']} |")
    out += [
        "",
        "## By condition (stemchat)",
        "",
        "| condition | tier accuracy | recall@5 |",
        "|---|---|---|",
    ]
    for cond, m in report["by_condition"].items():
        out.append(f"| {cond} | {m['tier_accuracy']:.2f} | {m['recall@5']:.2f} |")
    if charts:
        out += ["", "## Charts", ""] + [f"![{k}]({v})" for k, v in charts.items()]
    out += ["", f"## Failures ({len(report['failures'])})", ""]
    if not report["failures"]:
        out.append("None.")
    for f in report["failures"]:
        out.append(f"- **{f['id']}**: {f['question']!r} -> " + "; ".join(f["problems"]))
    return "\n".join(out) + "\n"


def charts(report: dict[str, Any], folder: Path) -> dict[str, str]:
    """Two PNGs: per-condition tier accuracy and recall@5; stemchat against the baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    by = report["by_condition"]
    conds = list(by)
    fig, ax = plt.subplots(figsize=(9, max(4, 0.3 * len(conds))))
    ys = range(len(conds))
    ax.barh(
        [y + 0.2 for y in ys],
        [by[c]["tier_accuracy"] for c in conds],
        height=0.4,
        label="tier accuracy",
    )
    ax.barh([y - 0.2 for y in ys], [by[c]["recall@5"] for c in conds], height=0.4, label="recall@5")
    ax.set_yticks(list(ys), conds)
    ax.set_xlim(0, 1.05)
    ax.set_title("stemchat by condition")
    ax.legend(loc="lower right")
    fig.tight_layout()
    by_condition = folder / "eval-by-condition.png"
    fig.savefig(by_condition, dpi=110)
    plt.close(fig)

    keys = [
        "guard_compliance",
        "tier_accuracy",
        "condition_accuracy",
        "recall@5",
        "mrr",
        "grounding_rate",
    ]
    ours = [report["metrics"][k] for k in keys]
    base = [report["baseline"]["metrics"][k] for k in keys]
    fig, ax = plt.subplots(figsize=(9, 4))
    xs = range(len(keys))
    ax.bar([x - 0.2 for x in xs], ours, width=0.4, label="stemchat")
    ax.bar([x + 0.2 for x in xs], base, width=0.4, label="tutorial RAG baseline")
    ax.set_xticks(list(xs), keys, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_title("stemchat against the baseline")
    ax.legend()
    fig.tight_layout()
    versus = folder / "eval-vs-baseline.png"
    fig.savefig(versus, dpi=110)
    plt.close(fig)
    return {"By condition": by_condition.name, "Against the baseline": versus.name}
