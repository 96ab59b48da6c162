# ruff: noqa: F811 (tests take the imported fixtures as arguments)
"""Ingest (#11): pages read as a person reads them — paragraphs, headline, byline, date, no furniture.

Each failure from the issue has a small real input here, and each test asserts what a reader
would: the wrapped sentence is one sentence, the Facebook headline is the title, the footer is not
indexed, the byline is the author, and every span's text is exactly the file's text.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_web_browser import browser, page  # noqa: F401 (the browser fixtures, shared)
from web_helpers import serve

from assistant import Settings, answer, build_index
from assistant.answering.focus import Catalog, named_documents
from assistant.cli import main
from assistant.eval.evaluate import run_eval
from assistant.indexing.build import index_fingerprint
from assistant.ingest.cleaning import CLEANER_VERSION, SeedDocument, parse_document, read_document
from assistant.ingest.html_text import extract_page
from assistant.ingest.paragraphs import split_paragraphs, wrap_width
from assistant.ingest.passages import embedding_text, split_document, split_sentences

FACEBOOK = (
    "Home\nWorld\nBusiness\nTech\nSport\n\n"
    "Facebook Shares Slump After Earnings Miss\n\n"
    "By Jane Doe\n\n"
    "Shares of Facebook fell 8% on Thursday after the company reported earnings below what analysts "
    "had expected for the quarter.\n\n"
    "The company said advertising revenue grew more slowly than in any quarter since it went public, "
    "and its chief financial officer warned that growth would slow further.\n\n"
    "Most Read\n\nMarkets rally as oil prices fall\nWhy your rent keeps rising\n"
    "Five stocks to watch this week\nThe best phones of the year\n\n"
    "We use cookies to improve your experience. By using this site you accept our cookie policy.\n\n"
    "© 2024 Cable News Network. All Rights Reserved.\n"
)
WRAPPED = (  # hard-wrapped at ~60 columns, paragraphs apart by blank lines and by indentation
    "Council approves new budget\n\n"
    "The city council approved a budget of $4.2 million on Monday\n"
    "after a long debate about the cost of repairing the old\n"
    "bridge. Members voted seven to two in favour of the plan,\n"
    "which also funds two new libraries.\n"
    "    The mayor said the vote showed the council could agree\n"
    "on hard questions. Critics said the bridge would still need\n"
    "more money within five years, and promised to raise it at\n"
    "the next meeting.\n\n"
    "Work on the bridge is due to start in the spring and should\n"
    "take about eighteen months, officials said on Tuesday.\n"
)


def texts(doc: SeedDocument) -> list[str]:
    return [doc.text[a:b] for a, b in doc.body]


def sentences(doc: SeedDocument) -> list[str]:
    return [" ".join(doc.text[a:b].split()) for p in doc.body for a, b in split_sentences(doc.text, p)]


def assert_offsets_exact(doc: SeedDocument) -> None:
    """Every passage sentence, and title/date/author, is a span whose text is the file's text."""
    for passage in split_document(doc, 400):
        for a, b in passage.sentences:
            quote = doc.text[a:b]
            assert quote and quote == quote.strip() and 0 <= a < b <= len(doc.text)
    for span, value in (
        (doc.title_span, doc.title),
        (doc.date_span, doc.date),
        (doc.author_span, doc.author),
    ):
        if span:
            assert " ".join(doc.text[span[0] : span[1]].split()) == value


def test_the_issues_wrapped_sentence_is_kept_whole_as_one_sentence() -> None:
    text = (
        "Markets today\n\nShares of Facebook fell 8% on Thursday after the\n"
        "company reported earnings below expectations.\n"
    )
    doc = parse_document("w.txt", text, "x")
    assert sentences(doc) == [
        "Shares of Facebook fell 8% on Thursday after the company reported earnings below expectations."
    ]
    assert doc.title == "Markets today"
    assert_offsets_exact(doc)


def test_hard_wrapped_text_is_joined_by_its_line_lengths_and_split_at_blank_lines_and_indents() -> None:
    assert wrap_width([line for line in WRAPPED.splitlines() if line.strip()]) is not None
    doc = parse_document("wrapped.txt", WRAPPED, "x")
    paragraphs = [" ".join(t.split()) for t in texts(doc)]
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("The city council approved") and paragraphs[0].endswith(
        "two new libraries."
    )
    assert paragraphs[1].startswith("The mayor said") and paragraphs[1].endswith("the next meeting.")
    assert "Members voted seven to two in favour of the plan, which also funds two new libraries." in (
        sentences(doc)
    )
    assert_offsets_exact(doc)


