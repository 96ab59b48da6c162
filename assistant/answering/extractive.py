"""The default answerer, no LLM needed: pick the sentences that answer, quote them, or abstain.

Every sentence of the retrieved passages gets general features (features.py: meaning, word
overlap weighted by rarity, soft word coverage that credits paraphrases, the kind of answer asked
for and found, neighbours, retrieval rank). A logistic model fitted on thousands of public
questions (scorer.py, assistant/answerer.json, rebuilt by ``training/train_answerer.py``) ranks them.
The best sentence is quoted, with the sentence next to it when it only refers to what the question
asks for, then the next best ones within the length budget. The best sentence's log-odds, mapped
to a calibrated probability, is the answer's confidence; below ``min_confidence``, or when a
question asks for a figure or a date that the best sentence does not hold, the answer says the
documents don't say and shows the closest passage only as related reading. Below
``uncertain_below`` it is given as uncertain: it says first that the documents may not answer, and
states nothing in bold.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.answering.about import about_document, asks_about_document, is_headline, names_no_topic
from assistant.answering.answer_types import answer_type, typed_spans
from assistant.answering.compose import abstention, build_answer, readable
from assistant.answering.features import Candidate, candidates
from assistant.answering.reader import shared_reader
from assistant.answering.rerank import confidence_row as read_confidence_row
from assistant.answering.rerank import load_rerank, quoted, read, readable_candidates, rerank
from assistant.answering.scorer import Parameters, load_parameters, sigmoid
from assistant.answering.short_answer import short_answer
from assistant.ingest.lexical import stopword_only
from assistant.results import Answer

if TYPE_CHECKING:
    from assistant.indexing.evidence import Evidence
    from assistant.settings import Settings

#: Kinds of answer whose absence from the best sentence is a sure sign it does not answer: a figure
#: or a date is in the text or it is not (names and places are caught by capitals, too loosely).
FIGURES = ("money", "number", "date")
#: The log-odds given to a sentence read off the document's own header (its byline or dateline).
_CERTAIN = 10.0


def rank(found: Sequence[Candidate], params: Parameters) -> list[Candidate]:
    """The candidates scored by the sentence model (log-odds that they hold the answer); best first."""
    scored = [dataclasses.replace(c, score=params.sentence.logit(c.features)) for c in found]
    return sorted(scored, key=lambda c: c.score, reverse=True)


def lacks_figure(question: str, best: Candidate) -> bool:
    """True when the question asks for a figure or a date and the best sentence holds none."""
    kind = answer_type(question)
    return kind in FIGURES and not typed_spans(kind, best.text, question)


#: What the confidence is computed from, in column order (answerer.json names them too).
CONFIDENCE_FEATURES = (
    "best",  # the sentence model's log-odds for the best sentence
    "margin",  # ... minus the runner-up's: a clear winner is more often right
    "lacks_figure",  # the question asks for a figure or date the best sentence does not hold
)


def confidence_row(evidence: Evidence, ranked: Sequence[Candidate]) -> tuple[float, ...]:
    """The CONFIDENCE_FEATURES of a ranking (best first)."""
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else best.score
    return best.score, best.score - second, float(lacks_figure(evidence.question, best))


def confidence(evidence: Evidence, ranked: Sequence[Candidate], params: Parameters) -> float:
    """The probability that the answer shown answers the question (fitted on held-out articles)."""
    return sigmoid(params.confidence.logit(confidence_row(evidence, ranked)))


def choose(ranked: Sequence[Candidate], max_chars: int, question: str) -> list[Candidate]:
    """The best sentence (with the neighbour it leans on), then the next best of its document within
    ``max_chars``."""
    if not ranked:
        return []
    if answer_type(question) == "expansion":
        # The sentence that spells out the acronym asked about is the answer, wherever it ranks.
        spelled = next((c for c in ranked if typed_spans("expansion", c.text, question)), None)
        if spelled is not None:
            ranked = [spelled, *(c for c in ranked if c is not spelled)]
    best = ranked[0]
    chosen = [best]
    neighbour = lean_on(best, question)
    if neighbour is not None and len(readable(best.text)) + len(readable(neighbour.text)) <= max_chars:
        chosen = sorted([best, neighbour], key=lambda c: c.index)
    size = sum(len(readable(c.text)) for c in chosen)
    # More of the same story, not another story's sentences beside it: same hit rate out-of-fold on
    # SQuAD train (10 articles in one index), and a reader is not handed an unrelated article's lines.
    same_story = [c for c in ranked[1:] if c.hit.source == best.hit.source]
    for other in same_story[:3]:
        # The headline and the dateline are never padding: quoted after the answer they say nothing
        # the question asked ("... [1] Riverside Library Reopens After Flood Repairs [2] March 2 [3]").
        if other.hit.kind == "header" or any(other.text == c.text for c in chosen):
            continue
        if size + len(readable(other.text)) <= max_chars:
            chosen.append(other)
            size += len(readable(other.text))
    return chosen


# A sentence that opens by referring back ("He served ...", "The company said ...") leans on the one
# before it for who or what it is about.
_REFERS_BACK = re.compile(r"^\W*(?:he|she|they|it|his|her|their|its|this|these|those|the latter)\b", re.I)


def lean_on(best: Candidate, question: str) -> Candidate | None:
    """The sentence next to ``best`` that it needs: the one it refers back to, or the one holding what
    the question asks for when ``best`` only describes it ("the new ambassador ..." / "Mark Lippert ...")."""
    hit, i = best.hit, best.index
    if _REFERS_BACK.search(best.text) and i > 0:
        return _neighbour(best, i - 1)
    kind = answer_type(question)
    if kind and not typed_spans(kind, best.text, question):
        for j in (i + 1, i - 1):
            if 0 <= j < len(hit.sentences) and typed_spans(kind, hit.sentence_text(j), question):
                return _neighbour(best, j)
    return None


def _neighbour(best: Candidate, j: int) -> Candidate:
    """Sentence ``j`` of the best sentence's passage, shown on the best sentence's strength."""
    return dataclasses.replace(best, index=j, text=best.hit.sentence_text(j))


# --- the answer -------------------------------------------------------------------------------------------


def extractive_answer(evidence: Evidence, settings: Settings) -> Answer:
    """The default, LLM-free answer: the best-matching sentences, quoted, or an abstention."""
    question, n_sources = evidence.question, evidence.documents
    if n_sources > 1 and asks_about_document(question) and (evidence.focus or names_no_topic(question)):
        return each_document(evidence)  # "Who wrote the article?" with several: never one at random
    if evidence.about:
        picks = about_document(question, evidence.about)
        if picks is None:  # asks for the byline or date of a document that has none
            return abstention(question, n_sources)
        if picks:
            # Read off the document's own byline or dateline: certain, not scored.
            chosen = [Candidate(hit, i, hit.sentence_text(i), (), _CERTAIN) for hit, i in picks]
            return build_answer(question, chosen, n_sources)
    if stopword_only(question) and stopword_only(evidence.query):
        return abstention(question, n_sources)
    if stopword_only(question):
        # "Why?" after a question asks about that question's subject: the sentences are scored with
        # what was searched for (the previous question joined with this one). What kind of answer
        # is wanted still comes from the words asked: "Why?" wants no figure the last question did.
        evidence = dataclasses.replace(evidence, question=evidence.query)
    if not evidence.passages:
        return abstention(question, n_sources)
    params = load_parameters()
    ranked = rank(candidates(evidence, settings.embedding_model), params)
    if not ranked:
        return abstention(question, n_sources)
    if settings.reader:
        return read_answer(evidence, ranked, settings, question)
    sure = confidence(evidence, ranked, params)
    threshold = params.min_confidence if settings.min_confidence is None else settings.min_confidence
    if sure < threshold or lacks_figure(question, ranked[0]):
        return abstention(question, n_sources, related=ranked[:1], confidence=sure)
    chosen = choose(ranked, settings.answer_chars, question)
    unsure = sure < settings.uncertain_below
    return build_answer(question, chosen, n_sources, short_answer(question, chosen), sure, unsure)


def each_document(evidence: Evidence) -> Answer:
    """A question about "the article" asked of several documents: one line per document, each with
    its citation; past a handful, the closest documents and a request to pick one."""
    question = evidence.question
    if evidence.documents > len(evidence.scope):
        names = "; ".join(f"{d.title} ({d.source})" for d in evidence.scope)
        return Answer(
            question=question,
            text=f"That depends on the document: {evidence.documents:,} are indexed. Name the one you mean "
            "(its site, author, file name or headline words) or pick it in the documents list. "
            f"Closest to your question: {names}.",
            citations=(),
            abstained=True,
        )
    lines: list[str] = []
    citations = []
    for info in evidence.scope:
        picks = about_document(question, info)
        # Label each line with its file when the headline is what is asked, else with the headline.
        label = info.source if picks and all(is_headline(h, i) for h, i in picks) else info.title
        if not picks:
            lines.append(f"{label}: doesn't say.")
            continue
        quotes = []
        for hit, i in picks:
            citations.append(hit.cite(i, len(citations) + 1, 1.0))
            quotes.append(f"{readable(hit.sentence_text(i))} [{len(citations)}]")
        lines.append(f"{label}: {' '.join(quotes)}")
    if not citations:
        return abstention(question, evidence.documents)
    return Answer(question=question, text="\n".join(lines), citations=tuple(citations), abstained=False)


def read_answer(evidence: Evidence, ranked: Sequence[Candidate], settings: Settings, question: str) -> Answer:
    """The answer once the reader has read the best few sentences (rerank.py): its blend ranks them,
    its confidence decides abstention, and its span in the best sentence is the direct answer.

    ``question`` is what was asked: the reader reads it with the conversation's previous question
    ("Why?" after "How much is the deal worth?"), as it was trained, while the sentences were ranked
    with what was searched for."""
    n_sources = evidence.documents
    fitted = load_rerank()
    reader = shared_reader(precision=settings.precision)
    ranked = readable_candidates(question, ranked)
    readings = read(question, ranked, reader, fitted.candidates, evidence.history)
    reranked = rerank(ranked[: len(readings)], readings, fitted.sentence)
    by_reader = rerank(ranked[: len(readings)], readings, fitted.reader_sentence)
    sure = sigmoid(fitted.confidence.logit(read_confidence_row(question, reranked, by_reader)))
    threshold = fitted.min_confidence if settings.min_confidence is None else settings.min_confidence
    best, reading = reranked[0]
    if sure < threshold:
        return abstention(question, n_sources, related=[best], confidence=sure)
    chosen = choose(quoted(reranked, fitted.pad_min), settings.answer_chars, question)
    short = None
    if reading.span >= fitted.span_min and reading.end > reading.start:
        at = next((k for k, c in enumerate(chosen) if c.hit is best.hit and c.index == best.index), None)
        if at is not None:
            short = (at, reading.start, reading.end)
    short = short or short_answer(question, chosen, best)
    return build_answer(question, chosen, n_sources, short, sure, sure < settings.uncertain_below)
