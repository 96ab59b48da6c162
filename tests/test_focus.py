"""Many documents in one chat (#23): a question finds the document it means, a follow-up keeps its
subject, a question about "the article" is answered for each document, and the user can choose.

Real model and Chroma over three small made-up stories written for these tests (an HTML page with a
site name, a wire story with a "(Reuters)" dateline, a Markdown export with front matter). The
held-out figures on real pages are in test_multidoc_quality.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.answering.focus import Catalog, Focus, chosen_documents, named_documents
from assistant.answering.followup import BORROWED_WEIGHT, term_weights
from assistant.errors import UnknownDocumentError
from assistant.ingest.lexical import tokens

PLANET = """<!doctype html>
<html><head><title>Harbour bridge reopens after two years of repairs | Daily Planet</title>
<meta property="og:site_name" content="Daily Planet">
<meta name="author" content="Lois Lane">
<meta property="article:published_time" content="2021-03-03">
</head><body>
<nav><a href="/">Home</a> <a href="/city">City</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Harbour bridge reopens after two years of repairs</h1>
<p class="byline">By Lois Lane</p>
<p>The harbour bridge reopened to traffic on Monday after two years of repairs that cost $40 million, the city
council said in a statement.</p>
<p>About 30,000 cars are expected to cross the bridge every day once the work on the approach roads is
finished later this spring.</p>
<p>The mayor said the repairs were finished three months ahead of schedule, and thanked the engineers and the
residents who put up with the detours.</p>
<p>Cyclists will get a separate lane on the eastern side of the bridge, the council said, after a campaign by
local riders that lasted five years.</p>
</article>
<footer>© Daily Planet. All rights reserved.</footer>
</body></html>
"""
WIRE = """Acme Robotics to open factory in Leeds

By Jane Porter

LEEDS (Reuters) - Acme Robotics will open a new factory in Leeds next year, creating 1,200 jobs, the company \
said on Tuesday.

The factory will build warehouse robots and will cost 150 million pounds, the company said in a statement to \
the stock exchange.

Acme employs 8,000 staff worldwide, chief executive Tom Reed told reporters at the site.
"""
GARDEN = """---
title: City gardens bloom after a wet spring
site: Green Weekly
author: Sam Green
date: 2021-05-01
---

# City gardens bloom after a wet spring

The city's community gardens had their best season in a decade after a wet spring, volunteers said on
Saturday.

Tomato harvests doubled this year, and the gardens gave four tonnes of vegetables to local food banks.