LONG_HEADLINE = (
    "Home News Sport Business Innovation Culture Travel Earth Video Live\n\n"
    "Android Ransomware Spreads Via Sex Simulation Game Links Across Reddit Forums\n\n"
    "Researchers are warning of a new Android ransomware being spread via links in online forums "
    "and text messages, which locks phones until a ransom is paid.\n\n"
    "The ransomware spreads through Reddit posts and SMS messages that link to a sex simulation "
    "game, the researchers said on Tuesday.\n"
)


def test_a_long_title_case_headline_is_the_title_and_a_menu_is_not() -> None:
    """Eleven Title-Case words and no function word have a menu's shape; the headline restates the
    story and the menu does not, so one is the title and the other is dropped."""
    reading = read_document("ransomware.txt", LONG_HEADLINE, "x")
    assert reading.document.title == LONG_HEADLINE.split("\n\n")[1]
    dropped = [LONG_HEADLINE[b.span[0] : b.span[1]] for b in reading.blocks if b.kind == "dropped"]
    assert dropped == ["Home News Sport Business Innovation Culture Travel Earth Video Live"]
    assert_offsets_exact(reading.document)


def test_the_pages_own_title_marks_its_headline_block_whatever_its_shape() -> None:
    from assistant.ingest.cleaning import KnownMeta

    text = LONG_HEADLINE.split("\n\n", 1)[1]
    title = "Android Ransomware Spreads Via Sex Simulation Game Links Across Reddit Forums"
    reading = read_document("page.html", text, "x", known=KnownMeta(title=title))
    kinds = {text[b.span[0] : b.span[1]]: b.kind for b in reading.blocks}
    assert kinds[title] == "title"


def test_a_short_wrapped_story_under_a_long_menu_is_joined_and_its_headline_found() -> None:
    menu = "Sport\nTennis\nFootball\nCricket\nRugby Union\nFormula 1\n\n"
    text = (
        f"{menu}Dogged Federer claims Dubai crown\n\nBy Alex Morgan, Tennis correspondent\n"
        "Published 27 February 2005\n\n"
        "World number one Roger Federer added the Dubai Championship trophy to\n"
        "his long list of successes - but not before he was given a test by Ivan\n"
        "Ljubicic.\n\n"
        "Top seed Federer looked to be on course for an easy victory when he\n"
        "thumped the eighth seed 6-1 in the first set. But Ljubicic, who beat Tim\n"
        "Henman in the last eight, dug deep to secure the second set.\n"
    )
    doc = parse_document("dubai.txt", text, "x")
    assert doc.title == "Dogged Federer claims Dubai crown"  # not the menu's "Formula 1"
    assert doc.author == "Alex Morgan" and doc.date_iso == "2005-02-27"
    body = texts(doc)
    assert len(body) == 2 and "given a test by Ivan\nLjubicic." in body[0]
    assert "who beat Tim\nHenman in the last eight" in body[1]  # a line starting with a name goes on
    assert_offsets_exact(doc)


def test_a_list_of_headlines_one_per_line_is_not_joined_as_if_wrapped() -> None:
    headlines = [
        "Brown sets out pre-election budget plans", "Police arrest man over Leeds stabbing in the city",
        "Storms to sweep across Scotland overnight", "Bank holds interest rates at four point seven",
        "Unions warn of strikes over pension changes", "New hospital opens in Glasgow after long delay",
        "Farmers protest against milk prices in Cardiff",
    ]  # fmt: skip
    paragraphs = split_paragraphs("\n".join(headlines) + "\n")
    assert len(paragraphs) == len(headlines)


def test_prose_that_leads_into_a_quote_is_content_not_a_subheading() -> None:
    text = (
        "Casino tricks face ban\n\nCulture Secretary Tessa Jowell said proposed super-casinos will be "
        "different from their US counterparts.\n\nMs Jowell said the legislation would ban psychological "
        'trickery. She told the Times:\n\n"British casinos will be quite different to those overseas."\n'
    )
    assert any(t.endswith("She told the Times:") for t in texts(parse_document("c.txt", text, "x")))


def test_one_paragraph_per_line_text_is_not_joined() -> None:
    lines = [f"Paragraph {i} says something about the town's {i} new parks and its budget." for i in range(8)]
    text = "\n".join(lines) + "\n"
    paragraphs = split_paragraphs(text)
    assert wrap_width(lines) is None
    assert [text[p.span[0] : p.span[1]] for p in paragraphs] == lines


