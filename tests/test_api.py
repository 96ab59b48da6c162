"""The Assistant object: parts built once and injectable, a named one-way chain, safe inputs."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from assistant import Assistant, Settings, answer
from assistant.answering.chain import Turn, normalise_history, retrieval_query
from assistant.errors import BadQuestionError
from assistant.indexing.embedding import Embedder
from assistant.indexing.store import Store


def test_injected_parts_are_used_and_built_parts_are_built_once(article_settings: Settings) -> None:
    embedder, store = Embedder(article_settings.embedding_model), Store(article_settings)
    bot = Assistant(article_settings, embedder=embedder, store=store)
    result = bot.answer("How much is the sale worth?")
    assert "$1.405 billion" in result.text
    assert bot.embedder is embedder and bot.store is store
    assert bot.searcher.embedder is embedder and bot.searcher.store is store
    assert bot.searcher is bot.searcher and bot.chain() is bot.chain()
    assert embedder._model is not None  # the injected model did the encoding
    assert [d.source for d in bot.documents()] == ["us-missile-sales-two-koreas.txt"]


def test_the_chat_model_is_built_once_per_assistant(article_settings: Settings) -> None:
    settings = article_settings.model_copy(
        update={"llm": "openai:m", "llm_base_url": "http://127.0.0.1:9/v1", "llm_api_key": "x"}
    )
    bot = Assistant(settings)
    assert bot.chat_model is not None and bot.chat_model is bot.chat_model
    assert Assistant(article_settings).chat_model is None  # no LLM set: the extractive answerer


class _Names(BaseCallbackHandler):
    def __init__(self) -> None:
        self.names: list[str] = []

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.names.append(kwargs.get("name") or "")


def test_the_chain_shows_its_named_steps_in_a_trace(article_settings: Settings) -> None:
    names = _Names()
    result = (
        Assistant(article_settings)
        .chain()
        .invoke(Turn("How many missiles were approved?"), config={"callbacks": [names]})
    )
    assert "136" in result.text
    steps = [n for n in names.names if n in ("condense", "retrieve", "respond")]
    assert steps == ["condense", "retrieve", "respond"]


def test_follow_ups_lean_on_the_previous_turn_and_new_subjects_stand_alone() -> None:
    history = [{"role": "user", "content": "Who is Mark Lippert?"}, {"role": "assistant", "content": "x"}]
    assert retrieval_query("How did China react?", history) == "How did China react?"
    assert retrieval_query("Where did he serve before?", history).startswith("Who is Mark Lippert?")
    assert retrieval_query("What about North Korea?", history).startswith("Who is Mark Lippert?")
    # "it" meaning the article itself is not a reference to the last answer
    assert retrieval_query("When was it published?", history) == "When was it published?"
    # A question with no subject of its own ("Why?") asks about the previous one.
    assert retrieval_query("Why?", history) == "Who is Mark Lippert? Why?"
    # ... but "What is it about?" asks about the document, not the last answer.
    assert retrieval_query("What is it about?", history) == "What is it about?"


def test_a_bare_question_word_is_answered_from_the_conversation_or_abstains_alone(
    article_settings: Settings,
) -> None:
    history = [{"role": "user", "content": "Who is Mark Lippert?"}, {"role": "assistant", "content": "x"}]
    assert answer("Why?", settings=article_settings).abstained
    followed = answer("Why?", history=history, settings=article_settings)
    assert followed.question == "Why?" and not followed.abstained
    assert "Lippert" in followed.citations[0].quote
    # The kind of answer comes from the words asked: "Why?" after a money question wants no figure.
    money = [
        {"role": "user", "content": "How much is the missile deal worth?"},
        {"role": "assistant", "content": "x"},
    ]
    why = answer("Why?", history=money, settings=article_settings)
    assert not why.abstained and why.short_answer is None


def test_a_topic_switch_is_answered_on_its_own(article_settings: Settings) -> None:
    history = [
        {"role": "user", "content": "Who is Mark Lippert?"},
        {"role": "assistant", "content": answer("Who is Mark Lippert?", settings=article_settings).text},
    ]
    switched = answer("How did China react to THAAD?", history=history, settings=article_settings)
    # The same answer as with no chat before it: the Lippert turn did not steer retrieval.
    assert switched.text == answer("How did China react to THAAD?", settings=article_settings).text
    follow = answer("What did he do before?", history=history, settings=article_settings)
    assert "Lippert" in follow.text or "Hagel" in follow.text or "chief of staff" in follow.text.lower()


def test_history_is_bounded_and_malformed_turns_are_ignored() -> None:
    settings = Settings(max_history_turns=3, max_history_chars=1000)
    huge = [{"role": "user", "content": "x" * 20_000_000}]
    kept = normalise_history(huge, settings)
    assert len(kept) == 1 and len(kept[0]["content"]) == 1000
    many = [{"role": "user", "content": f"q{i}"} for i in range(50)]
    assert [m["content"] for m in normalise_history(many, settings)] == ["q47", "q48", "q49"]
    odd: list[Any] = [
        5,
        None,
        {"role": "system", "content": "ignored"},
        {"role": "user"},
        {"role": "user", "content": [{"type": "text", "text": 7}, {"type": "text", "text": "parts"}]},
        {"role": "assistant", "content": {"not": "text"}},
    ]
    assert normalise_history(odd, settings) == ({"role": "user", "content": "parts"},)
    assert normalise_history(5, settings) == () and normalise_history("a string", settings) == ()


def test_bad_histories_never_crash_an_answer(article_settings: Settings) -> None:
    for history in (5, "text", [None, 3], [{"role": "user", "content": [{"text": None}]}]):
        assert (
            "136"
            in answer("How many missiles were approved?", history=history, settings=article_settings).text
        )


def test_surrogates_and_bytes_in_questions(article_settings: Settings) -> None:
    with pytest.raises(BadQuestionError, match="empty"):
        answer("\ud800", settings=article_settings)
    assert "136" in answer("How many \ud800 missiles were approved?", settings=article_settings).text
    assert "136" in answer(b"How many missiles were approved?", settings=article_settings).text  # type: ignore[arg-type]


# The stages of the flow, in order: a module may import from its own stage or earlier ones only.
