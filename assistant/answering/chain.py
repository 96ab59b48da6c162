"""Answer: the chain from a question (and the chat so far) to a cited Answer.

Three named steps, composed as LangChain runnables (their names show in traces):

    condense  Turn -> Query       what to search for: the question, or the question with the turn it
                                  follows up (an LLM rewrites it when one is configured), and in
                                  which documents (focus.py: chosen, named, or the previous answer's)
    retrieve  Query -> Evidence   passages of those documents with their sentences and vectors, the
                                  document's header and lead, the query terms' rarity (retrieval.py)
    respond   Evidence -> Answer  the extractive answerer, or an LLM checked against the evidence;
                                  a follow-up the previous answer's documents cannot answer is
                                  asked again of every document

Data moves one way: each step gets only what the step before it returned.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableLambda

from assistant.answering.extractive import extractive_answer
from assistant.answering.focus import Focus
from assistant.answering.followup import is_follow_up
from assistant.errors import BadQuestionError
from assistant.indexing.evidence import Evidence
from assistant.results import Answer
from assistant.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.answering.retrieval import Searcher

Message = dict[str, str]


@dataclass(frozen=True)
class Turn:
    """One user turn: the (cleaned) question and the chat before it, oldest first."""

    question: str
    history: tuple[Message, ...] = ()
    #: The documents the user chose to ask about (file names, titles, sites or authors); () for all.
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    """What to search for on behalf of ``question``, and in which documents."""

    question: str
    text: str
    focus: Focus = dataclasses.field(default_factory=Focus)
    #: The previous question of the conversation ("" for a first question).
    history: str = ""


#: A follow-up leaves the conversation's documents only for an answer more likely right than wrong: the
#: question was about what was just discussed, so a passable match elsewhere is more often another
#: story's sentence than the answer (the answerer's own threshold is set for questions asked afresh).
WIDENED_MIN = 0.5


def answer_chain(searcher: Searcher, chat_model: BaseChatModel | None, settings: Settings) -> Runnable:
    """The chain ``condense | retrieve | respond``: a Turn in, an Answer out."""

    def condense(turn: Turn) -> Query:
        text = retrieval_query(turn.question, list(turn.history), chat_model)
        previous = [m["content"] for m in turn.history if m["role"] == "user"]
        focus = searcher.focus(turn.question, turn.history, turn.documents)
        # The reader reads the previous question beside a follow-up only: a question that stands on
        # its own (a topic switch) is read as it would be asked first, as it is searched for.
        follows = bool(previous) and text != turn.question
        return Query(turn.question, text, focus, previous[-1] if follows else "")

    def retrieve(query: Query) -> Evidence:
        return searcher.retrieve(query.question, query.text, query.focus, query.history)

    def respond(evidence: Evidence) -> Answer:
        answer = respond_to(evidence, chat_model, settings)
        if answer.abstained and evidence.widen:
            # A follow-up the previous answer's documents cannot answer is asked of every document
            # ("And the price?" may be in another).
            wider = searcher.retrieve(evidence.question, evidence.query, history=evidence.history)
            retry = respond_to(wider, chat_model, settings)
            if not retry.abstained and (retry.confidence is None or retry.confidence >= WIDENED_MIN):
                return dataclasses.replace(retry, focus=wider.focus)
        return dataclasses.replace(answer, focus=evidence.focus)

    # Plain RunnableLambdas, not RunnablePassthrough.assign: assign runs as a parallel step and starts a
    # thread pool per question, which costs more than the search itself.
    return (
        RunnableLambda(condense, name="condense")
        | RunnableLambda(retrieve, name="retrieve")
        | RunnableLambda(respond, name="respond")
    )


def respond_to(evidence: Evidence, chat_model: BaseChatModel | None, settings: Settings) -> Answer:
    """The answer from the evidence: extractive, or the LLM's checked answer (extractive on failure)."""

    def extract() -> Answer:
        return extractive_answer(evidence, settings)

    if chat_model is None:
        return extract()
    from assistant.llm.answerer import llm_answer

    name = (
        getattr(chat_model, "model_name", None)  # e.g. a local model's file name, not its whole path
        or (settings.llm or "").partition(":")[2]
        or type(chat_model).__name__
    )
    return llm_answer(
        evidence.question,
        evidence.passages,
        chat_model=chat_model,
        fallback=extract,
        model_name=str(name),
        query=evidence.query,
    )


