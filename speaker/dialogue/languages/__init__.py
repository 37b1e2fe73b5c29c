"""What is specific to one language, in one module per language (`en.py`, `ko.py`).

Every module gives what `Language` lists, so a third language is one more module here and its sentence
files (sentences/<code>.yaml, sentences/companion/<code>.yaml, sentences/meaning/<code>.yaml and a
persona), and nothing else: no other module asks which language it speaks.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from re import Pattern
from typing import TYPE_CHECKING, Protocol

from ...config import LANGUAGES

if TYPE_CHECKING:
    from ..memory import Person
    from ..people import Reader

NAMES = LANGUAGES  # the languages the settings accept: each has its module here


class Language(Protocol):
    """One language: how people write and say things in it, and how the speaker answers in it."""

    CODE: str  # "en"
    FREE_SPACING: bool  # words may be written together or apart (compare both ways)
    FREE_ORDER: bool  # the order of the words changes little

    # --- reading what was said --------------------------------------------------------------------
    def normalise(self, text: str) -> str:
        """The canonical form compared with the known sentences (case, punctuation, contractions,
        fillers, endings, particles), numbers as digits."""

    def numbers(self, text: str) -> str:
        """Only the numbers people say ("ten", "half an hour", "오 분") as digits."""

    def said_numbers(self, text: str) -> str:
        """Digits as people say them, for the speech grammar ("45" → "forty five", "6분" → "육분")."""

    def compact(self, normalised: str) -> str:
        """The string the fuzzy matcher compares (Korean: without spaces, in jamo)."""

    def meaning_words(self, text: str) -> list[str]:
        """The words the meaning layer reads."""

    def negated(self, text: str) -> bool:
        """Whether the text says no to something ("not happy", "안 피곤해")."""

    # --- saying times, dates, lengths and lists ----------------------------------------------------
    def spoken_time(self, when: datetime) -> str: ...
    def spoken_date(self, when: datetime) -> str: ...
    def spoken_duration(self, seconds: int) -> str: ...
    def describe_timer(self, name: str, seconds: int) -> str: ...
    def join(self, items: list[str]) -> str: ...
    def time_left(self, timer: str, left: str) -> str: ...
    def time_on_day(self, time: str, day: str) -> str: ...
    def day_word(self, today: bool) -> str: ...
    def copula(self, word: str) -> str: ...
    def clean_name(self, name: str) -> str: ...

    def sentence_case(self, text: str) -> str:
        """A persona line as written out ("it is 3 o'clock. ok" → "It is 3 o'clock. Ok")."""

    # --- the people and facts the user tells about --------------------------------------------------
    RELATIONS: frozenset[str]  # "brother", "동생"
    MODIFIERS: frozenset[str]  # words beside a relation that are not a name: "best", "친한"
    OWNERS: frozenset[str]  # "my", "내": the user's own, left out of a subject
    NOT_NAMES: frozenset[str]  # words that may stand where a name does but are nobody ("today's")
    NAME_WORDS: frozenset[str]  # "name", "이름"
    SAME_RELATIONS: dict[str, frozenset[str]]  # "mom": {"mother", "mum"}
    HE_RELATIONS: frozenset[str]  # who "he" may be ("brother"); Korean pronouns say nothing of it
    SHE_RELATIONS: frozenset[str]
    DATED_THINGS: tuple[str, ...]  # things a fact said without "my" must be about (Korean: 생일, 예약)
    WORD_LISTS: dict[str, frozenset[str]]  # lists the sentence files use ({relation}, {thing})
    YOUR: str  # the user's own relation, said back: "your {}", "{}"
    YOUR_NAME_IS: str  # "your name is {}", "이름은 {}"
    PEOPLE: Reader  # reads what is told or asked about someone into a Told or an Asked

    def words(self, text: str) -> list[str]:
        """The words of a subject, as written (Korean: without particles)."""

    def stem(self, word: str) -> str:
        """A word of a subject as compared ("birthdays" → "birthday")."""

    def subject_parts(self, text: str, names: set[str]) -> tuple[frozenset[str], frozenset[str]]:
        """A subject split into whose it is and what it is, as compared ("friend Amy's birthday" →
        {friend, amy}, {birthday}); `names`: the people the user named."""

    def owner_and_thing(self, text: str) -> tuple[list[str], list[str], bool]:
        """A subject split as written into whose and what, and whether a possessive marked whose ("Amy's")."""

    def may_be_name(self, word: str) -> bool:
        """Whether `word`, beside nothing that says so, can be someone's name ("Amy", "수아")."""

    def your(self, text: str) -> str:
        """What the user said about their own, said back to them: "my mom" → "your mom", "내 엄마를" → "엄마"."""

    def said_subject(self, subject: str, own: bool) -> str:
        """A subject the user asked about, said back ("your birthday")."""

    def possessive(self, owner: str, thing: str) -> str:
        """"Amy's birthday", "수아 생일"."""

    def statement(self, statement: str, had: bool) -> tuple[str, str, str, bool] | None:
        """(subject, verb, value, said with "my") of a free-text statement ("my dentist is on Tuesday")."""

    def verb_after(self, subject: str, text: str) -> str:
        """The verb the user said after `subject` ("starts"), or "is"."""

    def fact(self, subject: str, verb: str, value: str, own: bool) -> str:
        """A fact said back: "your dentist is on Tuesday", "치과는 화요일이에요"."""

    def plain_value(self, value: str) -> str:
        """A value without the ending it was said with ("수아야" → "수아")."""

    def hard_news(self, value: str) -> bool:
        """Whether "my X is <value>" is news to care about ("sick", "아파"), not a fact to file."""

    def say_back(self, reason: str, text: str) -> tuple[str, bool]:
        """What lay behind a feeling, said back (words, whether it is a clause): "I lost my job" →
        ("you lost your job", True)."""

    # --- the other stages ---------------------------------------------------------------------------
    LLM_CONTEXT: tuple[str, str, str, str]  # the language model's context lines: user, facts, language, people
    CHAT_EXAMPLES: tuple[tuple[str, str], ...]  # example turns shown to the language model: (said, answered)
    UNSAFE: list[tuple[str, Pattern]]  # what the language model must not say: (why, pattern)

    def in_language(self, sentence: str) -> bool:
        """Whether a sentence is said in this language."""

    def tells_a_life(self, sentence: str) -> bool:
        """Whether the companion speaks of itself doing, owning or being what only a person does ("I went
        to the zoo"); its thoughts, feelings and being here are its own."""

    STOP_PHRASES: tuple[str, ...]  # what stops the speaker while it talks
    STOP_SPOTTER: str  # "keywords" (pocketsphinx's, with its own model) or "grammar" (vosk's: the speech model)
    STOP_STEMS: tuple[str, ...]  # words beginning so may sound like a stop phrase (a grammar spotter's test)

    POCKETSPHINX: bool  # pocketsphinx (its own model, in its wheel) can recognise it
    VOSK_PACKAGE: str  # the Python package that holds its vosk model ("" if none)
    VOSK_MODEL_HELP: str  # how to install a missing vosk model ({dir}: the models folder)


def get(language: str) -> Language:
    """The module of `language` ("en", "ko")."""
    if language not in NAMES:
        raise ValueError(f"no language module for {language!r}")
    return import_module(f"{__name__}.{language}")


def units(seconds: int) -> list[tuple[int, str]]:
    """(count, unit) with a count: seconds only under an hour, and "0 seconds" for nothing."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, seconds = divmod(rest, 60)
    found = [(hours, "hour"), (minutes, "minute"), (0 if hours else seconds, "second")]
    return [(n, unit) for n, unit in found if n] or [(0, "second")]
