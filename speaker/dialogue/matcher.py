"""Which known sentence a text means, typed or heard: the one matcher of the dialogue and of speech.

In order, the first that finds one wins:
1. hassil on the text as written, numbers as digits (free text exactly as said);
2. hassil on the text in the language's canonical form (fillers, endings and particles dropped);
3. the canonical form looked up among every known sentence written out, each in canonical form
   (so spacing, endings and particles no longer matter);
4. the nearest of those by a fuzzy measure (rapidfuzz), if it is near enough and clearly nearer than
   any sentence of another intent: a near miss is understood, anything else is not forced into one.
Sentences with free text (wildcards) are only found by 1 and 2: similarity says nothing about free text.
A number in a known sentence is a number in the text: a sentence with two numbers is never the
nearest to a text with one.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import re
from dataclasses import dataclass
from typing import Callable

from hassil import Intents, RecognizeResult, TextSlotList, recognize_best
from hassil.sample import sample_sentence
from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import languages
from .registry import ACTS  # intents that change something: from speech, taken only as the recogniser's best guess

NEAR_ENOUGH = 82  # similarity (0-100) of a near miss: measured, wrong intents began at 75 (benchmarks/understanding.py)
CLEAR_LEAD = 4  # how much nearer than the nearest sentence of another intent
SHORTEST = 4  # characters (jamo in Korean) of canonical text below which only exact matches count
_PLACEHOLDER = "9999"  # a number slot of a written-out sentence while it is normalised
_SLOT = re.compile(r"\{(\w+)\}")
_NUMBER = re.compile(r"\d+")

# A template with many optional words writes out to millions of sentences (the companion's feelings):
# hassil matches it as it is; the index of known sentences, for near misses, keeps its first ones.
WRITTEN_OUT_PER_TEMPLATE = 1000


class Heard(enum.Enum):
    """What a known sentence, heard word for word, would do."""

    ACTS = "acts"  # changes something (ACTS): from speech, taken only as the recogniser's best guess
    ANSWERS = "answers"  # only answers


class Unsure(str):
    """A command only the grammar pass heard (free recognition heard none of it, and the grammar's
    other guesses mean it too): the speaker asks before it does it."""


@dataclass(frozen=True, kw_only=True)
class Nearest:
    """The known sentence nearest to a text, how near (0-100) and how far ahead of other intents."""

    sentence: str
    intent: str
    score: float
    lead: float


class Matcher:
    """Finds the intent of a text among `intents`, in `language`."""

    def __init__(self, intents: Intents, language: str, *, tone: Callable[[str], str | None] = lambda text: None,
                 meant: Callable[[str], str | None] = lambda text: None):
        """`tone(text)`: "positive", "negative" or None, the feeling a text carries; `meant(text)`: the
        intent the meaning layer finds in it, or None."""
        self.intents = intents
        self.language = languages.get(language)
        self.tone = tone
        self.meant = meant
        self._by_count: dict[int, list[str]] = {}  # keys by how many numbers they hold
        self._known = self._index()  # canonical key → (sentence, intent): built now, not on the first request
        self._written = sorted({(_words(s), i) for pairs in self._known.values() for s, i in pairs})  # in order

    def key(self, text: str) -> str:
        """What is compared: the canonical form, compacted, numbers as "#"."""
        return _NUMBER.sub("#", self.language.compact(self.language.normalise(text)))

    def keys(self, text: str) -> list[str]:
        """The key; in a language of free spacing also the key of the text written without spaces (a
        particle between two words is one only when they are written apart); in a language of free
        word order also the key of its words in any order (with at most one number: two numbers
        could swap)."""
        keys = [self.key(text)]
        if self.language.FREE_SPACING:
            keys.append(self.key(text.replace(" ", "")))
        words = self.language.normalise(text).split()
        if words and self.language.FREE_ORDER and len(_NUMBER.findall(" ".join(words))) <= 1:
            keys.append("~" + self.key(" ".join(sorted(words))))  # any order ("~": never a written order)
        return keys

    def recognize(self, text: str) -> RecognizeResult | None:
        if not text.strip():
            return None
        found = None
        for variant in dict.fromkeys((self.language.numbers(text), text, self.language.normalise(text))):
            if found is None and variant:
                found = recognize_best(variant, self.intents)
            if found is not None and not through_free_text(found):
                return found
        nearest = self.nearest(text)
        if nearest is not None and (nearest.score == 100 or found is None) and self.near_enough(nearest) \
                and self.language.negated(nearest.sentence) == self.language.negated(text) \
                and not self._opposite_tones(nearest.sentence, text) \
                and (nearest.score == 100 or self.meant(text) in (None, nearest.intent)):
            # "not happy", "i hate talking to you"; a near miss is no reason to overrule what the words mean
            return recognize_best(nearest.sentence, self.intents)  # a known sentence beats free text
        return found

    def _opposite_tones(self, a: str, b: str) -> bool:
        return {self.tone(a), self.tone(b)} == {"positive", "negative"}

    def heard(self, text: str) -> Heard | None:
        """Whether `text` is a known sentence word for word (a match through free text does not count,
        since that is how a misheard sentence fits): Heard.ACTS if it changes something, Heard.ANSWERS
        if it only answers, None if it is not one."""
        if not text.strip():
            return None
        for variant in dict.fromkeys((text, self.language.numbers(text))):  # the grammar's words, then digits
            found = recognize_best(variant, self.intents)
            if found is not None and not through_free_text(found):
                return Heard.ACTS if found.intent.name in ACTS else Heard.ANSWERS
        return None

    def unfinished(self, text: str) -> bool:
        """Whether `text` is the beginning of known sentences of more than one intent ("what time": of
        the clock's, the timer's and the alarm's), so that what it would have gone on to say is open."""
        begun = _words(text) + " "
        at = bisect.bisect_left(self._written, (begun,))
        intents = {intent for _, intent in itertools.takewhile(lambda w: w[0].startswith(begun), self._written[at:])}
        return len(intents) > 1

    @staticmethod
    def near_enough(nearest: Nearest) -> bool:
        return nearest.score >= NEAR_ENOUGH and nearest.lead >= CLEAR_LEAD

    def nearest(self, text: str) -> Nearest | None:
        """The known sentence (numbers filled in from `text`) nearest to `text`, or None if there is none
        with as many numbers. An exact match in canonical form scores 100."""
        key, *others = self.keys(text)
        numbers = _NUMBER.findall(self.language.normalise(text))
        known = self._known
        for exact in (key, *others):
            if exact in known:
                alone = len({intent for _, intent in known[exact]}) == 1
                return self._filled(known[exact], numbers, 100.0, 100.0 if alone else 0.0)
        candidates = self._by_count.get(key.count("#"), [])
        if len(key) < SHORTEST or not candidates:
            return None
        scored = process.extract(key, candidates, scorer=OSA.normalized_similarity, limit=None,
                                 score_cutoff=0.4)
        if not scored:
            return None
        scored = [(k, 100 * score, i) for k, score, i in scored]
        best_key, best, _ = scored[0]
        intents = {intent for _, intent in known[best_key]}
        other = next((s for k, s, _ in scored if {i for _, i in known[k]} - intents), 0.0)
        return self._filled(known[best_key], numbers, best, best - other)

    def _filled(self, sentences: list[tuple[str, str]], numbers: list[str], score: float, lead: float):
        for sentence, intent in sentences:
            filled = _fill(sentence, self.language.normalise(_SLOT.sub(_PLACEHOLDER, sentence)), numbers)
            if filled is not None:
                return Nearest(sentence=filled, intent=intent, score=score, lead=lead)
        return None

    def _index(self) -> dict[str, list[tuple[str, str]]]:
        known: dict[str, list[tuple[str, str]]] = {}
        for sentence, intent in written_out(self.intents):
            for key in self.keys(_SLOT.sub(_PLACEHOLDER, sentence)):
                if key and (sentence, intent) not in known.setdefault(key, []):
                    known[key].append((sentence, intent))
        for key in known:
            known[key].sort(key=lambda pair: -len(_SLOT.findall(pair[0])))  # slots first: they take any number
            self._by_count.setdefault(key.count("#"), []).append(key)
        return known


def _words(text: str) -> str:
    """The words of a text as written, lower case (for the sentences it begins)."""
    return " ".join(re.findall(r"[\w']+", text.lower()))


def through_free_text(found: RecognizeResult) -> bool:
    """Matched through free text (a wildcard)."""
    return any(e.is_wildcard for e in found.entities_list)


def _fill(sentence: str, normalised: str, numbers: list[str]) -> str | None:
    """`sentence` with its number slots replaced by `numbers` in order; None if its own numbers differ."""
    mine = _NUMBER.findall(normalised)
    if len(mine) != len(numbers):
        return None
    slots = iter(n for m, n in zip(mine, numbers) if m == _PLACEHOLDER)
    if any(m != _PLACEHOLDER and m != n for m, n in zip(mine, numbers)):
        return None
    return _SLOT.sub(lambda _: next(slots), sentence)


def written_out(intents: Intents) -> list[tuple[str, str]]:
    """Every sentence without free text, written out (lists expanded, number ranges left as {slot}); at
    most WRITTEN_OUT_PER_TEMPLATE of one template."""
    found = []
    for name, intent in intents.intents.items():
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            lists = {**intents.slot_lists, **data.slot_lists}
            for sentence in data.sentences:
                used = set(sentence.list_names(rules))
                if used & data.wildcard_list_names or any(
                        isinstance(lists.get(n), TextSlotList) and not lists[n].values for n in used):
                    continue
                texts = sample_sentence(sentence, lists, rules, language=intents.language, expand_ranges=False)
                for text in itertools.islice(texts, WRITTEN_OUT_PER_TEMPLATE):
                    found.append((" ".join(text.split()), name))
    return found