The volunteers plan to open two more gardens next spring on land given by the council.
"""
STORIES = {"planet.html": PLANET, "wire.txt": WIRE, "garden.md": GARDEN}

CATALOG = Catalog.of({
    "planet.html": {"title": "Harbour bridge reopens after two years of repairs", "site": "Daily Planet",
                    "author": "Lois Lane"},
    "wire.txt": {"title": "Acme Robotics to open factory in Leeds", "site": "Reuters",
                 "author": "Jane Porter"},
    "garden.md": {"title": "City gardens bloom after a wet spring", "site": "Green Weekly",
                  "author": "Sam Green"},
    "thomson-reuters-ai.md": {"title": "Thomson Reuters boss says AI deals involve archive text",
                              "site": "pressgazette", "author": None},
})  # fmt: skip


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What is the headline of the Reuters story?", ("wire.txt",)),  # outlet, from a dateline
        ("Who wrote the Daily Planet piece?", ("planet.html",)),  # site name
        ("what does the daily planet article say about cyclists?", ("planet.html",)),  # typed in lower case
        ("In the Press Gazette article, who is the boss?", ("thomson-reuters-ai.md",)),  # site from a host
        ("Summarise the article by Sam Green", ("garden.md",)),  # author
        ("What did the Porter story say?", ("wire.txt",)),  # author's surname
        ("What does the garden story say about tomatoes?", ("garden.md",)),  # headline words
        ("What is in wire.txt?", ("wire.txt",)),  # a file name is a name anywhere
        ("How many deals has Reuters signed?", ()),  # names an outlet, speaks of no document
        ("What does the Thomson Reuters article say?", ("thomson-reuters-ai.md",)),  # not "Reuters" alone
        ("How many jobs will the factory create?", ()),  # a plain question names nothing
        ("Who wrote the article?", ()),
    ],
)
def test_a_question_names_its_document(question: str, named: tuple[str, ...]) -> None:
    assert named_documents(question, CATALOG) == named


def test_a_file_named_like_a_word_does_not_capture_questions() -> None:
    catalog = Catalog.of({"article.txt": {"title": "One"}, "story-2.txt": {"title": "Two"}})
    assert named_documents("Who wrote the article?", catalog) == ()
    assert named_documents("What does the story-2 piece say?", catalog) == ("story-2.txt",)
    assert named_documents("What is in article.txt?", catalog) == ("article.txt",)


def test_documents_are_chosen_by_file_title_site_or_author() -> None:
    assert chosen_documents(["wire.txt", "Green Weekly"], CATALOG) == ("garden.md", "wire.txt")
    assert chosen_documents(["harbour bridge reopens after two years of repairs"], CATALOG) == (
        "planet.html",
    )
    assert chosen_documents(["Lois Lane", "planet"], CATALOG) == ("planet.html",)
    with pytest.raises(UnknownDocumentError, match=r"No indexed document is called 'Daily Bugle'.*wire\.txt"):
        chosen_documents(["Daily Bugle"], CATALOG)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    base = tmp_path_factory.mktemp("focus")
    (base / "seeds").mkdir()
    for name, text in STORIES.items():
        (base / "seeds" / name).write_text(text, encoding="utf-8")
    bot = Assistant(Settings(seeds_dir=base / "seeds", index_dir=base / "index"))
    bot.build_index()
    return bot


def sources(answer: object) -> set[str]:
    return {c.source for c in answer.citations}  # type: ignore[attr-defined]


def test_the_index_knows_each_documents_site(bot: Assistant) -> None:
    sites = {d.source: d.site for d in bot.documents()}
    assert sites == {"planet.html": "Daily Planet", "wire.txt": "Reuters", "garden.md": "Green Weekly"}


def test_a_question_about_the_article_is_answered_for_each_document(bot: Assistant) -> None:
    result = bot.answer("Who wrote the article?")
    assert not result.abstained and result.focus == ()
    lines = result.text.splitlines()
    assert len(lines) == 3, result.text  # one line per document, never one at random
    for name in ("Lois Lane", "Jane Porter", "Sam Green"):
        assert sum(name in line for line in lines) == 1
    assert sources(result) == set(STORIES)
    dates = bot.answer("When was it published?")
    assert "2021" in dates.text and len(dates.text.splitlines()) == 3


def test_a_named_document_is_the_one_answered_from(bot: Assistant) -> None:
    result = bot.answer("What is the headline of the Reuters story?")
    assert result.focus == ("wire.txt",) and sources(result) == {"wire.txt"}
    assert "Acme Robotics to open factory in Leeds" in result.text
    gist = bot.answer("What is the Daily Planet article about?")
    assert sources(gist) == {"planet.html"} and "bridge" in gist.text


def test_a_follow_up_keeps_the_previous_answers_document(bot: Assistant) -> None:
    first = bot.answer("How many jobs will the new Acme factory create?")
    assert "1,200" in first.text and sources(first) == {"wire.txt"}
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.text}]
    staff = bot.answer("And how many staff does it have?", history)
    assert staff.focus == ("wire.txt",) and "8,000" in staff.text
    who = bot.answer("Who wrote it?", history)
    assert who.focus == ("wire.txt",) and "Jane Porter" in who.text and "Lois Lane" not in who.text
    # A question about the document itself, in a conversation about one story, is about that story.
    when = bot.answer("When was the article published?", history)
    assert when.focus == ("wire.txt",) and when.abstained and when.text.startswith("The article doesn't say")
    # A question that stands alone by its words is asked of every document, and only of them.
    assert bot.searcher.focus("What will the robots cost?", history) == Focus()
    assert bot.searcher.focus("And how many staff?", history).widen  # a follow-up: then everything
    # "tonnes" is only in the garden story, but a pronoun follow-up brings no subject of its own.
    assert bot.searcher.focus("How many tonnes will it make?", history).sources == ("wire.txt",)
    # A topic switch stands alone: it is answered from the document its own words find.
    switch = bot.answer("How much did the harbour bridge repairs cost?", history)
    assert switch.focus == () and sources(switch) == {"planet.html"} and "$40 million" in switch.text


def test_a_follow_up_the_previous_document_cannot_answer_is_asked_of_all(bot: Assistant) -> None:
    first = bot.answer("How many jobs will the new Acme factory create?")
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.text}]
    result = bot.answer("And what about the tomato harvests there?", history)
    assert not result.abstained and sources(result) == {"garden.md"}


def test_a_follow_ups_borrowed_words_weigh_less_than_its_own(bot: Assistant) -> None:
    lexicon = bot.searcher.corpus()[1].lexicon
    query = "How many jobs will the new Acme factory create? How many staff?"
    weights = term_weights("How many staff?", query, lexicon)
    (staff,), (acme,) = tokens("staff"), tokens("Acme")
    assert weights[staff] == pytest.approx(lexicon.idf(staff))  # the question's own word: as it is
    # A word only the previous question holds: a quarter of its weight (1 + idf) in the scoring.
    assert 1 + weights[acme] == pytest.approx(BORROWED_WEIGHT * (1 + lexicon.idf(acme)))
    assert 0 < BORROWED_WEIGHT < 1


def test_the_users_choice_narrows_retrieval(bot: Assistant) -> None:
    result = bot.answer("When was it published?", documents=["Green Weekly"])
    assert result.focus == ("garden.md",) and sources(result) <= {"garden.md"} and "2021-05-01" in result.text
    # The Chroma filter finds the chosen document's passages however the others rank.
    hits = bot.searcher.search("harbour bridge repairs cost", 3, sources=["garden.md"])
    assert hits and {h.source for h in hits} == {"garden.md"}
    off_topic = bot.answer("How much did the harbour bridge repairs cost?", documents=["garden.md"])
    assert off_topic.abstained and off_topic.text.startswith("The article doesn't say")
    with pytest.raises(UnknownDocumentError, match="Daily Bugle"):
        bot.answer("Who wrote it?", documents=["Daily Bugle"])


def test_past_five_documents_the_user_is_asked_to_pick(make_settings) -> None:
    stories = {
        f"story{i}.txt": f"Story number {i} about {topic}\n\nBy {writer} Smith\n\nThe {topic} story has one "
        f"fact: {i + 10} people came to the {topic} event on Sunday, the organisers said.\n"
        for i, (topic, writer) in enumerate(
            zip(
                ["boats", "trains", "music", "chess", "bread", "kites"],
                ["Ann", "Bo", "Cy", "Di", "Ed", "Flo"],
                strict=True,
            )
        )
    }
    bot = Assistant(make_settings(stories))
    bot.build_index()
    result = bot.answer("Who wrote the article?")
    assert result.abstained and "6 are indexed" in result.text and "pick" in result.text
    named = bot.answer("Who wrote the kites story?")
    assert not named.abstained and sources(named) == {"story5.txt"} and "Flo Smith" in named.text


def test_bad_document_choices_get_a_clear_message(bot: Assistant) -> None:
    from assistant.errors import BadQuestionError

    for bad in (7, [1], ["x" * 600], ["a"] * 101):
        with pytest.raises(BadQuestionError, match="document"):
            bot.answer("Who wrote it?", documents=bad)  # type: ignore[arg-type]
    assert bot.answer("Who wrote it?", documents=[]).focus == ()  # an empty choice is no choice


def test_cli_ask_document_and_documents(bot: Assistant, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from assistant.cli import main

    where = ["--seeds", str(bot.settings.seeds_dir), "--index", str(bot.settings.index_dir)]
    listed = CliRunner().invoke(main, ["documents", *where])
    assert listed.exit_code == 0 and "wire.txt" in listed.output and "Reuters · Jane Porter" in listed.output
    asked = CliRunner().invoke(main, ["ask", *where, "--document", "Daily Planet", "Who wrote it?"])
    assert asked.exit_code == 0 and "Lois Lane" in asked.output and "Jane Porter" not in asked.output
    unknown = CliRunner().invoke(main, ["ask", *where, "--document", "Daily Bugle", "Who wrote it?"])
    assert unknown.exit_code == 1 and "No indexed document is called 'Daily Bugle'" in unknown.output
    assert "Traceback" not in unknown.output


def test_an_llm_answers_from_the_focus_too(bot: Assistant) -> None:
    """The focus narrows the evidence, so an LLM answerer is sent only the named document's passages."""
    from test_llm import RecordingModel

    model = RecordingModel(reply=lambda messages: "Acme employs 8,000 staff worldwide [1].")
    llm_bot = Assistant(bot.settings, embedder=bot.embedder, store=bot.store, chat_model=model)
    result = llm_bot.answer("How many staff does the company in the Reuters story employ?")
    prompt = model.seen[-1][-1].content
    assert "Acme" in prompt and "harbour bridge" not in prompt and "gardens" not in prompt
    assert result.focus == ("wire.txt",) and sources(result) <= {"wire.txt"}


def test_who_wrote_a_named_piece_on_a_subject_asks_for_its_byline(bot: Assistant) -> None:
    result = bot.answer("Who wrote the Reuters piece on the Leeds factory?")
    assert result.focus == ("wire.txt",) and "Jane Porter" in result.text
