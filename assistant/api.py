"""The Python API: one :class:`Assistant` owns the corpus and answers from it.

    >>> from assistant import Assistant
    >>> bot = Assistant()                       # Settings() from ASSISTANT_* env vars
    >>> bot.answer("How much is the sale worth?").text

An Assistant builds its parts on first use, once: the Chroma store, the embedding model, the searcher
and (when ``settings.llm`` is set) the chat model. Each part can be handed in instead, so tests and
embedding applications pass their own. ``answer()`` and ``build_index()`` are one-line conveniences
over a default Assistant for the given settings.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from assistant.answering.chain import Turn, answer_chain, clean_documents, clean_question, normalise_history
from assistant.errors import IndexMissingError
from assistant.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

    from assistant.answering.retrieval import Searcher
    from assistant.indexing.build import IndexedDocument
    from assistant.indexing.embedding import Embedder
    from assistant.indexing.evidence import PassageHit
    from assistant.indexing.store import Store
    from assistant.results import Answer, IndexReport


class Assistant:
    """The assistant over one seeds folder and its index; safe to share between threads."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._store = store
        self._chat_model = chat_model
        self._searcher: Searcher | None = None
        self._chain: Runnable | None = None
        self._lock = threading.RLock()

    # --- parts, each built once -------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first encode)."""
        with self._lock:
            if self._embedder is None:
                from assistant.indexing.embedding import shared_embedder

                self._embedder = shared_embedder(self.settings.embedding_model, self.settings.precision)
            return self._embedder

    @property
    def store(self) -> Store:
        """The Chroma store holding the index (embedded in ``index_dir`` or on a Chroma server)."""
        with self._lock:
            if self._store is None:
                from assistant.indexing.store import Store

                self._store = Store(self.settings)
            return self._store

    @property
    def searcher(self) -> Searcher:
        """Hybrid search over the current index generation."""
        with self._lock:
            if self._searcher is None:
                from assistant.answering.retrieval import Searcher

                self._searcher = Searcher(self.settings, self.store, self.embedder)
            return self._searcher

    @property
    def chat_model(self) -> BaseChatModel | None:
        """The LLM named by ``settings.llm`` (None: the extractive answerer), built once."""
        with self._lock:
            if self._chat_model is None and self.settings.llm:
                from assistant.llm.answerer import make_chat_model

                self._chat_model = make_chat_model(self.settings)
            return self._chat_model

    def chain(self) -> Runnable:
        """The LangChain runnable ``condense | retrieve | respond`` (input: a Turn)."""
        with self._lock:
            if self._chain is None:
                self._chain = answer_chain(self.searcher, self.chat_model, self.settings)
            return self._chain

    # --- what it does -----------------------------------------------------------------------------

    def answer(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        documents: Sequence[str] | str | None = None,
    ) -> Answer:
        """Answer ``question`` from the indexed seeds, quoting them with numbered citations.

        ``history`` is the chat so far, oldest first, as ``{"role": "user"|"assistant", "content"}``
        messages; follow-up questions use it. ``documents`` narrows the question to those documents
        (file names, titles, sites or authors; see :meth:`documents`); without it the question
        finds its documents itself (one it names, or the previous answer's for a follow-up). The
        index is built on first use if there is none. Raises BadQuestionError for an empty,
        overlong or unreadable question, UnknownDocumentError for a document not in the index.
        """
        question = clean_question(question, self.settings.max_question_chars)
        chosen = clean_documents(documents)
        turn = Turn(question, normalise_history(history, self.settings), chosen)
        self._ensure_index()
        return self.chain().invoke(turn)

    def search(self, query: str, k: int | None = None) -> list[PassageHit]:
        """The ``k`` best passages for ``query`` (default ``settings.top_k``)."""
        query = clean_question(query, self.settings.max_question_chars)
        self._ensure_index()
        return self.searcher.search(query, k or self.settings.top_k)

    def build_index(
        self, *, progress: bool | Callable[[int, int], None] | None = None, wait: bool = False
    ) -> IndexReport:
        """Bring the index in line with the seeds folder and report what changed (see index.py)."""
        from assistant.indexing.build import build_index

        return build_index(self.settings, progress=progress, wait=wait, store=self.store)

    def documents(self) -> tuple[IndexedDocument, ...]:
        """The documents in the current index, sorted by source (empty when there is no index)."""
        from assistant.indexing.build import indexed_documents

        return indexed_documents(self.settings, store=self.store)

    def _ensure_index(self) -> None:
        try:
            self.store.require()
        except IndexMissingError:
            self.build_index(wait=True)


_DEFAULT: Assistant | None = None
_DEFAULT_LOCK = threading.Lock()


def default_assistant(settings: Settings | None = None) -> Assistant:
    """The process's default Assistant for ``settings`` (replaced when other settings are asked for)."""
    global _DEFAULT
    settings = settings or Settings()
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT.settings != settings:
            _DEFAULT = Assistant(settings)
        return _DEFAULT


def answer(
    question: str,
    *,
    history: Sequence[Any] | None = None,
    documents: Sequence[str] | str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer ``question`` with the default Assistant for ``settings`` (see :meth:`Assistant.answer`)."""
    return default_assistant(settings).answer(question, history, documents)


def build_index(
    settings: Settings | None = None,
    *,
    progress: bool | Callable[[int, int], None] | None = None,
    wait: bool = False,
) -> IndexReport:
    """Bring the index in line with the seeds folder (see :meth:`Assistant.build_index`)."""
    return default_assistant(settings).build_index(progress=progress, wait=wait)


def indexed_documents(settings: Settings | None = None) -> tuple[IndexedDocument, ...]:
    """The documents in the current index (see :meth:`Assistant.documents`)."""
    return default_assistant(settings).documents()
