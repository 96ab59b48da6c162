"""Word (.docx) seeds: the document's paragraphs and table rows as plain text, read with python-docx.

A .docx is a zip of XML parts. Before python-docx opens it, the archive's declared sizes are checked
(a "zip bomb" disguised as .docx would expand to gigabytes): at most ``MAX_EXPANDED`` bytes in all.
Paragraphs become paragraphs separated by a blank line; a table row becomes one line with its cells
joined by " | " (the cleaner reads it as a table row, as in Markdown). Headers, footers, comments and
tracked deletions are not part of the text. The result goes through the same cleaning as a .txt seed.
"""

from __future__ import annotations

import io
import zipfile

from assistant.ingest.decoding import NotText

#: Most bytes a .docx may expand to (all its parts together): news articles need well under 1 MiB.
MAX_EXPANDED = 64 * 2**20


def read_docx(data: bytes) -> str:
    """The text of a .docx file's bytes. Raises NotText with what to do when it cannot be read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NotText(f"not a readable .docx ({exc}); save it again from Word or as .txt") from None
    if expanded > MAX_EXPANDED:
        raise NotText(
            f"a .docx that expands to {expanded / 2**20:,.0f} MiB (over {MAX_EXPANDED / 2**20:.0f} MiB; "
            "a zip bomb?): not read"
        )
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(io.BytesIO(data))
        blocks = [_block_text(block) for block in document.iter_inner_content()]
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise NotText(f"not a readable .docx ({type(exc).__name__}); save it again from Word") from None
    except Exception as exc:  # lxml's and python-docx's own errors on a broken part
        raise NotText(f"not a readable .docx ({type(exc).__name__}); save it again from Word") from None
    text = "\n\n".join(b for b in blocks if b.strip())
    if not any(ch.isalnum() for ch in text):
        raise NotText("a .docx with no text in its body")
    return text + "\n"


def _block_text(block: object) -> str:
    rows = getattr(block, "rows", None)
    if rows is None:  # a paragraph
        return str(getattr(block, "text", "")).strip()
    lines = []
    for row in rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
