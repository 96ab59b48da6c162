"""One fresh process's measurements for bench/scale.py, printed as JSON on the last line.

    .venv/bin/python -m bench.scale_child QUESTIONS.json --seeds S --index I [--host H --port P] [--add]

First answer in-process (model loaded and index opened on the way), then warm answer() against the
question's embedding, interleaved question by question, with the answers kept (server mode must
give the same ones); with ``--add``, the time to add one document to the index and to take it out.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from bench import common

ADDED = (
    "Harbour ferry trial begins\n\nA new electric ferry began trial runs across the harbour on Monday, "
    "carrying 120 passengers on each crossing. The operator said the trial would last six weeks.\n"
)


def hit(answer: object, answers: list[str]) -> bool:
    """Does the answer (text or quotes) hold one of the gold answer texts?"""
    said = " ".join([answer.text] + [c.quote for c in answer.citations]).lower()  # type: ignore[attr-defined]
    return any(a.lower() in said for a in answers)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("questions", type=Path)
    p.add_argument("--seeds", type=Path, required=True)
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--add", action="store_true")
    args = p.parse_args()
    questions = json.loads(args.questions.read_text())

    start = time.perf_counter()
    from assistant import Assistant, Settings

    settings = Settings(
        seeds_dir=args.seeds, index_dir=args.index, chroma_host=args.host, chroma_port=args.port
    )
    bot = Assistant(settings)
    first = bot.answer(questions[0]["question"])
    first_seconds = time.perf_counter() - start
    first_rss = common.max_rss_mb()

    embedder = bot.embedder
    for q in questions:  # warm: caches filled as in a running app
        bot.answer(q["question"])
        embedder.encode([q["question"]])
    answers, encodes, kept, hits = [], [], [], 0
    for r in range(args.rounds):
        for q in questions:
            steps = [
                (lambda q=q: bot.answer(q["question"]), answers),
                (lambda q=q: embedder.encode([q["question"]]), encodes),
            ]
            for fn, sink in steps if r % 2 == 0 else steps[::-1]:
                seconds, result = common.timed(fn)
                sink.append(seconds)
                if sink is answers and r == 0:
                    kept.append([result.text, [[c.source, c.quote] for c in result.citations]])
                    hits += hit(result, q["answers"])
    # The other answerer on the same index and model: the scorer when the reader is the default.
    other = Assistant(settings.model_copy(update={"reader": not settings.reader}), embedder=embedder)
    other_times = []
    for q in questions:
        other.answer(q["question"])
    for q in questions:
        other_times.append(common.timed(lambda q=q: other.answer(q["question"]))[0])
    out = {
        "reader": settings.reader,
        "other_answer_p50": common.p50(other_times),
        "other_answer_p95": common.p95(other_times),
        "first_answer_s": first_seconds,
        "first_answer_rss_mb": first_rss,
        "first_abstained": first.abstained,
        "answer_p50": common.p50(answers),
        "answer_p95": common.p95(answers),
        "encode_p50": common.p50(encodes),
        "hits": hits,
        "questions": len(questions),
        "answers": kept,
        "embedding_precision": embedder.precision,
    }
    if args.add:
        added = args.seeds / "zz-scale-added.txt"
        added.write_text(ADDED, encoding="utf-8")
        try:
            seconds, report = common.timed(bot.build_index)
            out["add_one_s"] = seconds
            out["add_one_report"] = [report.added, report.updated, report.removed]
        finally:
            added.unlink()
        seconds, report = common.timed(bot.build_index)
        out["remove_one_s"] = seconds
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