def test_a_headline_naming_a_network_is_the_title_the_byline_the_author_and_furniture_is_dropped() -> None:
    reading = read_document("fb.txt", FACEBOOK, "x")
    doc = reading.document
    assert doc.title == "Facebook Shares Slump After Earnings Miss"
    assert doc.author == "Jane Doe"
    assert doc.text[doc.author_span[0] : doc.author_span[1]] == "Jane Doe"
    body = " ".join(texts(doc))
    assert body.startswith("Shares of Facebook fell 8%") and "went public" in body
    for furniture in ("Cable News Network", "Most Read", "Why your rent", "cookie", "Home", "Business"):
        assert furniture not in body
    reasons = {doc.text[b.span[0] : b.span[1]]: b.reason for b in reading.blocks if b.kind == "dropped"}
    assert reasons["© 2024 Cable News Network. All Rights Reserved."] == "copyright or legal notice"
    assert reasons["Why your rent keeps rising"].startswith("link list or menu")
    assert_offsets_exact(doc)


def test_glued_paragraphs_are_split_but_abbreviations_decimals_urls_and_initialisms_are_not() -> None:
    text = (
        "He had said so years earlier.Biden's gaffes were a theme.The race was close. "
        "Prices rose 3.5 percent in the U.S.Army towns near St.Louis, see example.com/News.Today for more."
    )
    got = [text[a:b] for a, b in split_sentences(text, (0, len(text)))]
    assert got[:3] == ["He had said so years earlier.", "Biden's gaffes were a theme.", "The race was close."]
    assert got[3] == text[text.index("Prices") :]


def test_a_date_inside_a_run_on_scraped_line_is_found() -> None:
    text = (
        "Senate passes the border bill\n\nBy Ann Lee\n\nGetty ImagesPrintFeb. 8, 2024\n\n"
        "The Senate passed the border bill on Thursday by a vote of 70 to 29, sending it to the House "
        "where its fate is unclear.\n"
    )
    doc = parse_document("run-on.txt", text, "x")
    assert doc.date == "Feb. 8, 2024" and doc.date_iso == "2024-02-08"
    assert doc.author == "Ann Lee"
    assert_offsets_exact(doc)
    # The byline, the photo credit and the date glued into one line.
    doc = parse_document("run-on.txt", text.replace("By Ann Lee\n\nGetty", "By Ann LeemingGetty"), "x")
    assert doc.author == "Ann Leeming" and doc.date_iso == "2024-02-08"
    assert_offsets_exact(doc)
    for name in ("Ronan McDonald", "Kate MacKenzie", "Ella FitzGerald"):  # a name's own inner capital
        assert parse_document("n.txt", text.replace("Ann Lee", name), "x").author == name


def test_markdown_list_items_and_short_fact_lines_are_content_not_headings() -> None:
    text = (
        "# Missile sale approved\n\nThe State Department approved the sale on Friday, officials said, "
        "after a review of the region.\n\nThe package includes:\n\n- 136 PAC-3 missiles\n"
        "- 12 launchers\n- training for 40 crews\n\n| item | count |\n|---|---|\n| radars | 4 |\n"
    )
    doc = parse_document("sale.md", text, "x", markdown=True)
    body = texts(doc)
    assert doc.title == "Missile sale approved"
    assert {"136 PAC-3 missiles", "12 launchers", "training for 40 crews"} <= set(body)
    assert any("radars" in t for t in body)
    assert_offsets_exact(doc)


def test_a_tables_short_rows_are_facts_but_a_lone_piped_menu_is_not() -> None:
    text = (
        "# Hoddle named Wolves manager\n\n| Club | Role | Notes |\n|---|---|---|\n"
        "| Swindon | Player-boss | First managerial job |\n| Chelsea | Manager | 1994 FA Cup final |\n\n"
        "Glenn Hoddle was named Wolves manager on Wednesday, the club said, after months of talks.\n\n"
        "| Home | News | Sport | Weather |\n"
    )
    doc = parse_document("hoddle.md", text, "x", markdown=True)
    body = texts(doc)
    assert "| Swindon | Player-boss | First managerial job |" in body  # short cells, but a table row
    assert "| Chelsea | Manager | 1994 FA Cup final |" in body
    assert not any("Weather" in t for t in body)  # no delimiter row: a menu drawn with pipes
    assert_offsets_exact(doc)


def test_a_headline_list_after_the_story_is_furniture_but_closing_facts_and_notes_are_not() -> None:
    story = (
        "Visa decision every 11 minutes\n\nVisa staff are expected to rule on an application every 11 "
        "minutes, the Public Accounts Committee found on Tuesday.\n\nMPs want research into whether "
        "visa holders leave at the end of their stays, the committee said.\n\n"
    )
    most_read = "Most read\n\n- Brown sets out budget plans\n- Police arrest man over Leeds stabbing\n"
    doc = parse_document("visa.txt", story + most_read, "x")
    assert not any("Leeds" in t or "Brown" in t for t in texts(doc))
    facts = "Key figures\n\n- Staff rule on an application every 11 minutes\n- MPs want visa research\n"
    assert "MPs want visa research" in texts(parse_document("visa.txt", story + facts, "x"))
    note = "- Brown sets out budget plans\n- Police arrest man over Leeds stabbing\n- Storms due overnight\n"
    assert len(texts(parse_document("note.md", note, "x", markdown=True))) == 3  # a note of lists only


