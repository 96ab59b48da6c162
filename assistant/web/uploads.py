"""Uploads from the Documents tab: check a file with the seed reader's own rules, store it, index it.

A file is checked exactly as a seed would be (assistant.ingest.seeds.read_seed: type, regular file,
binary, undecodable, empty), plus the upload size limit and a safe file name; a refused file is never
written to the seeds folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Upload types the Documents tab accepts (the seeds loader reads more; the web keeps to these).
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".mhtml", ".pdf", ".docx")

_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")


class UploadError(ValueError):
    """A file the Documents tab refuses; the message says why, for the user."""


def safe_filename(name: str) -> str:
    """A harmless file name for an upload: no folders, no hidden files, only [A-Za-z0-9._-]."""
    base = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = unicodedata.normalize("NFKD", base).rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = _NAME_BAD.sub("-", stem.encode("ascii", "ignore").decode()).strip("._-")[:80] or "document"
    suffix = _NAME_BAD.sub("", suffix.encode("ascii", "ignore").decode()).lower()
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(path: Path, name: str, max_bytes: int, seconds: float = 60.0) -> str:
    """The safe file name for the upload at ``path`` (sent as ``name``), or UploadError saying why not.

    The file is parsed in the seed parser's worker process (within ``seconds``), never in the server's
    own threads; the build that follows reuses that parse.
    """
    from assistant.ingest.seeds import SeedFile, SeedProblem, read_bytes
    from assistant.ingest.worker import parse_limited

    filename = safe_filename(name)
    if not filename.endswith(UPLOAD_SUFFIXES):
        raise UploadError(f"{name!r} is not a .txt, .md, .html, .mhtml, .pdf or .docx file.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UploadError(f"{name!r} could not be read ({exc.strerror or exc}).") from None
    if size > max_bytes:
        raise UploadError(f"{name!r} is larger than the {max_bytes / 2**20:g} MB limit.")
    raw = read_bytes(SeedFile(filename, path), max_bytes)
    read = raw if isinstance(raw, SeedProblem) else parse_limited(raw, seconds)
    if isinstance(read, SeedProblem):
        raise UploadError(f"{name!r} cannot be used: {read.reason}.")
    return filename


def store_upload(seeds_dir: Path, filename: str, data: bytes) -> Path:
    """Write ``data`` into ``seeds_dir`` under ``filename`` or the first free ``stem-N`` variant.

    The bytes go to a hidden temporary file first (the seeds loader ignores hidden files) and are
    then hard-linked into place, which fails instead of overwriting when the name is taken.
    """
    seeds_dir.mkdir(parents=True, exist_ok=True)
    stem, _, suffix = filename.rpartition(".")
    tmp = seeds_dir / f".upload-{os.getpid()}-{os.urandom(4).hex()}.part"
    tmp.write_bytes(data)
    try:
        for n in range(1, 1000):
            target = seeds_dir / (filename if n == 1 else f"{stem}-{n}.{suffix}")
            if target.resolve().parent != seeds_dir.resolve():
                raise UploadError(f"{filename!r} is not a usable file name.")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
        raise UploadError(f"Too many files named like {filename!r} already.")
    finally:
        tmp.unlink(missing_ok=True)


def add_upload(
    path: Path, name: str, seeds_dir: Path, max_bytes: int, build: Callable[[], Any], seconds: float = 60.0
) -> Any:
    """Check and store an upload, then ``build()`` the index; returns (stored file name, report).

    A refused file changes nothing: it is never written, or removed again if the build skips it or
    fails. Raises UploadError (or the build's AssistantError) with the reason.
    """
    filename = check_upload(path, name, max_bytes, seconds)
    target = store_upload(seeds_dir, filename, path.read_bytes())
    try:
        report = build()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    problem = next((s for s in report.skipped if s.startswith(f"{target.name}:")), None)
    if problem:
        target.unlink(missing_ok=True)
        raise UploadError(f"Not added: {problem}")
    return target.name, report
