"""The `stemchat` command line: check, ingest, status, ask, eval, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from stemchat.errors import StemchatError
from stemchat.settings import Settings, load_settings


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.corpus import check_corpus

    corpus = check_corpus(settings.corpus_dir, max_age_days=settings.review_max_age_days)
    if args.json:
        _print_json(
            {
                "documents": len(corpus.documents),
                "conditions": len(corpus.evidence.conditions) if corpus.evidence else 0,
                "errors": [str(i) for i in corpus.errors],
                "warnings": [str(i) for i in corpus.warnings],
            }
        )
    else:
        for issue in corpus.issues:
            print(issue)
        n_cond = len(corpus.evidence.conditions) if corpus.evidence else 0
        print(
            f"{len(corpus.documents)} documents, {n_cond} conditions: "
            f"{len(corpus.errors)} errors, {len(corpus.warnings)} warnings"
        )
    return 1 if corpus.errors else 0


def cmd_corpus_report(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.corpus.report import corpus_report

    report = corpus_report(settings.corpus_dir, max_age_days=settings.review_max_age_days)
    if args.json:
        _print_json(report)
    else:
        print(f"{'document':<42} {'kind':<10} {'words':>5} {'grade':>5}  reviewed    problems")
        for r in report["rows"]:
            flags = "; ".join(r["problems"] + (["stale review"] if r["stale"] else []))
            print(
                f"{r['id']:<42} {r['kind']:<10} {r['words']:>5} {r['grade']:>5}  {r['last_reviewed']}  {flags}"
            )
        print(
            f"\n{'condition':<30} {'evidence':<12} {'docs':>4} {'trials':>6} {'sources':>7} "
            f"{'oldest review':>13}  problems"
        )
        for cid, c in report["by_condition"].items():
            age = "-" if c["oldest_review_days"] is None else f"{c['oldest_review_days']} days"
            print(
                f"{cid:<30} {c['tier']:<12} {c['documents']:>4} {c['trials']:>6} "
                f"{c['sources']:>7} {age:>13}  {'; '.join(c['problems'])}"
            )
        for lang, t in report["translations"].items():
            print(
                f"{lang}: {t['documents']} documents ({len(t['missing_documents'])} missing, "
                f"{len(t['stale_documents'])} to re-check), {t['conditions']} conditions "
                f"({len(t['missing_conditions'])} missing, {len(t['stale_conditions'])} to "
                "re-check)"
            )
        print(
            f"{report['documents']} documents {report['by_kind']}, {report['conditions']} conditions "
            f"{report['by_tier']}; mean grade {report['mean_grade']}, max {report['max_grade']}; "
            f"{len(report['errors'])} errors, {len(report['warnings'])} warnings"
        )
    bad = (
        report["errors"]
        or any(r["problems"] for r in report["rows"])
        or any(c["problems"] for c in report["by_condition"].values())
    )
    return 1 if bad else 0


def cmd_corpus_stamp(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.corpus.loader import load_corpus
    from stemchat.corpus.translations import stamp

    corpus = load_corpus(settings.corpus_dir)
    if corpus.errors:
        print(f"fix the English corpus first: {corpus.errors[0]}", file=sys.stderr)
        return 1
    stamped = stamp(corpus, settings.corpus_dir, args.language)
    print(f"stamped {len(stamped)} file(s): " + (", ".join(stamped) or "all were current"))
    return 0


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.corpus.template import write_template

    path = write_template(settings.documents_dir, args.doc_id, args.kind)
    print(f"wrote {path}: fill in the TODOs, then run `stemchat check` and `stemchat ingest`")
    return 0


def cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.feedback import feedback_store

    csv_text = feedback_store(settings.data_dir).to_csv()
    if args.out:
        Path(args.out).write_text(csv_text, encoding="utf-8")
        print(f"wrote {csv_text.count(chr(10)) - 1} feedback rows to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(csv_text)
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.embeddings import ensure_onnx, make_embeddings
    from stemchat.ingest import ingest, status

    if args.if_stale:
        from stemchat.index import stamp
        from stemchat.store import open_store

        store = open_store(settings)
        st = status(settings, store)
        if st["documents"] and not st["pending"]:
            stamp(settings, store)
            ensure_onnx(settings)
            print(f"index is up to date: {st['documents']} documents, {st['chunks']} chunks")
            return 0
    report = ingest(
        settings, make_embeddings(settings, "ingest"), progress=not args.json, prune=args.prune
    )
    ensure_onnx(settings)
    if args.json:
        _print_json(vars(report))
    else:
        for issue in report.issues:
            print(issue, file=sys.stderr)
        print(
            f"ingested: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.removed)} removed, {report.unchanged} unchanged; "
            f"{report.chunks_embedded} chunks embedded; now {report.documents} documents, "
            f"{report.chunks} chunks (version {report.version})"
        )
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.ingest import status

    st = status(settings)
    if args.json:
        _print_json(st)
    else:
        for key, value in st.items():
            print(f"{key:>20}: {value}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.embeddings import prewarm_query_embeddings
    from stemchat.engine import Conversation, Engine
    from stemchat.index import ensure_index

    prewarm_query_embeddings(settings)  # overlaps the model load with opening the store
    engine = Engine(settings, ensure_index(settings, quiet=args.json))
    conversation = Conversation()
    for question in args.questions:
        answer = engine.answer(question, conversation)
        if args.json:
            _print_json(answer.to_json())
        else:
            print(answer.answer)
            for c in answer.citations:
                print(f"  [{c.n}] {c.title} ({c.kind}, {c.date}) {c.url}")
            print()
    return 0


def cmd_eval_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.beir import evaluate_retrieval

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    result = evaluate_retrieval(settings, Path(args.dataset), methods, progress=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def cmd_eval_retrieval_es(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.index import ensure_index
    from stemchat.spanish_retrieval import evaluate_spanish_retrieval, table

    ensure_index(settings, quiet=True)
    english = Path(args.english_gold) if args.english else None
    result = evaluate_spanish_retrieval(settings, Path(args.gold), english)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(table(result))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.eval_report import charts, markdown
    from stemchat.evaluation import evaluate, gate, load_thresholds
    from stemchat.index import ensure_index

    ensure_index(settings, quiet=True)
    report = evaluate(settings, Path(args.gold), ablations=not args.no_ablations)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.markdown:
        out = Path(args.markdown)
        pngs = charts(report, out.parent)
        out.write_text(markdown(report, pngs))
    m = report["metrics"]
    print(
        f"{report['cases']} cases: guard {m['guard_compliance']}, tiers {m['tier_accuracy']}, "
        f"conditions {m['condition_accuracy']}, recall@5 {m['recall@5']}, mrr {m['mrr']}, "
        f"over-refusal {m['over_refusal']}, grounding {m['grounding_rate']}, "
        f"phrases {m['phrase_pass_rate']}, p50 {m['latency_p50_ms']} ms\n"
        f"answers: direct {m['direct_answer']}, aspect coverage {m['aspect_coverage']}, "
        f"aspect {m['aspect_accuracy']}, self-contained {m['self_contained']}, "
        f"off-topic {m['off_topic']}, generic closing {m['generic_closing']}, "
        f"reply grade {m['reply_readability_grade']}"
    )
    misses = gate(report, load_thresholds(Path(args.thresholds)))
    for miss in misses:
        print(f"gate: {miss}", file=sys.stderr)
    return 1 if misses else 0


def cmd_eval_attacks(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.attacks import evaluate_attacks
    from stemchat.index import ensure_index

    ensure_index(settings, quiet=True)
    report = evaluate_attacks(
        settings, Path(args.dir), progress=not args.json, obedient=args.obedient_llm
    )
    if args.json:
        _print_json(report)
    else:
        t, c = report["total"], report["checks"]
        print(
            f"{'category':<26} {'prompts':>7} {'disclaimer':>10} {'html':>5} {'leak':>5} {'override':>8}"
        )
        for name, row in {**report["by_category"], "total": t}.items():
            print(
                f"{name:<26} {row['prompts']:>7} {row['disclaimer_failures']:>10} "
                f"{row['html_failures']:>5} {row['leak_failures']:>5} {row['override_failures']:>8}"
            )
        print(
            f"{t['prompts']} attacks ({t['turns']} turns) in {report['seconds']} s, "
            f"{report['answerer']}: disclaimer {c['disclaimer_rate']:.0%}, raw HTML {c['raw_html']}, "
            f"leaks {c['leaks']}, overrides {c['overrides']}, errors {c['errors']}"
        )
        by_lang = report["by_lang"].items()
        print(
            "passed by language: "
            + ", ".join(f"{k} {v['passed']}/{v['prompts']}" for k, v in by_lang)
        )
        for failure in report["failures"][:20]:
            problems = [p for ps in failure["problems"].values() for p in ps] or [failure["error"]]
            print(f"FAIL {failure['id']}: {problems[0]}", file=sys.stderr)
    return 0 if report["passed"] else 1


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from stemchat.bench import run_bench, run_scale_bench

    if args.scale:
        result = run_scale_bench(
            settings, Path(args.dataset), queries=args.queries, limit=args.scale_limit
        )
    else:
        result = run_bench(settings, Path(args.dataset), limit=args.limit, queries=args.queries)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stemchat", description="Honest, sourced answers about stem cell therapy evidence."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="lint the corpus (exit 0 clean, 1 errors)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("corpus", help="corpus tools for maintainers")
    csub = p.add_subparsers(dest="corpus_command", required=True)
    r = csub.add_parser("report", help="words, reading grade and review state per document")
    r.add_argument("--json", action="store_true", help="print as JSON")
    r.set_defaults(func=cmd_corpus_report)

    r = csub.add_parser(
        "stamp",
        help="after reviewing a language's translations, record the English versions they render",
    )
    r.add_argument("language", choices=["es"], help="the translations' language")
    r.set_defaults(func=cmd_corpus_stamp)

    p = sub.add_parser("new", help="write a new corpus document from a commented template")
    p.add_argument("doc_id", metavar="DOC_ID", help="the new document's id (its file name)")
    p.add_argument(
        "--kind", required=True, choices=["overview", "trial", "regulatory", "guidance", "review"]
    )
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("feedback", help="patient feedback stored by the chat")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    r = fsub.add_parser("export", help="write all feedback as CSV")
    r.add_argument("--out", metavar="FILE", help="write to this file instead of stdout")
    r.set_defaults(func=cmd_feedback_export)

    p = sub.add_parser("ingest", help="index the corpus incrementally")
    p.add_argument("--if-stale", action="store_true", help="do nothing when the index is current")
    p.add_argument(
        "--prune",
        action="store_true",
        help="allow removing all or most stored documents (refused by default: a wrong or "
        "empty corpus folder must never wipe the index)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("status", help="store, model, what is indexed and pending")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("ask", help="answer questions (consecutive turns of one conversation)")
    p.add_argument("questions", nargs="+", help="one or more questions")
    p.add_argument("--json", action="store_true", help="one JSON object per turn, one per line")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="evaluate answers on the gold set (or: eval retrieval DIR)")
    p.add_argument(
        "--gold", default="eval/gold.yaml", help="gold questions (default eval/gold.yaml)"
    )
    p.add_argument("--thresholds", default="eval/thresholds.yaml", help="the gate's thresholds")
    p.add_argument("--json", metavar="OUT", help="write the full report as JSON")
    p.add_argument("--markdown", metavar="OUT", help="write the Markdown report (charts beside it)")
    p.add_argument("--no-ablations", action="store_true", help="skip the ablation runs")
    p.set_defaults(func=cmd_eval)
    esub = p.add_subparsers(dest="eval_command", required=False)
    r = esub.add_parser("retrieval", help="retrieval metrics on a BEIR-layout dataset")
    r.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl, qrels/test.tsv")
    r.add_argument("--methods", default="bm25,dense,hybrid", help="comma-separated methods")
    r.add_argument("--json", metavar="OUT", help="write the result to this file")
    r.set_defaults(func=cmd_eval_retrieval)
    r = esub.add_parser(
        "retrieval-es",
        help="Spanish search options (BM25, MiniLM, multilingual USE, fused) on the Spanish gold set",
    )
    r.add_argument("--gold", default="eval/gold.es.yaml", help="default eval/gold.es.yaml")
    r.add_argument(
        "--english", action="store_true", help="also the same options on the English gold set"
    )
    r.add_argument("--english-gold", default="eval/gold.yaml", help=argparse.SUPPRESS)
    r.add_argument("--json", metavar="OUT", help="write the result to this file")
    r.set_defaults(func=cmd_eval_retrieval_es)
    r = esub.add_parser(
        "attacks", help="hostile prompts through the engine (exit 1 on any failure)"
    )
    r.add_argument("--dir", default="eval/attacks", help="attack sets (default eval/attacks)")
    r.add_argument("--json", action="store_true", help="print the full report as JSON")
    r.add_argument(
        "--obedient-llm",
        action="store_true",
        help="rephrase with a stand-in chat model that obeys every attack (tests the guard)",
    )
    r.set_defaults(func=cmd_eval_attacks)

    p = sub.add_parser("bench", help="performance benchmark on MedQuAD passages")
    p.add_argument(
        "--dataset",
        default="../shared/datasets/medquad-liveqa",
        help="BEIR-layout dataset folder (default: ../shared/datasets/medquad-liveqa)",
    )
    p.add_argument("--limit", type=int, default=2000, help="first N passages (default 2000)")
    p.add_argument("--queries", type=int, default=300, help="number of queries (>= 200)")
    p.add_argument(
        "--scale",
        action="store_true",
        help="ingest the whole dataset into a separate store (<data dir>/scale, resumable) "
        "and compare query speed and memory with the curated corpus",
    )
    p.add_argument("--scale-limit", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", metavar="OUT", help="write the result to this file")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(args, settings))
    except StemchatError as exc:
        print(f"stemchat: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stemchat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`stemchat ask ... | head`): stop quietly, as command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
