"""SQuAD files as the training scripts read them: articles, their sentences, held-out splits."""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.lexical import tokens
from assistant.ingest.passages import split_sentences

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
V11 = SHARED / "squad1.1-train-rebuilt.json"
DEV24 = SHARED / "squad2-dev-24-fit.json"
TRAIN10 = SHARED / "squad2-train-10.json"


@dataclass
class Sent:
    """One sentence of an article, with where it sits."""

    text: str
    para: int  # paragraph number within the article
    start: int  # offset in the paragraph
    end: int


def load(path: Path) -> list[dict]:
    """The ``data`` list (articles) of a SQuAD JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def sha256(path: Path) -> str:
    """A short digest of a data file, recorded beside what was fitted on it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def split_articles(v11: list[dict], dev24: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """(held-out v1.1 articles, held-out dev-24 articles, the rest): every 30th and every 6th held out."""
    held_v11 = [a for k, a in enumerate(v11) if k % 30 == 7]
    held_dev = [a for k, a in enumerate(dev24) if k % 6 == 3]
    fit = [a for k, a in enumerate(v11) if k % 30 != 7] + [a for k, a in enumerate(dev24) if k % 6 != 3]
    return held_v11, held_dev, fit


def article_sentences(article: dict) -> list[Sent]:
    """Every sentence of every paragraph, split as the assistant splits passages."""
    out = []
    for p, para in enumerate(article["paragraphs"]):
        text = para["context"]
        for a, b in split_sentences(text, (0, len(text))):
            out.append(Sent(text[a:b], p, a, b))
    return out


class Lexical:
    """Rare-word overlap between a question and each sentence of one article (an inverted index)."""

    def __init__(self, sents: list[Sent]) -> None:
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(sents):
            for t in set(tokens(s.text)):
                self.postings[t].append(i)
        n = len(sents)
        self.idf = {t: math.log(1 + n / len(ids)) for t, ids in self.postings.items()}

    def ranked(self, question: str) -> list[int]:
        """Sentence numbers sharing a word with ``question``, most rare-word overlap first."""
        scores: dict[int, float] = defaultdict(float)
        for t in set(tokens(question)):
            for i in self.postings.get(t, ()):
                scores[i] += self.idf[t]
        return sorted(scores, key=lambda i: -scores[i])
