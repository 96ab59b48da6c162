"""Lexical matching: a tokenizer with light stemming, and a BM25 index over passages."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from",
    "as", "into", "onto", "than", "then", "that", "this", "these", "those", "is", "are", "was", "were",
    "be", "been", "being", "am", "do", "does", "did", "doing", "have", "has", "had", "having", "it", "its",
    "it's", "itself", "he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs", "we",
    "us", "our", "you", "your", "i", "me", "my", "mine", "what", "which", "who", "whom", "whose", "when",
    "where", "why", "how", "not", "no", "nor", "so", "too", "very", "can", "could", "would", "should",
    "will", "shall", "may", "might", "must", "also", "just", "only", "about", "above", "below", "over",
    "under", "again", "further", "once", "here", "there", "all", "any", "both", "each", "few", "more",
    "most", "other", "some", "such", "own", "same", "s", "t", "up", "down", "out", "off", "there's",
    "what's", "who's", "one", "ones", "said", "says", "say", "according", "done",
    "get", "got", "many", "much", "kind", "type", "sort", "thing", "things",
})  # fmt: skip


@lru_cache(maxsize=65536)  # the same words recur in every passage and question
def stem(word: str) -> str:
    """A light suffix stripper: enough to match missile/missiles, approve/approved/approving."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("e", ""),
    ):
        if (
            word.endswith(suffix)
            and len(word) - len(suffix) >= 3
            and not word.endswith("ss" if suffix == "s" else "\0")
        ):
            return word[: len(word) - len(suffix)] + repl
    return word


def compact(text: str) -> str:
    """A name as letters and digits only, lower case: "Press Gazette" and "pressgazette" are one name."""
    return re.sub(r"[\W_]+", "", text.lower())


def stopword_only(text: str) -> bool:
    """True for a text with no content words at all ("What is it?", "Why?")."""
    return all(w in STOPWORDS for w in re.findall(r"\w+", text.lower()))


def tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased, stemmed word tokens; stopwords dropped unless asked for."""
    words = _TOKEN.findall(text.lower())
    return [stem(w) for w in words if keep_stopwords or w not in STOPWORDS]


class BM25:
    """Okapi BM25 over a fixed list of texts, with an inverted index for sparse scoring."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, text in enumerate(texts):
            counts = Counter(tokens(text))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((i, tf))
        self.n = len(self.lengths)
        self.avg_length = (sum(self.lengths) / self.n) if self.n else 1.0
        self._idf = {
            t: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()
        }
        #: The idf a term absent from every passage would have: the rarest possible.
        self.max_idf = math.log(1 + (self.n + 0.5) / 0.5)

    def idf(self, term: str) -> float:
        """Inverse document frequency; unseen terms get ``max_idf``."""
        return self._idf.get(term, self.max_idf)

    def known(self, term: str) -> bool:
        """True when some passage contains the term."""
        return term in self._idf

    def scores(self, query_terms: Sequence[str]) -> dict[int, float]:
        """BM25 score of every passage that shares a term with the query."""
        out: dict[int, float] = defaultdict(float)
        for term in set(query_terms):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg_length)
                out[i] += idf * tf * (self.k1 + 1) / norm
        return out