def test_a_byline_and_dateline_written_with_no_break_spaces_are_found() -> None:
    text = (
        "Blair defends BlackBerry ban\n\nBy\u00a0Nick\u00a0Assinder\nThursday,\u00a020\u00a0January 2005\n\n"
        "Tony Blair has defended the ban on BlackBerry handheld computers in the Commons chamber, "
        "saying MPs must show respect.\u00a0The Speaker agreed with him.\n"
    )
    doc = parse_document("ban.txt", text, "x")
    assert doc.author == "Nick Assinder" and doc.date_iso == "2005-01-20"
    assert "\u00a0" in doc.text  # the file's text is kept as it is: citations quote it exactly
    assert_offsets_exact(doc)


def test_a_markdown_byline_in_emphasis_names_its_author_and_its_date_without_the_marks() -> None:
    story = (
        "The council voted on Tuesday to close the old pier for repairs, after engineers found rust in "
        "its supports. The work is expected to take eight months.\n"
    )
    cases = {
        "*By Priya Natarajan, Science Correspondent — Tuesday 4 March 2025*": (
            "Priya Natarajan",
            "2025-03-04",
        ),
        "_By Tom Okafor_\n\n*12 June 2024*": ("Tom Okafor", "2024-06-12"),
        "**By Ana Ruiz and Ben Cole** | 3 May 2023": ("Ana Ruiz and Ben Cole", "2023-05-03"),
    }
    for header, (author, iso) in cases.items():
        doc = parse_document(
            "pier.md", f"# Pier to close for repairs\n\n{header}\n\n{story}", "x", markdown=True
        )
        assert (doc.author, doc.date_iso) == (author, iso), header
        assert "*" not in (doc.date or "") and "_" not in (doc.date or ""), doc.date
        assert_offsets_exact(doc)


RUN_ON_STORY = (
    "Harbour Bakery, the family chain that began as one shop on Quay Lane, has agreed to be bought by "
    "the Dutch group Nordvik for $80 million. The sale ends 54 years of family ownership.Owner Ruth Amadi "
    "said the family had looked for a buyer for two years. She will stay on as chief executive for three "
    "years, the company said. The chain runs 41 cafes and employs about 900 people, and its sales rose 6 "
    "per cent last year to $95 million. Nordvik, which makes biscuits and frozen pastry, said it would keep "
    "the Harbour name and open 20 more cafes by 2027. It expects the deal to close in the autumn, after "
    "the competition regulator has looked at it. Bakers at the Quay Lane shop were told on Monday morning. "
    "Union officials said they had been promised that no jobs would go for at least a year. Analysts said "
    "the price was high for a chain of that size but that Nordvik wanted a way into the country's cafe "
    "market, where coffee now earns more than bread. Customers outside the shop were mostly relaxed about "
    "the news, and several said they only hoped the recipes would stay the same. The family will keep a "
    "small stake in the business and one seat on the board of the new company. Ruth Amadi's grandfather "
    "opened the first shop in 1971 with a loan from his brother, and the family still bakes its fruit loaf "
    "to his recipe. Nordvik bought two other family bakeries in the last five years and kept both brands. "
    "Its chief executive said Harbour would be run from Quay Lane, as it is now, and not from Rotterdam."
)


def test_a_page_scraped_onto_one_line_has_its_menu_headline_byline_and_footer_cut_out() -> None:
    page = (
        "Menu Home Money Shops Careers Login Register Harbour Bakery bought by Nordvik in $80 million sale "
        "By Lena Marsh | Business | Monday, 12 May 2025 "
        + RUN_ON_STORY
        + " Related: Bread prices rise | Share: Facebook Email Print © 2025 The Coast Ledger. "
        "All rights reserved. Terms Privacy"
    )
    assert len(page) > 1500 and "\n" not in page
    doc = parse_document("harbour.txt", page, "x")
    assert doc.title == "Harbour Bakery bought by Nordvik in $80 million sale"
    assert (doc.author, doc.date_iso) == ("Lena Marsh", "2025-05-12")
    (body,) = texts(doc)
    assert body.startswith("Harbour Bakery, the family chain") and body.endswith("not from Rotterdam.")
    assert_offsets_exact(doc)


