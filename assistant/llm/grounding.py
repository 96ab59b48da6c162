"""Grounding: split a model's reply into sentences and check each against the passages it cites.

A sentence is supported when the passage sentences quoted for it (at most :data:`MAX_QUOTES`,
picked greedily from the cited passages) hold enough of its content words (:data:`MIN_OVERLAP`,
:data:`MIN_SHARED`), it adds at most :data:`MAX_NEW_WORDS` content words of its own, and, strictly,
it states no number, name (capitalised word) or negation they do not. The check is lexical;
docs/llm.md lists what it catches and what it cannot.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from assistant.indexing.evidence import PassageHit
from assistant.ingest.instructions import is_instruction
from assistant.ingest.lexical import STOPWORDS, stem, tokens

#: Share of a sentence's content words that must occur in its quoted passage sentences.
MIN_OVERLAP = 0.5
#: Fewest shared content words for a sentence to count as supported (fewer if it has fewer).
MIN_SHARED = 2
#: Share of a sentence's content words that one quote alone must hold (the others add detail).
MIN_ANCHOR = 0.5
#: Most passage sentences quoted as evidence for one answer sentence.
MAX_QUOTES = 3
#: Most content words a claim may add to its quotes (a paraphrase's "worth" for "to the tune of");
#: more is a clause of its own ("..., a move seen as a threat to the US' military capabilities").
MAX_NEW_WORDS = 2

Quote = tuple[PassageHit, int]  # a passage and the index of one of its sentences

MARKER = re.compile(r"\[\s*(\d+(?:\s*[-–,;]\s*\d+)*)\s*\]")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)]*(?:\s*\[\s*\d[\d\s,;–-]*\])*(?=\s+[\"'“‘(]?[A-Z0-9])")
_ABBREV = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gen|Sen|Rep|Gov|Jr|Sr|vs|No)\.)$")
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_LEAD_IN = re.compile(r"(?<=:)\s+(?=[\"“]?[A-Z])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W_]+")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot)\b|n['’]t\b", re.IGNORECASE
)
#: Words that say where a claim comes from rather than what it claims.
_NOT_CONTENT = frozenset(stem(w) for w in ("passage", "article", "document", "report", "reportedly"))
#: How many words after a negation in a quote count as negated.
_NEGATION_REACH = 3


def split_sentences(text: str) -> list[str]:
    """Split a model's reply into sentences; markers after a full stop stay with their sentence."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        start = 0
        for match in _BOUNDARY.finditer(line):
            if _ABBREV.search(line[start : match.start()]):
                continue
            sentences.append(line[start : match.end()].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    # "The answer is: X." -> "X.": a lead-in ending in a colon introduces a claim but makes none.
    parts = [p.strip() for s in sentences for p in _LEAD_IN.split(s)]
    return [p for p in parts if p and not p.endswith(":")]


def strip_markers(sentence: str) -> str:
    """The sentence without its ``[n]`` markers, white space folded, no space before punctuation."""
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(MARKER.sub(" ", sentence).split()))


def cited_passages(sentence: str, hits: Sequence[PassageHit]) -> list[PassageHit]:
    """The passages the sentence's markers point at, in order; markers pointing nowhere are ignored."""
    cited: list[PassageHit] = []
    for match in MARKER.finditer(sentence):
        for number in marker_numbers(match.group(1)):
            if 1 <= number <= len(hits) and hits[number - 1] not in cited:
                cited.append(hits[number - 1])
    return cited


