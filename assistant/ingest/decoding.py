"""Bytes to text: the encoding a seed was saved in, and the page inside a browser's MHTML save.

UTF-8 is read as UTF-8 and UTF-16 by its byte-order mark. Pages saved from older sites, and scrapes
of them, are often in a legacy encoding; they are read as a browser would rather than refused:

* an HTML page's own declaration (``<meta charset>``, as browsers look for it in the first 1024
  bytes) is followed, with ISO-8859-1 and ASCII read as windows-1252, as the HTML standard says;
* otherwise windows-1252 (the browsers' fallback for Western text), when what it gives reads as
  Western text: few accented letters among the letters, and no superscript digits glued to
  letters (how Polish or Czech windows-1250 text looks when misread);
* otherwise the best guess of ``charset_normalizer`` (Cyrillic, Greek, Chinese, Japanese, Polish ...).

Czech or Slovak text in windows-1250 can still read as plausible windows-1252 and be misread: the
docs say to save such files as UTF-8.

A file that is none of these (NUL bytes, or no encoding fits) raises :class:`NotText`.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import logging
import re

log = logging.getLogger(__name__)

MHTML_SUFFIXES = (".mhtml", ".mht")
_SNIFF = 8192  # bytes looked at to tell UTF-16 without a byte-order mark from binary
#: Most multipart containers an MHTML save may declare. A browser's save has one or two; thousands of
#: nested ones make Python's MIME parser recurse past its limit (a RecursionError, not a message).
MAX_MIME_CONTAINERS = 64
_MULTIPART = re.compile(rb"content-type:\s*multipart/", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
# Labels the HTML standard reads as windows-1252 (a superset that browsers use for all of them).
_AS_WINDOWS_1252 = {"iso8859-1", "latin-1", "ascii", "cp1252"}
#: Western European text has a few accented letters among many plain ones (French about 4%,
#: German 2%, Portuguese 5%); text in another script misread as windows-1252 is mostly accented.
_MAX_ACCENTED_SHARE = 0.3
_GLUED_SUPERSCRIPT = re.compile(r"[^\W\d_][¹²³]|[¹²³][^\W\d_]")


class NotText(ValueError):
    """The bytes are not text this reader can decode; the message says why and what to do."""


def decode(data: bytes, suffix: str) -> str:
    """The text of a seed's bytes (for an MHTML save, the HTML of its page). Raises NotText."""
    if suffix in MHTML_SUFFIXES:
        data = mhtml_page(data)
        suffix = ".html"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotText(f"not valid UTF-16 (byte {exc.start}); re-save it as UTF-8") from None
    head = data[:_SNIFF]
    if b"\x00" in data:  # anywhere, not just the head: binary after a text preamble is still binary
        # Plain-ASCII text in UTF-16 without a byte-order mark: every other byte is zero.
        if (
            len(head) >= 4
            and min(head[0::2].count(0), head[1::2].count(0)) == 0
            and head.count(0) >= 0.4 * len(head)  # ASCII in UTF-16: half the bytes are zero
        ):
            raise NotText("UTF-16 without a byte-order mark is not supported; re-save it as UTF-8")
        raise NotText("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    text = _legacy(data, declared=_declared_charset(data) if suffix in (".html", ".htm") else None)
    if text is None:
        raise NotText(f"not valid UTF-8 (byte {first_bad}) and no other encoding fits; re-save it as UTF-8")
    return text


def mhtml_page(data: bytes) -> bytes:
    """The HTML of the page in a browser's "save as single file" (MHTML), as bytes in its own charset."""
    containers = len(_MULTIPART.findall(data))
    if containers > MAX_MIME_CONTAINERS:
        raise NotText(
            f"an MHTML file with {containers} multipart containers (at most {MAX_MIME_CONTAINERS} are read); "
            "save the page again from the browser, or as .html"
        )
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        for part in message.walk():
            if part.get_content_type() == "text/html":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes) and payload.strip():
                    charset = part.get_content_charset()
                    if charset and _codec(charset) not in (None, "utf-8"):
                        # Carry the part's charset into the page, where decode() looks for it.
                        payload = f'<meta charset="{charset}">'.encode("ascii", "replace") + payload
                    return payload
    except RecursionError:  # a nesting the count above missed (headers folded oddly): still refused
        raise NotText("an MHTML file nested too deeply to read; save the page again as .html") from None
    raise NotText("an MHTML file with no HTML page inside; save the page again as .html or .mhtml")


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:1024])
    return _codec(match.group(1).decode("ascii")) if match else None


def _legacy(data: bytes, declared: str | None) -> str | None:
    """Text in a legacy encoding: the page's declared one, else windows-1252 if it reads, else a guess."""
    if declared and declared != "utf-8":
        encoding = "cp1252" if declared in _AS_WINDOWS_1252 else declared
        try:
            return _logged(data.decode(encoding), encoding, "declared")
        except UnicodeDecodeError:
            pass  # the declaration is wrong: guess as for an undeclared file
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _reads_as_western(text):
        return _logged(text, "cp1252", "guessed")
    from charset_normalizer import from_bytes

    # Its candidates, best first; one that reads as misread Western text (as windows-1252 did) is passed over.
    for match in from_bytes(data):
        guess = str(match)
        if match.encoding and not _GLUED_SUPERSCRIPT.search(guess):
            return _logged(guess, match.encoding, "guessed")
    return None


def _reads_as_western(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    accented = sum(1 for c in letters if ord(c) > 127)
    if letters and accented / len(letters) > _MAX_ACCENTED_SHARE:
        return False
    return not _GLUED_SUPERSCRIPT.search(text)


def _logged(text: str, encoding: str, how: str) -> str:
    log.info("Read a seed as %s (%s), not UTF-8", encoding, how)
    return text