def test_a_byline_joined_to_the_story_below_it_is_the_header_as_in_a_pdf_text_layer() -> None:
    page = (
        "Judge halts quarry expansion\n\n"
        "By Ada Brennan, Courts Reporter · Published March 14, 2024 A county judge on Wednesday blocked\n"
        "the planned expansion of the quarry, ruling that the state had not studied the groundwater.\n\n"
        "The residents' group said it would ask for costs. The company said it would appeal.\n"
    )
    doc = parse_document("quarry.txt", page, "x")
    assert (doc.author, doc.date_iso) == ("Ada Brennan", "2024-03-14")
    assert texts(doc)[0].startswith("A county judge on Wednesday")
    assert_offsets_exact(doc)


def test_an_abbreviation_that_opens_a_paragraph_ends_no_sentence() -> None:
    page = (
        "School day study\n\nThe council met on Monday to discuss the plan for the school day.\n\n"
        "Dr. Ines Harrow, a sleep scientist who led the study, said the results were clear. She agreed.\n"
    )
    assert "Dr. Ines Harrow, a sleep scientist who led the study, said the results were clear." in sentences(
        parse_document("sleep.txt", page, "x")
    )


def test_a_long_one_line_story_is_not_cut_at_a_sentence_that_begins_with_by() -> None:
    # No headline ends a sentence, and "By Tuesday 5 March" names no one: nothing is cut.
    story = "The council met on Monday. By Tuesday 5 March 2024 the pier was shut. " + RUN_ON_STORY
    assert len(story) > 1500
    doc = parse_document("pier.txt", story, "x")
    assert texts(doc) == [story] and doc.author is None
    doc = parse_document("pier.txt", "By Tuesday 5 March 2024 the pier was shut. " + RUN_ON_STORY, "x")
    assert doc.author is None and len(texts(doc)) == 1


def test_markdown_links_broken_onto_lines_stay_in_one_sentence_and_the_model_reads_no_url() -> None:
    text = (
        "# Agency boss speaks\n\nHasker told the summit in London that 175-year-old\n"
        "[Reuters](https://example.com/subject/reuters/)\nhas focused its deals on its text archive.\n"
    )
    doc = parse_document("links.md", text, "x", markdown=True)
    (sentence,) = [doc.text[a:b] for p in doc.body for a, b in split_sentences(doc.text, p)]
    assert sentence.startswith("Hasker told") and sentence.endswith("text archive.")
    assert embedding_text(sentence) == (
        "Hasker told the summit in London that 175-year-old Reuters has focused its deals on its "
        "text archive."
    )


@pytest.mark.parametrize(
    "name, text",
    [
        ("crlf.txt", WRAPPED.replace("\n", "\r\n")),
        ("tabs.txt", WRAPPED.replace("    ", "\t")),
        (
            "nbsp.txt",
            "Council news\n\n\u00a0\u00a0" + WRAPPED.split("\n\n", 1)[1].replace(" the ", "\u00a0the "),
        ),
        (
            "chinese.txt",
            "北京新闻\n\n北京市政府周一宣布，将在明年建设三座新图书馆。官员表示，项目预计耗资四亿元。\n",
        ),
        ("arabic.md", "# أخبار المدينة\n\nأعلن مجلس المدينة يوم الاثنين عن خطة جديدة لبناء ثلاث مكتبات.\n"),
    ],
)
def test_awkward_inputs_keep_exact_offsets(name: str, text: str) -> None:
    doc = parse_document(name, text, "x", markdown=name.endswith(".md"))
    assert doc.body, "the article's text must be kept"
    assert_offsets_exact(doc)
    if name in ("crlf.txt", "tabs.txt"):
        assert len(doc.body) == 3  # the wrapped paragraphs are rebuilt whatever the line ends


def test_a_page_that_is_mostly_menu_keeps_only_the_story() -> None:
    menu = "\n".join(f"Section {w}" for w in ("News", "Sport", "Weather", "Travel", "Culture", "Money"))
    story = "The harbour will close for repairs next week, the port authority said on Monday."
    text = f"{menu}\n\n{menu}\n\n{story}\n\n{menu}\n\nPrivacy Policy | Terms of Use | Contact | Careers\n"
    doc = parse_document("menu.txt", text, "x")
    assert texts(doc) == [story]


def test_a_long_wire_story_is_read_whole() -> None:
    towns = ["Aston", "Burford", "Corley", "Dunmore", "Elton", "Fenwick", "Garston", "Holt"]
    paragraphs = [
        f"In {town}, officials said {i * 7} homes lost power on day {i} and crews restored {i * 3} of them, "
        f"while {i + 2} roads stayed closed because of flooding near the river."
        for i in range(400)
        for town in [towns[i % len(towns)]]
    ]
    text = "STORM HITS COAST\n\n" + "\n\n".join(paragraphs) + "\n"
    doc = parse_document("wire.txt", text, "x")
    assert len(doc.body) == 400
    assert_offsets_exact(doc)


