"""Question-sentence pairs for training the reader, built from SQuAD articles.

Per answerable question: the sentence holding the answer (a positive, with its span) and two *made
unanswerables*: the article sentence sharing the most rare words with the question but not the
answer (what retrieval hands the answerer), and the best such sentence of the answer's own paragraph
(its neighbours). Per real unanswerable question (SQuAD 2.0): its best sentences, all negatives.

Each pair carries what the product's reader sees (:class:`Layout`): the sentences before the
candidate in its paragraph (so "It opens in March." can be read with the sentence naming "it"), and,
for a share of questions, a previous question of the conversation:

* a **made follow-up**: the article's subject, named in the question, is replaced by a pronoun
  ("When was it founded?") and an earlier question of the same article that names the subject is the
  history, as a user's follow-up reads;
* a **topic switch**: an unrelated earlier question is the history and the question stands alone,
  so the reader learns the history is not always about the same thing.

For a share of answerable questions (``swaps``), a **made distractor** too: the question with one name,
number or year that its answer sentence holds swapped for another of the same shape from the article,
which that sentence and its context never mention ("When did the Normans conquer *Sicily*?" against
"In 1066 the Normans conquered England."). The pair is a negative: the sentence is on the topic and
shaped like the answer, but not about what is asked, the kind of unanswerable question SQuAD 2.0's
writers made by swapping entities and the kind the reader answered most wrongly on news pages.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from assistant.answering.reader_input import FIRST_LAYOUT, MAX_SENTENCE, Encoded, Layout, encode
from training.squad import Lexical, Sent, article_sentences


@dataclass
class Pair:
    """One training or evaluation pair."""

    group: int  # question number (for per-question figures)
    enc: Encoded
    label: int
    span: tuple[int, int] | None  # token positions in ids, for positives
    answer: str
    sentence: str
    kind: str = "plain"  # plain | followup | switch


def subject(article: dict) -> str:
    """The article's subject as its text would name it ("Beyoncé", not "Beyoncé_(singer)")."""
    return re.sub(r"\s*\(.*?\)\s*$", "", article["title"].replace("_", " ")).strip()


def pronoun(article: dict) -> str:
    """The pronoun the article's own first paragraph uses most for its subject (he, she, they or it)."""
    text = " " + article["paragraphs"][0]["context"].lower() + " "
    counts = {
        "he": len(re.findall(r"\b(?:he|his|him)\b", text)),
        "she": len(re.findall(r"\b(?:she|her|hers)\b", text)),
        "they": len(re.findall(r"\b(?:they|their|them)\b", text)),
    }
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 3 else "it"


def names(name: str) -> list[str]:
    """Ways a question names the subject: in full, without a leading year, by its last or first word."""
    words = name.split()
    out = [name]
    if words and words[0].isdigit() and len(words) > 1:
        out.append(" ".join(words[1:]))
    if len(words) > 2:
        out.append(" ".join(words[-2:]))
    if len(words) > 1:
        out += [w for w in (words[-1], words[0]) if len(w) >= 4 and w[0].isupper()]
    return out


def as_followup(question: str, name: str, pro: str) -> str | None:
    """``question`` with its one mention of the subject replaced by ``pro`` (None if it names it not once)."""
    possessive = {"he": "his", "she": "her", "they": "their", "it": "its"}[pro]
    for form in names(name):
        pattern = re.compile(rf"\b(?:the\s+)?{re.escape(form)}('s|’s)?\b", re.IGNORECASE)
        found = list(pattern.finditer(question))
        if len(found) == 1 and len(form) >= 3:
            m = found[0]
            before, after = question[: m.start()].split()[-1:], question[m.end() :].split()[:1]
            if any(w[:1].isupper() for w in before[-1:] if before != question.split()[:1]) or any(
                w[:1].isupper() for w in after
            ):
                continue  # part of a longer name ("Notre Dame Main Building"): not the subject alone
            rewritten = question[: m.start()] + (possessive if m.group(1) else pro) + question[m.end() :]
            return rewritten[0].upper() + rewritten[1:]
    return None


#: A name (capitalised words), or a number or year, as a question or an article writes it.
ENTITY = re.compile(
    r"\b(?:[A-Z][\w'’.-]*[\w](?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’.-]*[\w])*|\d[\d,.]*\d|\d)\b"
)


def shape(entity: str) -> tuple[str, int]:
    """What an entity may be swapped with: a year with a year, a number with a number, a name with a name
    of as many words."""
    if entity[0].isdigit():
        plain = entity.replace(",", "")
        return (
            "year"
            if len(plain) == 4 and plain.isdigit() and plain[:2] in ("17", "18", "19", "20")
            else "number",
            0,
        )
    return ("name", len(entity.split()))


def entity_pool(article: dict) -> dict[tuple[str, int], list[str]]:
    """Every name and number of ``article``'s text, by shape (sentence-initial words left out: a capital
    there says nothing)."""
    pool: dict[tuple[str, int], set[str]] = defaultdict(set)
    for para in article["paragraphs"]:
        for m in ENTITY.finditer(para["context"]):
            before = para["context"][max(0, m.start() - 2) : m.start()]
            if m.group()[0].isupper() and (m.start() == 0 or before.strip() in (".", "!", "?", '"')):
                continue
            pool[shape(m.group())].add(m.group())
    return {k: sorted(v) for k, v in pool.items()}


