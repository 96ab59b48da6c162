"""The scale benchmark's corpora: deterministic news archives of any size from ``../shared``.

A corpus of ``n`` documents is the 928 BBC articles and SQuAD v1.1 train paragraphs grouped by
article into news-sized documents of 3 to 8 paragraphs (a headline, then the paragraphs), taking
turns until the BBC articles run out. One pass over the 442 articles gives about 3,400 documents;
later passes shuffle each article's paragraphs with a fixed seed and group them anew, until ``n``
is reached. Every corpus is a prefix of the larger ones, so the questions (SQuAD's own, on
paragraphs in the smallest corpus) have their answers at every size.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import common

SQUAD = common.ROOT.parent / "shared" / "eval" / "squad1.1-train-rebuilt.json"


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    #: (article, paragraph) of each SQuAD paragraph the document holds (none for a BBC article).
    paragraphs: tuple[tuple[int, int], ...] = ()


def _squad() -> list[dict]:
    if not SQUAD.exists():
        raise SystemExit(f"SQuAD v1.1 train is missing: {SQUAD} (the scale corpus is built from it).")
    return json.loads(SQUAD.read_text(encoding="utf-8"))["data"]


def _squad_documents(articles: list[dict]) -> Iterator[Document]:
    for round_ in range(100):
        rng = random.Random(7919 + round_)
        for a, article in enumerate(articles):
            order = list(range(len(article["paragraphs"])))
            if round_:
                rng.shuffle(order)
            title = article["title"].replace("_", " ")
            g = 0
            while order:
                size = rng.randint(3, 8)
                group, order = order[:size], order[size:]
                body = "\n\n".join(article["paragraphs"][p]["context"].strip() for p in group)
                name = f"squad-{round_}-{a:03d}-{g:02d}.txt"
                yield Document(name, f"{title} ({g + 1})\n\n{body}\n", tuple((a, p) for p in group))
                g += 1


def documents(n: int) -> list[Document]:
    """The first ``n`` documents of the archive: BBC and SQuAD documents taking turns until the 928
    BBC articles run out, then SQuAD's (so even a small corpus has questions with known answers)."""
    bbc = [
        Document(common.bbc_name(i, row), row["text"].strip() + "\n")
        for i, row in enumerate(common.load_bbc(928))
    ]
    out: list[Document] = []
    squad = _squad_documents(_squad())
    while len(out) < n:
        if bbc and len(out) % 2 == 0:
            out.append(bbc.pop(0))
        else:
            out.append(next(squad))
    return out


def write(seeds: Path, docs: list[Document]) -> None:
    """Write ``docs`` into ``seeds`` (unchanged files are left alone; others removed)."""
    seeds.mkdir(parents=True, exist_ok=True)
    wanted = {d.name: d.text for d in docs}
    for old in seeds.iterdir():
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        path = seeds / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def questions(docs: list[Document], k: int, seed: int = 11) -> list[dict[str, object]]:
    """``k`` SQuAD questions (with their answer texts) on paragraphs ``docs`` hold."""
    articles = _squad()
    held = sorted({ap for d in docs for ap in d.paragraphs})
    rng = random.Random(seed)
    out = []
    for a, p in rng.sample(held, min(k, len(held))):
        qa = rng.choice(articles[a]["paragraphs"][p]["qas"])
        out.append({"question": qa["question"], "answers": sorted({x["text"] for x in qa["answers"]})})
    return out
