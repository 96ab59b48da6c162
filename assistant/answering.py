"""Answer: the retrieval chain from a question (and the chat so far) to a cited Answer."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableLambda

from assistant import extractive
from assistant.errors import BadQuestionError, IndexMissingError
from assistant.evidence import PassageHit
from assistant.lexical import tokens
from assistant.results import Answer
from assistant.retrieval import Searcher
from assistant.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Message = dict[str, Any]

_SEARCHERS: dict[Settings, Searcher] = {}
_LOCK = threading.Lock()


def answer(
    question: str,
    *,
    history: Sequence[Message] | None = None,
    settings: Settings | None = None,
    searcher: Searcher | None = None,
    chat_model: BaseChatModel | None = None,
) -> Answer:
    """Answer ``question`` from the indexed seeds, quoting them with numbered citations.

    ``history`` is the chat so far, oldest first, as ``{"role": "user"|"assistant", "content": str}``
    dicts; follow-up questions use it to retrieve. The index is built on first use if there is
    none. ``searcher`` and ``chat_model`` are built from ``settings`` when not given.
    Raises BadQuestionError for an empty, overlong or unreadable question.
    """
    settings = settings or Settings()
    question = clean_question(question, settings.max_question_chars)
    searcher = searcher or _searcher(settings)
    if chat_model is None and settings.llm:
        from assistant.llm import make_chat_model

        chat_model = make_chat_model(settings)
    chain = answer_chain(searcher, chat_model, settings)
    return chain.invoke({"question": question, "history": normalise_history(history)})


def answer_chain(searcher: Searcher, chat_model: BaseChatModel | None, settings: Settings) -> Runnable:
    """The chain: work out what to search for, retrieve passages, then answer from them."""
    return (
        RunnableLambda(lambda x: x | {"query": retrieval_query(x["question"], x["history"], chat_model)})
        # A plain lambda, not RunnablePassthrough.assign: assign runs as a parallel step and starts a
        # thread pool per question, which costs more than the search itself.
        | RunnableLambda(lambda x: x | {"hits": _retrieve(searcher, x["query"], settings)})
        | RunnableLambda(lambda x: _respond(x, searcher, chat_model, settings))
    )


def _searcher(settings: Settings) -> Searcher:
    with _LOCK:
        if settings not in _SEARCHERS:
            _SEARCHERS[settings] = Searcher(settings)
        searcher = _SEARCHERS[settings]
    try:
        searcher.store.require()
    except IndexMissingError:
        from assistant.index import build_index

        build_index(settings, wait=True)
    return searcher


def _retrieve(searcher: Searcher, query: str, settings: Settings) -> dict[str, Any]:
    vector = searcher.embed_query(query)
    return {"vector": vector, "passages": searcher.search(query, settings.top_k, vector)}


def _respond(
    x: dict[str, Any], searcher: Searcher, chat_model: BaseChatModel | None, settings: Settings
) -> Answer:
    question: str = x["question"]
    hits: list[PassageHit] = x["hits"]["passages"]

    def extract() -> Answer:
        return extractive_answer(question, x["query"], x["hits"]["vector"], hits, searcher, settings)

    if chat_model is None:
        return extract()
    from assistant.llm import llm_answer

    name = (
        getattr(chat_model, "model_name", None)  # e.g. a local model's file name, not its whole path
        or (settings.llm or "").partition(":")[2]
        or type(chat_model).__name__
    )
    return llm_answer(
        question, hits, chat_model=chat_model, fallback=extract, model_name=str(name), query=x["query"]
    )


def extractive_answer(
    question: str, query: str, vector: Any, hits: Sequence[PassageHit], searcher: Searcher, settings: Settings
) -> Answer:
    """The default, LLM-free answer: the best-matching sentences, quoted, or an abstention."""
    _, corpus = searcher.corpus()
    n_sources = len(corpus.sources)
    if hits:
        source = hits[0].source
        meta = extractive.meta_answer(question, corpus.header(source), corpus.lead(source))
        if meta:
            return extractive.build_answer(question, meta, n_sources)
    if not hits or extractive.stopword_only(question):
        return extractive.abstention(question, n_sources)
    terms = tokens(query)
    candidates = extractive.score_sentences(
        question, terms, vector, hits, searcher.sentence_vectors, corpus.bm25
    )
    if not candidates or extractive.should_abstain(question, candidates[0]):
        return extractive.abstention(question, n_sources)
    return extractive.build_answer(question, extractive.choose(candidates, settings.answer_chars), n_sources)


def retrieval_query(question: str, history: list[Message], chat_model: BaseChatModel | None = None) -> str:
    """What to search for: the question, joined with the previous question when it is a follow-up."""
    previous = [m["content"] for m in history if m["role"] == "user"]
    if not previous:
        return question
    if chat_model is not None:
        from assistant.llm import rewrite_question

        rewritten = rewrite_question(question, history, chat_model)
        if rewritten != question:
            return rewritten
    # No LLM (or it could not help): a follow-up borrows the previous question's words.
    if extractive.is_follow_up(question):
        return f"{previous[-1]} {question}"
    return question


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def clean_question(question: Any, max_chars: int) -> str:
    """The question with control characters removed and white space folded; bad input raises."""
    if not isinstance(question, str):
        raise BadQuestionError(f"The question must be text, not {type(question).__name__}.")
    if len(question) > max_chars:
        raise BadQuestionError(
            f"The question is {len(question):,} characters long; the limit is {max_chars:,} "
            "(ASSISTANT_MAX_QUESTION_CHARS). Ask about one thing in a sentence or two."
        )
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", question)).split())
    if not any(ch.isalnum() for ch in text):
        raise BadQuestionError(
            "The question is empty: type a question about the article, e.g. 'What is it about?'"
        )
    return text


def normalise_history(history: Sequence[Message] | None) -> list[Message]:
    """Chat history as plain {"role", "content": str} dicts; other shapes (Gradio parts) are flattened."""
    out = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        content = message.get("content")
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, str) and content.strip():
            out.append({"role": message["role"], "content": content})
    return out