def swapped(question: str, sentence: str, pool: dict, rng: random.Random) -> str | None:
    """``question`` with one entity the ``sentence`` holds swapped for one it never mentions (or None)."""
    found = [m for m in ENTITY.finditer(question) if m.start() > 0 and m.group() in sentence]
    rng.shuffle(found)
    low = sentence.lower()
    for m in found:
        options = [
            e
            for e in pool.get(shape(m.group()), ())
            if e.lower() not in low
            and e.lower() not in m.group().lower()
            and m.group().lower() not in e.lower()
        ]
        if options:
            return question[: m.start()] + rng.choice(options) + question[m.end() :]
    return None


class Tokens:
    """Word pieces and their offsets, cached per text (questions and sentences repeat)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def __call__(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        if text not in self.cache:
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            self.cache[text] = (enc["input_ids"], enc["offset_mapping"])
        return self.cache[text]


def build_pairs(
    articles: list[dict],
    tokenizer: Any,
    rng: random.Random,
    first_group: int,
    negs_unanswerable: int = 3,
    layout: Layout = FIRST_LAYOUT,
    followups: float = 0.0,
    switches: float = 0.0,
    swaps: float = 0.0,
) -> tuple[list[Pair], int]:
    """Pairs for every question of ``articles`` (see the module docstring), and the next group number.

    ``followups`` and ``switches`` are the shares of questions given a made follow-up or a topic
    switch as history (only where ``layout`` reads history); ``swaps`` the share of answerable
    questions also asked with a swapped entity against their answer sentence (a made distractor).
    """
    pieces = Tokens(tokenizer)
    pairs: list[Pair] = []
    group = first_group
    with_history = layout.history > 0
    for article in articles:
        sents = article_sentences(article)
        lex = Lexical(sents)
        pool = entity_pool(article) if swaps else {}
        title = pieces(article["title"].replace("_", " "))[0]
        name, pro = subject(article), pronoun(article)
        naming = [
            qa["question"].strip()
            for para in article["paragraphs"]
            for qa in para["qas"]
            if as_followup(qa["question"], name, pro)
        ]
        every = [qa["question"].strip() for para in article["paragraphs"] for qa in para["qas"]]
        by_para: dict[int, list[int]] = defaultdict(list)
        for i, s in enumerate(sents):
            by_para[s.para].append(i)

        def context(i: int, sents: list[Sent] = sents) -> list[int]:
            out: list[int] = []
            for k in range(max(0, i - layout.context_sentences), i):
                if sents[k].para == sents[i].para:
                    out += pieces(sents[k].text)[0]
            return out

        def pair(
            g: int,
            q: list[int],
            h: list[int],
            i: int,
            label: int,
            kind: str,
            answer: str = "",
            sents: list[Sent] = sents,
            title: list[int] = title,
            context: Any = context,
        ) -> Pair:
            s = sents[i]
            enc = encode(tokenizer, q, pieces(s.text), context(i), title, h, layout)
            return Pair(g, enc, label, None, answer, s.text, kind)

        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                q = qa["question"].strip()
                ranked = lex.ranked(q)  # retrieval reads the question as asked in full
                asked, history, kind = q, "", "plain"
                roll = rng.random()
                if with_history and roll < followups:
                    rewritten = as_followup(q, name, pro)
                    earlier = [x for x in naming if x != q]
                    if rewritten and earlier:
                        asked, history, kind = rewritten, rng.choice(earlier), "followup"
                elif with_history and roll < followups + switches:
                    others = [x for x in every if x != q]
                    if others:
                        history, kind = rng.choice(others), "switch"
                qids, hids = pieces(asked)[0], pieces(history)[0] if history else []
                impossible = qa.get("is_impossible", False) or not qa.get("answers")
                if impossible:
                    own = [i for i in ranked if sents[i].para == p][:negs_unanswerable] or by_para[p][:1]
                    pairs.extend(pair(group, qids, hids, i, 0, kind) for i in own)
                    group += 1
                    continue
                ans = qa["answers"][0]
                a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                gold = next((i for i in by_para[p] if sents[i].start <= a0 < sents[i].end), None)
                if gold is None or a1 > sents[gold].end:
                    continue  # an answer across a sentence break: no single sentence holds it
                _, offsets = pieces(sents[gold].text)
                rel0, rel1 = a0 - sents[gold].start, a1 - sents[gold].start
                toks = [k for k, (x, y) in enumerate(offsets[:MAX_SENTENCE]) if y > rel0 and x < rel1]
                if not toks:
                    continue  # the answer lies past the sentence budget
                positive = pair(group, qids, hids, gold, 1, kind, answer=ans["text"])
                base = positive.enc.sentence_start
                positive.span = (base + toks[0], base + toks[-1])
                pairs.append(positive)
                answer_low = ans["text"].lower()
                clean = [i for i in ranked if i != gold and answer_low not in sents[i].text.lower()]
                far = next((i for i in clean if sents[i].para != p), None)
                near = next((i for i in clean if sents[i].para == p), None)
                if near is None:
                    others = [i for i in by_para[p] if i != gold and answer_low not in sents[i].text.lower()]
                    near = rng.choice(others) if others else None
                pairs.extend(pair(group, qids, hids, i, 0, kind) for i in (far, near) if i is not None)
                group += 1
                # Drawn only when asked for, so a run without swaps makes the pairs it made before.
                other = (
                    swapped(asked, sents[gold].text, pool, rng) if swaps and rng.random() < swaps else None
                )
                if other:
                    pairs.append(pair(group, pieces(other)[0], hids, gold, 0, "swap"))
                    group += 1
    return pairs, group


def batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches of similar length (less padding), in random order."""
    order = pairs[:]
    rng.shuffle(order)
    out = []
    chunk = size * 50
    for k in range(0, len(order), chunk):
        block = sorted(order[k : k + chunk], key=lambda p: len(p.enc.ids))
        out.extend(block[j : j + size] for j in range(0, len(block), size))
    rng.shuffle(out)
    return out
