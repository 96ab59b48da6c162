"""Seeds: find the documents in ``seeds/``, read them safely, and hand their text to cleaning.

A file that cannot be used (binary, not UTF-8, empty, too large, not a regular file) becomes a
:class:`SeedProblem` naming the file and the fix; it never stops a build.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from dataclasses import dataclass
from pathlib import Path

from assistant.cleaning import KnownMeta, Reading, SeedDocument, read_document
from assistant.html_text import extract_page

__all__ = [
    "SEED_SUFFIXES", "SeedDocument", "SeedProblem", "inspect_seed", "load_seeds", "read_seed", "seed_files",
]  # fmt: skip

log = logging.getLogger(__name__)

SEED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


@dataclass(frozen=True)
class SeedProblem:
    """A seed file that was left out, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def seed_files(seeds_dir: Path) -> list[Path]:
    """Every file under ``seeds_dir`` that is not hidden, sorted by path."""
    if not seeds_dir.is_dir():
        return []
    return sorted(
        p
        for p in seeds_dir.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(seeds_dir).parts) and not p.is_dir()
    )


def load_seeds(seeds_dir: Path, max_bytes: int) -> tuple[list[SeedDocument], list[SeedProblem]]:
    """Read every seed; bad ones (binary, not UTF-8, empty, too big, unreadable) become problems."""
    documents: list[SeedDocument] = []
    problems: list[SeedProblem] = []
    for path in seed_files(seeds_dir):
        source = path.relative_to(seeds_dir).as_posix()
        result = read_seed(path, source, max_bytes)
        if isinstance(result, SeedProblem):
            log.warning("Skipping seed %s", result)
            problems.append(result)
        else:
            documents.append(result)
    return documents, problems


def read_seed(path: Path, source: str, max_bytes: int) -> SeedDocument | SeedProblem:
    """Read and parse one seed file, or say why it cannot be used."""
    result = inspect_seed(path, source, max_bytes)
    return result if isinstance(result, SeedProblem) else result.document


def inspect_seed(path: Path, source: str, max_bytes: int) -> Reading | SeedProblem:
    """Read one seed file and say how it was read (kept paragraphs, dropped blocks), or why it can't be."""
    if path.suffix.lower() not in SEED_SUFFIXES:
        return SeedProblem(
            source, f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md or .html"
        )
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # reading a FIFO would wait forever for a writer
            return SeedProblem(source, "not a regular file (a pipe, socket or device)")
        size = info.st_size
        if size > max_bytes:
            return SeedProblem(
                source,
                f"{size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit "
                "(raise ASSISTANT_MAX_SEED_MB to index it)",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return SeedProblem(source, "file vanished while indexing")
    except OSError as exc:
        return SeedProblem(source, f"unreadable ({exc.strerror or exc})")
    if b"\x00" in data[:8192]:
        return SeedProblem(source, "binary file, not text")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SeedProblem(source, f"not valid UTF-8 (byte {exc.start}); re-save it as UTF-8")
    if not raw.strip():
        return SeedProblem(source, "empty file")
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        # Spans of an HTML seed point into the extracted article text, not into the HTML.
        page = extract_page(raw)
        known = KnownMeta(page.title, page.author, page.date_iso)
        return read_document(source, page.text, digest, known=known)
    return read_document(source, raw, digest, markdown=suffix in (".md", ".markdown"))
