"""Ingest: seed files in, clean documents and their passages out.

Takes a file in ``seeds/`` (.txt, .md, .html, .mhtml), decodes it as a browser would, keeps the
article's text (headline, byline, date, paragraphs; page furniture left out) and cuts it into
sentence-aware passages. Every span points into the file as read (``text_as_read``), so a quote
can always be checked. Indexing uses ``scan_seeds``/``parse_seed``, ``split_document`` and
``embedding_text``; nothing here knows about Chroma, embeddings or answers.
"""

from assistant.ingest.cleaning import SeedDocument
from assistant.ingest.passages import Passage, embedding_text, split_document
from assistant.ingest.seeds import SeedProblem, inspect_seed, parse_seed, scan_seeds, text_as_read

__all__ = [
    "Passage",
    "SeedDocument",
    "SeedProblem",
    "embedding_text",
    "inspect_seed",
    "parse_seed",
    "scan_seeds",
    "split_document",
    "text_as_read",
]
