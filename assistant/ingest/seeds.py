"""Seeds: find the documents in ``seeds/``, read them safely, and hand their text to cleaning.

Only files inside the seeds folder are read: a symlink (to a file or a folder) that resolves
outside it is skipped, as are broken links and links to folders. A file that cannot be used
(binary, in no encoding decoding.py can read, empty, too large, not a regular file) becomes a
:class:`SeedProblem` naming the file and the fix; it never stops a build. Reading (bytes and
digest) is separate from parsing, so a build parses only the files whose bytes changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.cleaning import KnownMeta, Reading, SeedDocument, read_document
from assistant.ingest.decoding import MHTML_SUFFIXES, NotText, decode
from assistant.ingest.docx_text import read_docx
from assistant.ingest.html_text import extract_page
from assistant.ingest.pdf_text import read_pdf

__all__ = [
    "SEED_SUFFIXES",
    "RawSeed",
    "SeedDocument",
    "SeedFile",
    "SeedProblem",
    "find_seeds",
    "inspect_seed",
    "is_inside",
    "load_seeds",
    "parse_seed",
    "read_seed",
    "scan_seeds",
    "seed_files",
    "text_as_read",
]

log = logging.getLogger(__name__)

#: Read as a browser shows them: the article text extracted from the page.
HTML_SUFFIXES = (".html", ".htm", *MHTML_SUFFIXES)
#: Print formats: their text layer is read, then cleaned like a .txt seed.
PRINT_SUFFIXES = (".pdf", ".docx")
SEED_SUFFIXES = (".txt", ".md", ".markdown", *HTML_SUFFIXES, *PRINT_SUFFIXES)


@dataclass(frozen=True)
class SeedProblem:
    """A seed file that was left out, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class SeedFile:
    """A file found in the seeds folder: its name in the index and the real path to read."""

    source: str
    path: Path


@dataclass(frozen=True)
class RawSeed:
    """A seed's bytes as read, before parsing."""

    source: str
    suffix: str
    data: bytes
    digest: str  # sha256 of the bytes: what "changed" means


