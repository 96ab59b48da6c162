"""Answer: a question (and the chat so far) in, an ``Answer`` with exact citations out.

The chain (``chain.answer_chain``) condenses a follow-up, retrieves evidence from the index
(``retrieval``: dense + BM25) and hands it to an answerer: the extractive one here (``extractive``:
the reader and the fitted scorer pick sentences to quote, or it abstains) or the optional LLM one
(``assistant.llm``). ``api.Assistant`` uses ``answer_chain``, ``Turn`` and ``Searcher``.
"""

from assistant.answering.chain import Turn, answer_chain, clean_question, normalise_history
from assistant.answering.retrieval import Searcher

__all__ = ["Searcher", "Turn", "answer_chain", "clean_question", "normalise_history"]