def marker_numbers(body: str) -> list[int]:
    """The passage numbers in a marker body: "1", "1, 2" or a range "1-3"."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", body):
        low, _, high = re.sub(r"\s*[–-]\s*", "-", part).partition("-")
        if high and int(high) - int(low) < 20:
            numbers.extend(range(int(low), int(high) + 1))
        else:
            numbers.append(int(low))
    return numbers


def terms(text: str) -> set[str]:
    """Content words (stop words dropped, lightly stemmed) and numbers ("1.405", "1405") of ``text``."""
    numbers = {n.replace(",", "") for n in _NUMBER.findall(text)}
    words = {t for t in tokens(_NUMBER.sub(" ", text)) if len(t) > 1 and t not in _NOT_CONTENT}
    return numbers | words


def names(text: str) -> list[list[str]]:
    """Runs of capitalised words in a claim ("US Army General", "Hagel"), stemmed: names and titles.

    The first word is skipped when it is a stop word ("The", "He"), as it is capitalised by position.
    """
    text = _undot(text)
    runs: list[list[str]] = []
    previous_end = -1
    for i, match in enumerate(_WORD.finditer(text)):
        word = match.group()
        if not word[0].isupper() or (i == 0 and word.lower() in STOPWORDS):
            previous_end = -1
            continue
        stemmed = stem(word.lower())
        if runs and previous_end >= 0 and text[previous_end : match.start()] in (" ", "-"):
            runs[-1].append(stemmed)
        else:
            runs.append([stemmed])
        previous_end = match.end()
    return runs


def _missing_names(claim: str, quotes: Sequence[str]) -> list[str]:
    """The claim's names that no quote writes: each word must occur, each run's words side by side."""
    words: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for quote in quotes:
        seq = [stem(w.lower()) for w in _WORD.findall(_undot(quote))]
        words.update(seq)
        pairs.update(itertools.pairwise(seq))
    missing = []
    for run in names(claim):
        if any(w not in words for w in run) or any(p not in pairs for p in itertools.pairwise(run)):
            missing.append(" ".join(run))
    return missing


def _undot(text: str) -> str:
    """Dotted initialisms written plainly ("U.S." -> "US"), so both spellings of a name meet."""
    return _DOTTED.sub(lambda m: m.group().replace(".", ""), text)


def negated(text: str) -> bool:
    """True when ``text`` contains a negation ("not", "never", "didn't", "without" …)."""
    return bool(_NEGATION.search(text))


def negated_terms(text: str) -> set[str]:
    """Content words that follow a negation within a few words ("did not approve the sale" -> approv)."""
    found: set[str] = set()
    for match in _NEGATION.finditer(text):
        following = tokens(text[match.end() : match.end() + 80], keep_stopwords=True)[:_NEGATION_REACH]
        found |= {t for t in following if t not in STOPWORDS}
    return found


def unsupported_reason(claim: str, quotes: Sequence[str]) -> str | None:
    """Why ``claim`` (a sentence without markers) is not supported by ``quotes``, or None if it is."""
    if is_instruction(claim):  # a page's order to an AI, repeated: never an answer, whatever it cites
        return "repeats an instruction aimed at an AI"
    claim_terms = terms(claim)
    if not claim_terms or not quotes:
        return "nothing to check it against"
    evidence = " ".join(quotes)
    covered = claim_terms & terms(evidence)
    if len(covered) < MIN_OVERLAP * len(claim_terms) or len(covered) < min(MIN_SHARED, len(claim_terms)):
        return f"shares too few words with its quotes ({len(covered)} of {len(claim_terms)})"
    anchor = max(len(claim_terms & terms(q)) for q in quotes)
    if anchor < MIN_ANCHOR * len(claim_terms):
        # Stitched from scattered words: "the range of the PAC-3 is 100 miles" from one sentence
        # naming the PAC-3 and another giving THAAD's 100 miles.
        return f"no one quote says most of it ({anchor} of {len(claim_terms)} words)"
    missing = sorted(t for t in claim_terms - covered if t[0].isdigit())
    if missing:
        return f"states numbers its quotes do not: {', '.join(missing)}"
    missing = _missing_names(claim, quotes)
    if missing:
        return f"names what its quotes do not: {', '.join(missing)}"
    if negated(claim):
        # What the claim negates must be negated in the quotes too, not merely something else.
        denied = negated_terms(claim) & claim_terms
        if not negated(evidence) or (denied and not denied & negated_terms(evidence)):
            return "negates what its quotes state"
    flipped = sorted(negated_terms(evidence) & claim_terms) if not negated(claim) else []
    if flipped:
        return f"states what its quotes negate: {', '.join(flipped)}"
    added = sorted(claim_terms - covered)
    if len(added) > MAX_NEW_WORDS:
        return f"says what its quotes do not: {', '.join(added)}"
    return None


def supporting_quotes(sentence: str, hits: Sequence[PassageHit]) -> list[Quote]:
    """The passage sentences that support ``sentence``, or [] when it is unsupported.

    A sentence with valid markers is checked against the passages it cites only; one without any
    (small models often leave them out) against every passage, and is then cited by this code.
    """
    claim = strip_markers(sentence)
    claim_terms = terms(claim)
    claim_names = {w for run in names(claim) for w in run}
    if not claim_terms:
        return []
    passages = cited_passages(sentence, hits) or list(hits)
    candidates = [
        (hit, i, terms(hit.sentence_text(i))) for hit in passages for i in range(len(hit.sentences))
    ]
    chosen: list[Quote] = []
    covered: set[str] = set()
    while len(chosen) < MAX_QUOTES and candidates:
        best = max(candidates, key=lambda c: len((c[2] & claim_terms) - covered))
        gain = (best[2] & claim_terms) - covered
        # A further quote must add two words, or a number or name the sentence states.
        strict = {t for t in gain if t[0].isdigit() or t in claim_names}
        if not gain or (chosen and len(gain) < 2 and not strict):
            break
        chosen.append((best[0], best[1]))
        covered |= gain
        candidates.remove(best)
    quotes = [hit.sentence_text(i) for hit, i in chosen]
    return chosen if unsupported_reason(claim, quotes) is None else []
