"""Eval: a question set in (the project's JSONL or a SQuAD 2.0 file), quality figures out.

``run_eval`` answers every question with the public API and scores hit rate, abstention, answer
length, citation integrity and latency (``metrics``); ``format_table``/``format_misses`` print them
for ``assistant eval``.
"""

from assistant.eval.evaluate import format_misses, format_table, run_eval

__all__ = ["format_misses", "format_table", "run_eval"]
