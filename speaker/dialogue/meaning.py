"""The meaning layer: what a sentence means when no known sentence is near it.

Below the sentence matcher, for phrasings nobody wrote down. Each language describes, as data
(`sentences/meaning/<language>.yaml`), its concepts (words, stems, phrases and their inflections),
the words that negate them, the fillers that carry no meaning, and for each intent the concepts it
needs (signatures) and the slots it fills. A text is scored against every signature; the most specific
one wins only if no signature of another intent is as specific, and only if the concepts cover most of
what was said (nonsense is not forced into an intent). Then, for what no intent claims, the tone: a
sentiment lexicon per language, negation flipping a word, says whether the sentence carries feeling.

Terms: "word" is a whole word, "stem*" a word beginning so; "two words" in a row, fillers aside. In a
language written with free spacing (Korean) a term is found anywhere in a word (stems and endings:
헤어지 in 헤어졌어), and a term of several words anywhere in the text written without spaces.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import languages

HERE = Path(__file__).parent / "sentences" / "meaning"
UNKNOWN = 0.25  # share of the words (at least one) that may be none of the concepts or fillers, for an intent
UNKNOWN_IN_FEELING = 0.5  # for a tone said of oneself: feeling is about anything ("i failed my driving test");
# two in three let nonsense through ("신발이 월요일을 싫어한다")
NEGATION_WINDOW = 2  # words before a term that negate it ("not very happy")


@dataclass(frozen=True, kw_only=True)
class Signature:
    intent: str
    needs: tuple[str, ...]  # concepts (or slot patterns) that must all be there; "!x": x negated
    unless: frozenset[str]  # concepts that rule it out
    slots: dict  # fixed slot values ("volume_step": "up")


@dataclass(frozen=True)
class Understood:
    intent: str
    slots: dict


@dataclass
class _Found:
    plain: set[str]  # concepts said
    negated: set[str]  # concepts said negated ("not happy")
    covered: set[int]  # indices of the words accounted for


class Meanings:
    """The meaning tables of one language, and the scoring of a text against them."""

    def __init__(self, language: str, devices: tuple[str, ...] = ()):
        self.lang = languages.get(language)
        data = _load(language)
        self.free_spacing = self.lang.FREE_SPACING
        term = lambda text: _term(self.lang.numbers(str(text)))  # noqa: E731 (compared as the text is: "no 1")
        self.concepts = {name: [term(t) for t in terms] for name, terms in data["concepts"].items()}
        self.negation = data.get("negation", {})
        fillers = [str(f) for f in data.get("fillers", ())]
        self.fillers = {f for f in fillers if not f.endswith("*")}
        self.filler_stems = tuple(f[:-1] for f in fillers if f.endswith("*"))  # 싶*: 싶어, 싶지, 싶었어
        self.patterns = {name: re.compile(p) for name, p in data.get("patterns", {}).items()}
        self.slot_names = {intent: spec.get("slots", []) for intent, spec in data["intents"].items()}
        self.signatures = [Signature(intent=intent, needs=tuple(s["needs"]), unless=frozenset(s.get("unless", ())),
                                     slots=s.get("set", {}))
                           for intent, spec in data["intents"].items() for s in spec["meanings"]]
        self.tones = {tone: [term(t) for t in terms] for tone, terms in data.get("tone", {}).items()}
        self.first_person = set(data["first_person"]) if "first_person" in data else None  # None: not asked
        self.devices = sorted(devices, key=len, reverse=True)

    def words(self, text: str) -> list[str]:
        return self.lang.meaning_words(text)

    def understand(self, text: str) -> Understood | None:
        """The intent `text` means, with its slots; None if no intent clearly wins."""
        words = self.words(text)
        if not words:
            return None
        joined = " ".join(words)
        found = self._find(words, self.concepts)
        present = found.plain | {f"!{c}" for c in found.negated}
        present |= {name for name, p in self.patterns.items() if p.search(joined)}
        device = self._device(joined)
        if device:
            present.add("device")
            found.covered |= {i for i, w in enumerate(words) if w in device.lower()}
        scored = sorted(((len(s.needs), s) for s in self.signatures
                         if set(s.needs) <= present and not s.unless & present), key=lambda x: -x[0])
        if not scored:
            return None
        best, signature = scored[0]
        if any(n == best and s.intent != signature.intent for n, s in scored[1:]):
            return None  # two intents mean it equally: not forced into either
        if not self._familiar(words, found.covered):
            return None
        slots = self._slots(signature, joined)
        return None if slots is None else Understood(signature.intent, slots)

    def tone(self, text: str) -> str | None:
        """"negative" or "positive" if the text carries that feeling (a negated word counts as its
        opposite: "not happy"), else None."""
        words = self.words(text)
        if not words:
            return None
        found = self._find(words, self.tones)
        score = 0
        for tone in ("positive", "negative"):
            sign = 1 if tone == "positive" else -1
            score += sign * ((tone in found.plain) - (tone in found.negated))
        covered = found.covered | self._find(words, self.concepts).covered
        personal = self.first_person is None or bool(self.first_person & set(words))
        if not score or not self._familiar(words, covered, UNKNOWN_IN_FEELING if personal else UNKNOWN):
            return None
        return "positive" if score > 0 else "negative"

    def _familiar(self, words: list[str], covered: set[int], unknown_share: float = UNKNOWN) -> bool:
        """Whether the words the tables know (or fillers, or numbers) leave at most `unknown_share` of
        the words unknown (at least one): "the clock swallowed a dragon" is not a question about the time; and
        whether it is a sentence at all, not a word said over and over (a microphone tried out)."""
        if len(words) >= 3 and 2 * len(set(words)) <= len(words):
            return False
        unknown = [w for i, w in enumerate(words) if i not in covered and not self._filler(w) and not w.isdigit()]
        return len(unknown) <= max(1, unknown_share * len(words))

    def _filler(self, word: str) -> bool:
        """A word that carries no meaning here: one of the fillers, or a word beginning as a filler stem does."""
        return word in self.fillers or word.startswith(self.filler_stems)

    def _find(self, words: list[str], table: dict[str, list[tuple[str, ...]]]) -> _Found:
        """The concepts said. Words are read as the longest term that begins there: a shorter term of
        another concept at the same place does not count ("left" in "left me", 그만 in 그만두)."""
        spaceless = "".join(words)
        said = [(concept, start, end, len("".join(term).rstrip("*")), len(term))
                for concept, terms in table.items() for term in terms
                for start, end in self._occurrences(words, spaceless, term)]
        found = _Found(set(), set(), set())
        for concept, start, end, length, parts in said:
            if any(other != concept and s == start and end <= e and n > length for other, s, e, n, _ in said):
                continue
            negated = self._negated(words, start, end) if parts == 1 else False
            (found.negated if negated else found.plain).add(concept)
            found.covered.update(range(start, end))
        return found

    def _occurrences(self, words: list[str], spaceless: str, term: tuple[str, ...]):
        if self.free_spacing:
            if len(term) == 1:  # a term of one syllable only begins a word (다 is not in 싫어한다)
                stem = term[0].rstrip("*")
                yield from ((i, i + 1) for i, w in enumerate(words)
                            if (stem in w if len(stem) > 1 else w.startswith(stem)))
            else:  # anywhere in the text without spaces; a first word of one syllable only begins a word
                joined = "".join(t.rstrip("*") for t in term)
                starts = {sum(len(w) for w in words[:i]) for i in range(len(words))}
                ends = [sum(len(w) for w in words[: i + 1]) for i in range(len(words))]
                at = spaceless.find(joined)
                while at >= 0:
                    if len(term[0].rstrip("*")) > 1 or at in starts:
                        first = next(i for i, e in enumerate(ends) if e > at)
                        last = next(i for i, e in enumerate(ends) if e >= at + len(joined))
                        yield first, last + 1
                        return
                    at = spaceless.find(joined, at + 1)
            return
        for i in range(len(words)):  # fillers may stand between a term's words: "no one (ever) listens"
            k, j = 0, i
            while k < len(term) and j < len(words):
                if _fits(words[j], term[k]):
                    k += 1
                elif not k or not self._filler(words[j]):
                    break
                j += 1
            if k == len(term):
                yield i, j

    def _negated(self, words: list[str], start: int, end: int) -> bool:
        before = words[max(0, start - NEGATION_WINDOW):start]
        if any(w in self.negation.get("before", ()) for w in before):
            return True
        after = "".join(words[start:end + 1])
        return any(a in after for a in self.negation.get("after", ()))

    def _device(self, joined: str) -> str | None:
        squeeze = (lambda s: s.replace(" ", "")) if self.free_spacing else (lambda s: f" {s} ")
        return next((d for d in self.devices if squeeze(d.lower()) in squeeze(joined)), None)

    def _slots(self, signature: Signature, joined: str) -> dict | None:
        """The slots the intent fills, from the patterns of the language; None if one it needs is missing."""
        slots = dict(signature.slots)
        for name in self.slot_names.get(signature.intent, ()):
            if name == "device":
                device = self._device(joined)
                if device:
                    slots["device"] = device
                continue
            pattern = self.patterns.get(name)
            found = pattern.search(joined) if pattern else None
            if found is None:
                continue
            for key, value in found.groupdict().items():
                if value is not None:
                    slots[key] = int(value) if value.isdigit() else value
        if "name" in slots and slots["name"] in self.fillers:
            del slots["name"]
        return slots


def _term(text: str) -> tuple[str, ...]:
    return tuple(str(text).split())


def _fits(word: str, term: str) -> bool:
    return word.startswith(term[:-1]) if term.endswith("*") else word == term


@functools.lru_cache(maxsize=8)
def _load(language: str) -> dict:
    with (HERE / f"{language}.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.lru_cache(maxsize=8)
def meanings_for(language: str, devices: tuple[str, ...] = ()) -> Meanings:
    return Meanings(language, devices)