def is_inside(seeds_dir: Path, path: Path) -> bool:
    """True when ``path``, with every symlink resolved, lies inside ``seeds_dir`` (the upload rule too)."""
    try:
        return path.resolve().is_relative_to(seeds_dir.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def find_seeds(seeds_dir: Path) -> tuple[list[SeedFile], list[SeedProblem]]:
    """Every candidate seed under ``seeds_dir`` (sorted), and the entries refused on sight.

    Hidden folders are not entered; a hidden file with a seed suffix is reported (it looks meant to
    be indexed), other hidden files (editor swap files, upload temporaries) are ignored.
    """
    if not seeds_dir.is_dir():
        return [], []
    root = seeds_dir.resolve()
    found: list[SeedFile] = []
    problems: list[SeedProblem] = []

    def walk(folder: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            problems.append(SeedProblem(prefix or ".", f"folder unreadable ({exc.strerror or exc})"))
            return
        for entry in entries:
            source = prefix + entry.name
            path = Path(entry.path)
            if spoof := _mixed_script_word(entry.name):
                problems.append(
                    SeedProblem(
                        source,
                        f"its name mixes Latin with look-alike {spoof} letters in one word, as a file "
                        "posing as another does; rename it with one alphabet per word to index it",
                    )
                )
                continue
            if entry.name.startswith("."):
                if not entry.is_dir(follow_symlinks=False) and path.suffix.lower() in SEED_SUFFIXES:
                    problems.append(
                        SeedProblem(source, "hidden file (its name starts with '.'); rename it to index it")
                    )
                continue
            if entry.is_symlink():
                result = _follow(path, source, root, seeds_dir)
                (problems if isinstance(result, SeedProblem) else found).append(result)  # type: ignore[arg-type]
            elif entry.is_dir(follow_symlinks=False):
                walk(path, source + "/")
            else:
                found.append(SeedFile(source, path))

    walk(seeds_dir, "")
    found.sort(key=lambda s: s.source.split("/"))
    return found, problems


_LOOK_ALIKE_SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")


def _mixed_script_word(name: str) -> str | None:
    """The other alphabet when a word of ``name`` mixes Latin letters with Cyrillic, Greek, Armenian
    or Cherokee ones ("two-k\u043ereas.txt" posing as "two-koreas.txt"); None for an honest name.

    A whole word in one alphabet ("\u043d\u043e\u0432\u043e\u0441\u0442\u0438.txt") is fine:
    only a mix inside one word is the spoofing shape (Unicode TS #39's mixed-script check, simplified).
    """
    import unicodedata

    for word in re.findall(r"[^\W\d_]+", name):
        scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in word}
        other = scripts & set(_LOOK_ALIKE_SCRIPTS)
        if "LATIN" in scripts and other:
            return sorted(other)[0].title()
    return None


def _follow(link: Path, source: str, root: Path, seeds_dir: Path) -> SeedFile | SeedProblem:
    """A symlink in the seeds folder: read its target only if that is a file inside the folder."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return SeedProblem(
            source, f"broken symlink (its target {os.readlink(link)} does not exist); remove or fix the link"
        )
    except (OSError, RuntimeError) as exc:
        why = "a symlink loop" if isinstance(exc, RuntimeError) or exc.errno == 40 else exc.strerror
        return SeedProblem(source, f"unreadable ({why})")
    if not target.is_relative_to(root):
        return SeedProblem(
            source,
            f"symlink to {target}, outside the seeds folder: not read; "
            f"copy the file into {seeds_dir}/ instead",
        )
    if target.is_dir():
        return SeedProblem(source, "symlink to a folder: not followed (its files are read where they are)")
    return SeedFile(source, target)


def seed_files(seeds_dir: Path) -> list[Path]:
    """The real paths of the seeds under ``seeds_dir`` that may be read, sorted by name."""
    return [s.path for s in find_seeds(seeds_dir)[0]]


def scan_seeds(seeds_dir: Path, max_bytes: int) -> tuple[list[RawSeed], list[SeedProblem]]:
    """Read every seed's bytes (not parsed); unusable files become problems, logged at INFO."""
    files, problems = find_seeds(seeds_dir)
    # INFO, not WARNING: the build's report carries every problem, and the CLI prints it from there.
    for problem in problems:
        log.info("Skipping seed %s", problem)
    raws: list[RawSeed] = []
    for seed in files:
        log.debug("Reading seed %s", seed.source)
        result = read_bytes(seed, max_bytes)
        if isinstance(result, SeedProblem):
            log.info("Skipping seed %s", result)
            problems.append(result)
        else:
            raws.append(result)
    problems.sort(key=lambda p: p.source.split("/"))
    return raws, problems


def read_bytes(seed: SeedFile, max_bytes: int) -> RawSeed | SeedProblem:
    """The seed's bytes, or why they cannot be used (never follows a link swapped in since listing)."""
    source, path = seed.source, seed.path
    if path.suffix.lower() not in SEED_SUFFIXES:
        return SeedProblem(
            source,
            f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md, .html, .mhtml, .pdf or .docx",
        )
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: a file replaced by a
        # symlink after it was listed is refused, not followed.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return SeedProblem(source, "file vanished while indexing")
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: it became a symlink after the listing
            return SeedProblem(source, "turned into a symlink while indexing; run the build again")
        return SeedProblem(source, f"unreadable ({exc.strerror or exc})")
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return SeedProblem(source, "not a regular file (a pipe, socket or device)")
        if info.st_size > max_bytes:
            return _too_big(source, info.st_size, max_bytes)
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            return SeedProblem(source, f"unreadable ({exc.strerror or exc})")
    if len(data) > max_bytes:  # it grew while being read
        return _too_big(source, len(data), max_bytes)
    return RawSeed(source, path.suffix.lower(), data, hashlib.sha256(data).hexdigest())


def _too_big(source: str, size: int, max_bytes: int) -> SeedProblem:
    return SeedProblem(
        source,
        f"{size / 2**20:.1f} MiB is over the {max_bytes / 2**20:g} MiB limit "
        "(raise ASSISTANT_MAX_SEED_MB to index it)",
    )


def page_text(raw: RawSeed) -> tuple[str, KnownMeta | None] | SeedProblem:
    """The text a seed's citations point into, with what an HTML page says of itself outside its text.

    For a ``.txt`` or ``.md`` seed that is the file's text as decoded; for an HTML page (or the page
    inside an MHTML save) it is the article text extracted from it; for a PDF or a .docx, the text of
    its pages or paragraphs (pdf_text.py, docx_text.py).
    """
    try:
        if raw.suffix == ".pdf":
            pdf = read_pdf(raw.data)
            return pdf.text, KnownMeta(title=pdf.title, pages=pdf.pages, site=pdf.site, hidden=pdf.hidden)
        if raw.suffix == ".docx":
            return read_docx(raw.data), None
        text = decode(raw.data, raw.suffix)
    except NotText as exc:
        return SeedProblem(raw.source, str(exc))
    if not text.strip():
        return SeedProblem(raw.source, "empty file")
    if raw.suffix in HTML_SUFFIXES:
        page = extract_page(text)
        return page.text, KnownMeta(page.title, page.author, page.date_iso, page.left_out, site=page.site)
    return text, None


def text_as_read(path: Path) -> str | None:
    """The text that citations of the seed file at ``path`` index into, or None if it can't be read."""
    try:  # bytes, then decode, as the indexer does: read_text would turn \r\n into \n
        raw = RawSeed(path.name, path.suffix.lower(), path.read_bytes(), "")
    except OSError:
        return None
    result = page_text(raw)
    return None if isinstance(result, SeedProblem) else result[0]


def inspect_raw(raw: RawSeed) -> Reading | SeedProblem:
    """Decode and read a seed's bytes: the document and how each of its blocks was read."""
    result = page_text(raw)
    if isinstance(result, SeedProblem):
        return result
    text, known = result
    if known is not None:  # an HTML page or a PDF: spans point into its extracted text, not the file
        reading = read_document(raw.source, text, raw.digest, known=known)
        return dataclasses.replace(reading, left_out=known.left_out, pages=known.pages, hidden=known.hidden)
    return read_document(raw.source, text, raw.digest, markdown=raw.suffix in (".md", ".markdown"))


def parse_seed(raw: RawSeed) -> SeedDocument | SeedProblem:
    """Decode and parse a seed's bytes into a document (title, date, author, body spans)."""
    result = inspect_raw(raw)
    return result if isinstance(result, SeedProblem) else result.document


def inspect_seed(path: Path, source: str, max_bytes: int) -> Reading | SeedProblem:
    """Read one seed file and say how it was read (kept paragraphs, dropped blocks), or why it can't be."""
    raw = read_bytes(SeedFile(source, path), max_bytes)
    return raw if isinstance(raw, SeedProblem) else inspect_raw(raw)


def read_seed(path: Path, source: str, max_bytes: int) -> SeedDocument | SeedProblem:
    """Read and parse one seed file, or say why it cannot be used."""
    result = inspect_seed(path, source, max_bytes)
    return result if isinstance(result, SeedProblem) else result.document


def load_seeds(seeds_dir: Path, max_bytes: int) -> tuple[list[SeedDocument], list[SeedProblem]]:
    """Read and parse every seed; bad ones (binary, not UTF-8, empty, too big, unreadable) become problems."""
    raws, problems = scan_seeds(seeds_dir, max_bytes)
    documents: list[SeedDocument] = []
    for raw in raws:
        result = parse_seed(raw)
        (problems if isinstance(result, SeedProblem) else documents).append(result)  # type: ignore[arg-type]
    return documents, problems