PAGE = """<!doctype html><html><head><title>Harbour to close for repairs | The Gazette</title>
<meta name="author" content="Sam Carter"><meta property="article:published_time" content="2024-03-05">
</head><body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<div class="cookie">We use cookies. Accept all cookies to continue.</div>
<article><h1>Harbour to close for repairs</h1><p class="byline">By Sam Carter, March 5, 2024</p>
<p>The harbour will close for six weeks of repairs from Monday, the port authority said, after divers
found cracks in the main sea wall during a routine inspection last month.</p>
<p>Fishing boats will move to the north quay, which can take about forty vessels, while ferries will
keep their usual timetable from the passenger terminal.</p>
<p>The repairs are expected to cost 2.3 million pounds and will be paid for by the county council,
a spokesperson for the authority told reporters on Tuesday.</p></article>
<aside><h3>Most read</h3><ul><li><a href="/a">Storm warning</a></li>
<li><a href="/b">Bus fares</a></li></ul></aside>
<footer>© 2024 The Gazette. All rights reserved. <a href="/privacy">Privacy Policy</a></footer>
</body></html>"""


def test_html_seeds_are_read_with_trafilatura_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("HTML extraction tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    extracted = extract_page(PAGE)
    assert extract_page(PAGE) == extracted  # a re-read gives the same text, so citations stay exact
    assert extracted.title == "Harbour to close for repairs"
    assert extracted.author == "Sam Carter" and extracted.date_iso == "2024-03-05"
    doc = read_document("harbour.html", extracted.text, "x").document
    assert doc.title == "Harbour to close for repairs" and doc.author == "Sam Carter"
    assert doc.date == "March 5, 2024" and doc.date_iso == "2024-03-05"
    body = " ".join(texts(doc))
    assert "north quay" in body and "2.3 million pounds" in body
    for furniture in ("cookies", "All rights reserved", "Storm warning", "Sport"):
        assert furniture not in body
    assert_offsets_exact(doc)


def test_a_cleaner_change_changes_the_index_fingerprint() -> None:
    assert index_fingerprint(Settings())["cleaner"] == CLEANER_VERSION


def test_inspect_shows_how_a_page_was_read(tmp_path: Path) -> None:
    seed = tmp_path / "fb.txt"
    seed.write_text(FACEBOOK, encoding="utf-8")
    result = CliRunner().invoke(main, ["inspect", str(seed)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Title:  Facebook Shares Slump After Earnings Miss" in out and "Author: Jane Doe" in out
    assert "DROPPED (copyright or legal notice): © 2024 Cable News Network" in out
    assert "KEPT: Shares of Facebook fell 8%" in out
    missing = CliRunner().invoke(main, ["inspect", str(tmp_path / "none.txt")])
    assert missing.exit_code != 0
    # An HTML page: what its extractor left out (menu, cookie notice, footer) is listed too.
    page = tmp_path / "harbour.html"
    page.write_text(PAGE, encoding="utf-8")
    out = CliRunner().invoke(main, ["inspect", str(page)]).output
    assert "page blocks by the HTML extractor" in out
    for furniture in ("Home News Sport", "We use cookies", "All rights reserved", "Storm warning"):
        assert any(furniture in line for line in out.splitlines() if line.startswith("[page] LEFT OUT")), out
    assert not any("north quay" in line for line in out.splitlines() if line.startswith("[page]"))


LIBRARY = (
    "Town library reopens after flood\n\n"
    "The town library reopened on Saturday, two years after a flood ruined its ground floor and "
    "most of its children's books.\n\n"
    "Volunteers catalogued 12,000 donated books over the winter, the head librarian said.\n"
)


def test_a_wire_credit_or_contact_line_names_the_author() -> None:
    story = "Rescuers found the boat on Monday after a two-day search off the coast, officials said.\n\n"
    credit = "(Reporting by Ana Lima and Joe Park; Editing by Tom Hale)\n"
    doc = parse_document("wire.txt", "Boat found\n\n" + story + credit, "x")
    assert doc.author == "Ana Lima and Joe Park"
    assert all("Editing" not in t for t in texts(doc))
    contact = "To contact the reporter on this story: Mia Chen in Boston at mchen@example.com\n"
    assert parse_document("c.txt", story + contact, "x").author == "Mia Chen"
    assert parse_document("none.txt", LIBRARY, "x").author is None


@pytest.fixture(scope="module")
def news_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("news")
    (base / "seeds").mkdir()
    (base / "seeds" / "fb.txt").write_text(FACEBOOK, encoding="utf-8")
    (base / "seeds" / "harbour.html").write_text(PAGE, encoding="utf-8")
    (base / "seeds" / "library.txt").write_text(LIBRARY, encoding="utf-8")
    settings = Settings(seeds_dir=base / "seeds", index_dir=base / "index", chroma_host=None)
    build_index(settings, progress=False)
    return settings


def test_who_wrote_it_and_when_are_answered_from_the_byline_and_dateline(news_settings: Settings) -> None:
    raw = (news_settings.seeds_dir / "fb.txt").read_text(encoding="utf-8")
    reply = answer("Facebook shares slump: who wrote this?", settings=news_settings)
    assert "Jane Doe" in reply.text and not reply.abstained
    cite = reply.citations[0]
    assert cite.source == "fb.txt" and raw[cite.start : cite.end] == cite.quote == "Jane Doe"
    reply = answer("When was the harbour repairs article published?", settings=news_settings)
    assert "March 5, 2024" in reply.text
    extracted = extract_page(PAGE).text
    assert extracted[reply.citations[0].start : reply.citations[0].end] == "March 5, 2024"
    reply = answer("Who reported the harbour story?", settings=news_settings)
    assert "Sam Carter" in reply.text
    question = "Who wrote the article about the cracks divers found in the sea wall?"
    reply = answer(question, settings=news_settings)
    assert "Sam Carter" in reply.text and reply.citations[0].quote == "Sam Carter"
    # A page with no byline or date does not say who wrote it or when, whatever its body mentions.
    for question in ("Library reopens after flood: who wrote this?", "When was the library story published?"):
        reply = answer(question, settings=news_settings)
        assert reply.abstained and reply.citations == (), (question, reply.text)


def test_a_question_about_the_article_means_the_one_its_topic_names(make_settings) -> None:
    aces = " ".join(f"In game {i} Federer held serve with {i} aces." for i in range(1, 9))
    relief = " ".join(
        f"Relief workers in district {i} said water and tents had reached {i * 40} families by the weekend."
        for i in range(1, 9)
    )
    settings = make_settings(
        {
            "dubai.txt": "Federer wins in Dubai\n\nBy Alex Morgan\nPublished 27 February 2005\n\n"
            f"Roger Federer beat Ivan Ljubicic in three sets to win the Dubai Championship. {aces}\n",
            "aid.txt": "Ex-minister attacks tsunami aid plans\n\nBy Sarah Whitfield\n30 December 2004\n\n"
            f"{relief}\n\nFormer international development secretary Clare Short criticised the plans, "
            "saying the money came too slowly.\n",
        }
    )
    # The other page's header matches "published" itself; the question's topic names this one.
    reply = answer("When was the Clare Short article published?", settings=settings)
    assert reply.citations[0].source == "aid.txt" and "30 December 2004" in reply.text, reply.text
    reply = answer("Who wrote the story about Clare Short and tsunami aid?", settings=settings)
    assert reply.citations[0].quote == "Sarah Whitfield", reply.text
    # Not a question about who wrote it: the article's words answer it, not its byline.
    reply = answer("What does the author of the aid plans say came too slowly?", settings=settings)
    assert "Clare Short" in reply.citations[0].quote, reply.text


def test_eval_answers_each_question_from_its_own_page(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "fb.txt").write_text(FACEBOOK, encoding="utf-8")
    (pages / "harbour.html").write_text(PAGE, encoding="utf-8")
    rows = [
        {"question": "Who wrote this?", "answers": ["Jane Doe"], "source": "fb.txt", "split": "tune"},
        {"question": "How much will the repairs cost?", "answers": ["2.3 million pounds"],
         "source": "harbour.html", "split": "tune"},
        {"question": "How long will the harbour close?", "answers": ["six weeks"], "source": "harbour.html",
         "split": "holdout"},
    ]  # fmt: skip
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = run_eval(questions, Settings(), split="tune", progress=False, seeds_from=pages)
    assert report.questions == 2 and report.answer_hits == 2
    assert report.citation_integrity == 1.0 and report.citations_checked >= 2


def test_the_web_documents_view_shows_how_a_seed_was_read(news_settings: Settings) -> None:
    from assistant.web.api import make_backend
    from assistant.web.app import create_app
    from assistant.web.documents import render_documents, show_document

    backend = make_backend(news_settings)

    def how_read(source: str, settings: Settings) -> str:
        return show_document(backend, source)

    html = how_read("fb.txt", news_settings)
    assert "Facebook Shares Slump After Earnings Miss" in html and "Jane Doe" in html
    assert "dropped: copyright or legal notice" in html and "© 2024 Cable News Network" in html
    assert "nw-error" in how_read("../fb.txt", news_settings)
    hostile = news_settings.seeds_dir / "hostile.txt"
    hostile.write_text("<script>alert(1)</script> headline\n\nA <img src=x onerror=alert(1)> story.\n")
    try:
        shown = how_read("hostile.txt", news_settings)
        assert "<script" not in shown and "<img" not in shown and "&lt;script&gt;" in shown
    finally:
        hostile.unlink()
    from assistant import indexed_documents

    table = render_documents(indexed_documents(news_settings))
    assert "<th>Author</th>" in table and "Jane Doe" in table and "Sam Carter" in table
    create_app(news_settings)  # the Documents tab with its reading view builds


@pytest.mark.browser
def test_the_documents_tab_shows_how_a_chosen_page_was_read(tmp_path: Path, page: object) -> None:
    from playwright.sync_api import expect

    with serve(tmp_path, {"fb.txt": FACEBOOK, "library.txt": LIBRARY}) as (url, _):
        page.goto(url)
        page.get_by_role("tab", name="Documents").click()
        expect(page.locator("#nw-documents")).to_contain_text("Jane Doe")  # the Author column
        page.locator("#nw-doc-pick input").click()
        page.get_by_role("option", name=re.compile(r"fb\.txt")).click()
        reading = page.locator("#nw-doc-view")
        expect(reading).to_contain_text("Facebook Shares Slump After Earnings Miss")
        expect(reading).to_contain_text("dropped: copyright or legal notice")
        expect(reading).to_contain_text("© 2024 Cable News Network. All Rights Reserved.")
        expect(reading).to_contain_text("kept")


def test_a_site_named_as_its_own_author_gives_way_to_the_pages_author_line() -> None:
    """#23: <meta name="author"> holding the publisher (as DW's pages do) is no byline; the page's
    "Author" fact-box line is, and the site name is kept as the document's site."""
    body = "".join(
        f"<p>The city council approved a new plan for the river banks on Monday, paragraph {n} says.</p>"
        for n in range(6)
    )
    page = (
        "<html><head><title>River plan approved | DW | 19.01.2020</title>"
        '<meta name="author" content="Deutsche Welle (www.dw.com)">'
        '<meta name="publisher" content="Deutsche Welle (www.dw.com)">'
        '<meta property="og:site_name" content="DW.COM"></head><body><article>'
        f"<h1>River plan approved</h1>{body}<ul><li><strong>Date</strong>\n19.01.2020</li>"
        "<li><strong>Author</strong>\nJane Roe</li></ul></article></body></html>"
    )
    extracted = extract_page(page)
    assert extracted.author == "Jane Roe" and extracted.site == "DW"
    plain = page.replace("Deutsche Welle (www.dw.com)", "Max Muster", 1)
    assert extract_page(plain).author == "Max Muster"  # a real person in the meta tag stays


def test_a_scraped_pages_outlet_comes_from_its_dateline_and_copyright_line() -> None:
    """#23: a scrape that stripped the dateline's dash ("TOKYO (AP)  Japan's ...") after photo
    captions, with the publisher's copyright line at the end, is the Associated Press's (AP) page."""
    caption = (
        "Journalists watch an image from the moon during a press conference on Thursday in Tokyo, where "
        "officials said the spacecraft landed only 55 meters from its target. (AP Photo/Eugene Hoshiko)"
    )
    story = [
        "TOKYO (AP)  Japan's space agency said Thursday that its first lunar mission hit the tiny patch of "
        "the moon's surface it was aiming for, although the probe appears to be lying upside-down.",
        "Japan became the fifth country in history to reach the moon when the lander touched down, the "
        "agency said in a statement.",
        "The agency (JAXA) Director said the images sent back were just like those the team had imagined.",
    ]
    footer = "Copyright 2024 The Associated Press. All Rights Reserved."
    text = "Title: Moon lander hits its target\n\n" + "\n\n".join([caption] * 4 + story + [footer]) + "\n"
    assert parse_document("moon.txt", text, "x").site == "Associated Press (AP)"
    # Either name picks it, and the short one names it in a question.
    catalog = Catalog.of({
        "moon.txt": {"title": "Moon lander hits its target", "site": "Associated Press (AP)"},
        "other.txt": {"title": "Harbour bridge reopens", "site": "Daily Planet"},
    })  # fmt: skip
    assert named_documents("What is the headline of the AP story?", catalog) == ("moon.txt",)
    assert named_documents("What does the Associated Press story say?", catalog) == ("moon.txt",)
    # A dateline alone, a copyright line alone; a photo credit or a name in brackets mid-sentence is none.
    assert parse_document("a.txt", text.replace(footer, "More news follows."), "x").site == "AP"
    assert parse_document("b.txt", text.replace("TOKYO (AP)  ", ""), "x").site == "Associated Press"
    other = text.replace(footer, "© Getty Images").replace("TOKYO (AP)  ", "")
    assert parse_document("c.txt", other, "x").site is None
