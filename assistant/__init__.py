"""A chat assistant over news articles: short answers that quote the article, with citations.

    >>> from assistant import Assistant, answer
    >>> result = answer("How much is the sale worth?")     # or Assistant(settings).answer(...)
    >>> print(result.text, [c.quote for c in result.citations])

Heavy libraries (torch, sentence-transformers, chromadb, gradio) load on first use, not on import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "IndexReport",
    "Settings",
    "answer",
    "build_index",
    "indexed_documents",
]

# Where each public name lives; resolved lazily so `import assistant` stays instant.
_EXPORTS = {
    "Answer": "assistant.results",
    "Citation": "assistant.results",
    "IndexReport": "assistant.results",
    "Settings": "assistant.settings",
    "Assistant": "assistant.api",
    "answer": "assistant.api",
    "build_index": "assistant.api",
    "indexed_documents": "assistant.api",
}

if TYPE_CHECKING:
    from assistant.api import Assistant, answer, build_index, indexed_documents
    from assistant.results import Answer, Citation, IndexReport
    from assistant.settings import Settings


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
