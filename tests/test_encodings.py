"""Seeds as browsers and scrapers save them: legacy encodings and MHTML ("save as single file")."""

from __future__ import annotations

import quopri
import random

import pytest

from assistant import answer, build_index
from assistant.ingest.decoding import NotText, decode
from assistant.ingest.html_text import extract_page
from assistant.ingest.seeds import RawSeed, inspect_raw, text_as_read

STORY = (
    "The harbour will close for six weeks of repairs from Monday, the port authority said, after divers "
    "found cracks in the main sea wall during a routine inspection last month. Fishing boats will move "
    "to the north quay, which can take about forty vessels. The repairs are expected to cost 2.3 million "
    "pounds, a spokesperson told reporters."
)

LEGACY = {
    "windows-1252 English": ("The café’s owner said “we’re full” — prices rose 5€ since May.\n", "cp1252"),
    "ISO-8859-1 French": ("Le café de la gare ouvre à midi. Déjà plein, dit le patron.\n", "latin-1"),
    "windows-1250 Polish": ("Rząd ogłosił, że płace wzrosną o pięć procent w przyszłym roku.\n", "cp1250"),
    "windows-1251 Russian": (
        "Москва заявила, что переговоры продолжатся в четверг. Министр сказал это утром журналистам.\n",
        "cp1251",
    ),
    "Shift_JIS Japanese": (
        "東京で会議が開かれた。首相は記者団に対し、経済対策を来週発表すると語った。\n",
        "shift_jis",
    ),
}


@pytest.mark.parametrize("name", LEGACY)
def test_a_seed_in_a_legacy_encoding_is_read_as_a_browser_would(name: str) -> None:
    text, encoding = LEGACY[name]
    assert decode(text.encode(encoding), ".txt") == text


def test_an_html_pages_declared_charset_is_followed() -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        "<title>Café owners protest</title></head><body><article><h1>Café owners protest</h1>"
        f"<p>{STORY} The café’s owner called it “a disaster”.</p></article></body></html>"
    )
    raw = RawSeed("cafe.html", ".html", page.encode("cp1252"), "x")  # browsers read 8859-1 as 1252
    document = inspect_raw(raw).document
    assert document.title == "Café owners protest"
    assert "“a disaster”" in document.text


def test_noise_is_still_refused_with_the_fix() -> None:
    noise = random.Random(0).randbytes(4096).replace(b"\0", b"\1")
    with pytest.raises(NotText, match=r"not valid UTF-8.*re-save it as UTF-8"):
        decode(noise, ".txt")


def mhtml(html: str, charset: str = "utf-8", extra_part: bool = True) -> bytes:
    """A page saved by Chrome as a single file: MIME parts, the page quoted-printable, CRLF lines."""
    boundary = "----MultipartBoundary--Qx7fT2----"
    body = quopri.encodestring(html.encode(charset)).decode("ascii")
    parts = [
        "From: <Saved by Blink>",
        "Snapshot-Content-Location: https://gazette.example/harbour",
        "Subject: Harbour to close for repairs",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="{boundary}"',
        "",
        "",
        f"--{boundary}",
        f"Content-Type: text/html; charset={charset}" if html else "Content-Type: text/css",
        "Content-ID: <frame-1@mhtml.blink>",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Location: https://gazette.example/harbour",
        "",
        body if html else "body{color:red}",
    ]
    if extra_part:
        parts += [
            f"--{boundary}",
            "Content-Type: image/png",
            "Content-Transfer-Encoding: base64",
            "Content-Location: https://gazette.example/logo.png",
            "",
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        ]
    parts.append(f"--{boundary}--")
    return "\r\n".join(parts).encode("ascii")


PAGE = f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<title>Harbour to close for repairs | The Gazette</title><meta name="author" content="Sam Carter">
</head><body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>Harbour to close for repairs</h1><p>{STORY}</p>
<p>Ferries will keep their usual timetable from the passenger terminal, the authority’s chief said.</p>
</article><footer>© 2024 The Gazette. All rights reserved.</footer></body></html>"""


def test_an_mhtml_save_and_a_legacy_text_are_indexed_and_cited_exactly(make_settings) -> None:
    legacy = (
        "Ferry fares to rise\n\nSingle tickets on the island ferry will rise by 5€ from June, the operator "
        "said on Friday, blaming fuel costs. The café owners’ group said the rise would keep day "
        "visitors away during the busiest weeks of the summer.\n"
    )
    settings = make_settings({"harbour.mhtml": mhtml(PAGE), "fares.txt": legacy.encode("cp1252")})
    report = build_index(settings)
    assert not report.skipped and report.added == 2

    reading = inspect_raw(RawSeed("harbour.mhtml", ".mhtml", mhtml(PAGE), "x"))
    assert reading.document.title == "Harbour to close for repairs"
    assert reading.document.author == "Sam Carter"
    assert "authority’s chief" in reading.document.text  # quoted-printable UTF-8 decoded
    doc = reading.document
    body = " ".join(doc.text[a:b] for a, b in doc.body)
    assert "forty vessels" in body and "All rights reserved" not in body and "Sport" not in body

    for question, source, words in [
        ("How many vessels can the north quay take?", "harbour.mhtml", "forty vessels"),
        ("How much will fares rise from June?", "fares.txt", "5€"),
    ]:
        result = answer(question, settings=settings)
        assert not result.abstained and words in result.text, result.text
        for citation in result.citations:
            text = text_as_read(settings.seeds_dir / citation.source)
            assert text is not None and text[citation.start : citation.end] == citation.quote
        assert any(c.source == source for c in result.citations)


def test_an_mhtml_file_without_a_page_is_reported() -> None:
    with pytest.raises(NotText, match="no HTML page"):
        decode(mhtml("", extra_part=False), ".mhtml")


def test_a_bare_copyright_year_is_not_taken_for_the_pages_date() -> None:
    page = (
        "<html><head><title>Harbour to close</title></head><body><article><h1>Harbour to close</h1>{date}"
        f"<p>{STORY}</p></article><footer>© 2024 The Gazette. All rights reserved.</footer></body></html>"
    )
    assert extract_page(page.format(date="")).date_iso is None  # not "1 January 2024"
    assert extract_page(page.format(date="<p>January 1, 2024</p>")).date_iso == "2024-01-01"
    assert extract_page(page.format(date="<p>March 5, 2024</p>")).date_iso == "2024-03-05"


def test_an_html_byline_is_shown_as_the_page_writes_it_and_names_only_the_author() -> None:
    page = (
        "<html><head><title>Quangos under fire</title></head><body><article><h1>Quangos under fire</h1>"
        '<p class="byline">By <span class="byline__name">Sarah Whitfield</span>, '
        '<span class="byline__role">Political reporter, BBC News</span></p>'
        f"<p>{STORY}</p></article></body></html>"
    )
    extracted = extract_page(page)
    assert "By Sarah Whitfield, Political reporter, BBC News" in extracted.text  # not "…; Political…"
    reading = inspect_raw(RawSeed("q.html", ".html", page.encode(), "x"))
    assert reading.document.author == "Sarah Whitfield"
