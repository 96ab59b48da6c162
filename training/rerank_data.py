"""The data ``training.fit_rerank`` fits on: every fitting question retrieved as the answerer would
(cached), and the reader's readings of its best candidates (cached per reader).

Sources: the SQuAD articles ``training/train_reader.py`` held out (``split_articles``), the news pages'
"tune" questions (tests/news_questions.jsonl) and the seed article's tune set
(tests/article_questions_tune.jsonl). Never a held-out set.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import sys
import tempfile
from pathlib import Path

from assistant.answering.extractive import rank
from assistant.answering.features import candidates
from assistant.answering.reader import shared_reader
from assistant.answering.rerank import read, readable_candidates
from assistant.answering.scorer import load_parameters
from assistant.settings import Settings
from training.squad import split_articles
from training.train_answerer import collect, retrieve_news_tune, squad_corpus

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
SOURCES = (SHARED / "squad1.1-train-rebuilt.json", SHARED / "squad2-dev-24-fit.json")
SEED_ARTICLE = SHARED.parent / "seeds" / "000_3d0f639861eebb57.txt"
SEED_TUNE = Path(__file__).resolve().parents[1] / "tests" / "article_questions_tune.jsonl"


def retrieve(cache: Path) -> list[tuple[str, str, tuple[str, ...], object]]:
    """(group, question, answers, evidence) for every fitting question; cached in ``cache``."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    v11, dev24 = (json.loads(p.read_text(encoding="utf-8")) for p in SOURCES)
    held_v11, held_dev, _ = split_articles(v11["data"], dev24["data"])
    found = []
    with tempfile.TemporaryDirectory(prefix="fit-rerank-", ignore_cleanup_errors=True) as tmp:
        for n, (source, data, held) in enumerate(
            zip(SOURCES, (v11, dev24), (held_v11, held_dev), strict=True)
        ):
            data["data"] = held
            subset = Path(tmp) / f"squad-{n}.json"
            subset.write_text(json.dumps(data), encoding="utf-8")
            documents, questions = squad_corpus(subset)
            seeds = Path(tmp) / f"squad-{n}"
            seeds.mkdir()
            for name, text in documents.items():
                (seeds / name).write_text(text, encoding="utf-8")
            print(f"{source.name}: {len(documents)} articles, {len(questions)} questions", file=sys.stderr)
            found += collect(seeds, questions, Path(tmp) / f"index-{n}")
        found += retrieve_news_tune(Path(tmp))
    cache.write_bytes(pickle.dumps(found))
    return found


def retrieve_seed_tune(cache: Path) -> list[tuple[str, str, tuple[str, ...], object]]:
    """The evidence for the seed article's tune questions (group ``seed:<file>``); cached in ``cache``."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    lines = [json.loads(line) for line in SEED_TUNE.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [(f"seed:{SEED_ARTICLE.name}", q["question"], tuple(q.get("answers", ()))) for q in lines]
    with tempfile.TemporaryDirectory(prefix="fit-rerank-seed-", ignore_cleanup_errors=True) as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        (seeds / SEED_ARTICLE.name).write_bytes(SEED_ARTICLE.read_bytes())
        found = collect(seeds, questions, Path(tmp) / "index")
    cache.write_bytes(pickle.dumps(found))
    return found


@dataclasses.dataclass
class Item:
    group: str
    question: str
    answers: tuple[str, ...]
    ranked: list  # first-stage ranking (all candidates)
    readings: list  # the reader on ranked[:n]

    @property
    def kind(self) -> str:
        """Which of KINDS the question comes from."""
        if self.group.startswith("seed:"):
            return "seed"
        return "news" if self.group.endswith((".txt", ".md", ".html")) else "squad"


def prepare(found: list, n: int) -> list[Item]:
    params = load_parameters()
    model = Settings().embedding_model
    reader = shared_reader()
    items = []
    for k, (group, question, answers, evidence) in enumerate(found):
        cands = candidates(evidence, model)
        if not cands:
            continue
        ranked = readable_candidates(question, rank(cands, params))  # as read_answer() does
        items.append(Item(group, question, answers, ranked, read(question, ranked, reader, n)))
        if k % 500 == 0:
            print(f"  read {k}/{len(found)}", file=sys.stderr, flush=True)
    return items