def retrieval_query(question: str, history: list[Message], chat_model: BaseChatModel | None = None) -> str:
    """What to search for: the question, joined with the previous question when it is a follow-up."""
    previous = [m["content"] for m in history if m["role"] == "user"]
    if not previous:
        return question
    if chat_model is not None:
        from assistant.llm.answerer import rewrite_question

        rewritten = rewrite_question(question, history, chat_model)
        if rewritten != question:
            return rewritten
    # No LLM (or it could not help): a follow-up borrows the previous question's words.
    if is_follow_up(question):
        return f"{previous[-1]} {question}"
    return question


# Control and format characters (zero-width, bidi overrides) and lone surrogates, which no encoder
# accepts: they are noise in a question, and a surrogate would fail later with an obscure error.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff\ud800-\udfff]")


def clean_question(question: Any, max_chars: int) -> str:
    """The question with control characters removed and white space folded; bad input raises."""
    if isinstance(question, bytes):
        question = question.decode("utf-8", errors="replace")
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


_MAX_DOCUMENT_NAMES = 100
_MAX_NAME_CHARS = 500


def clean_documents(documents: Any) -> tuple[str, ...]:
    """The document names a caller chose (one name or a list of names), cleaned; bad input raises."""
    if documents is None:
        return ()
    if isinstance(documents, str):
        documents = [documents]
    if not isinstance(documents, Sequence) or isinstance(documents, bytes):
        raise BadQuestionError(
            "documents must be a list of document names (file names or titles), "
            f"not {type(documents).__name__}."
        )
    if len(documents) > _MAX_DOCUMENT_NAMES:
        raise BadQuestionError(
            f"At most {_MAX_DOCUMENT_NAMES} documents can be chosen; {len(documents):,} were given."
        )
    names = []
    for name in documents:
        if not isinstance(name, str) or len(name) > _MAX_NAME_CHARS:
            raise BadQuestionError(
                f"Each document is named by a string of at most {_MAX_NAME_CHARS} characters "
                "(its file name, title, site or author)."
            )
        name = " ".join(_CONTROL.sub(" ", name).split())
        if name:
            names.append(name)
    return tuple(dict.fromkeys(names))


def normalise_history(history: Any, settings: Settings) -> tuple[Message, ...]:
    """The chat so far as plain ``{"role", "content": str}`` dicts, within the history limits.

    Accepts OpenAI/Gradio messages (content a string or a list of ``{"type": "text", "text"}``
    parts). A malformed turn is skipped, never an error. Only the last
    ``settings.max_history_turns`` turns are kept, and at most ``settings.max_history_chars``
    characters of them, newest first (the follow-up logic only reads the last few turns).
    """
    if not isinstance(history, Sequence) or isinstance(history, str | bytes):
        return ()
    out: list[Message] = []
    budget = settings.max_history_chars
    for message in list(history[-settings.max_history_turns :])[::-1]:
        text = message_text(message.get("content")) if isinstance(message, dict) else ""
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant") or not text.strip() or budget <= 0:
            continue
        # Lone surrogates and control characters break the tokenizer: cleaned as questions are.
        text = " ".join(_CONTROL.sub(" ", text[:budget]).split())
        if not text:
            continue
        budget -= len(text)
        out.append({"role": str(role), "content": text})
    return tuple(out[::-1])


def message_text(content: Any, limit: int = 1_000_000) -> str:
    """The text of a chat message's content: a string, or text parts (other parts are ignored)."""
    if isinstance(content, str):
        return content[:limit]
    if isinstance(content, list | tuple):
        parts = [p.get("text") for p in content[:100] if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))[:limit]
    return ""
