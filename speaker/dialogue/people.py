"""What is told or asked about the people in the user's life, as every language reads it: each
language's `PEOPLE` reader (dialogue/languages/) turns a sentence into a `Told` or an `Asked`;
memory_people keeps and finds them the same way for every language."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Protocol

from .memory import Person

ABOUTS = ("works", "lives", "moving", "likes", "studies")
EVERYTHING, IDENTITY = "everything", "identity"  # what an `Asked` may ask besides one of ABOUTS
OMITTED = "omitted"  # the pronoun of a question without a subject: whoever was just talked about
NAMED = "named"  # what a `Told` says when it only gives someone's name
ME = "me"  # the pronoun of the user themself: "I work in Seoul", "나 어디 산다고 했지?"
USER = Person("", "")  # the user, who is not one of the people in their life


@dataclass(frozen=True)
class Mention:
    """How a sentence points at someone: a relation, a name, or a pronoun ("he", "she", "any")."""

    relation: str = ""
    name: str = ""
    pronoun: str = ""


@dataclass(frozen=True)
class Told:
    who: Mention
    about: str  # one of ABOUTS
    value: str  # "Daegu", "strawberries"
    _: KW_ONLY
    when: str = ""
    said: str = ""  # the rest of the sentence as said (English: "works in Daegu")


@dataclass(frozen=True)
class Asked:
    who: Mention
    about: str  # one of ABOUTS, EVERYTHING, IDENTITY, or a thing ("birthday")


class Reader(Protocol):
    that: str  # what it was not told, when it was told other things: "that", "그거"

    def read(self, text: str, names: set[str]) -> Told | Asked | None:
        """What `text` tells or asks about someone; None if it does neither."""

    def fact(self, told: Told, person: Person) -> str:
        """How the speaker says back what it was told: "your brother works in Daegu", "형은 대구에서 일해요"."""

    def identity(self, person: Person) -> str:
        """"Jane is your sister", "수아는 여동생이에요"."""

    def describe(self, mention: Mention, person: Person | None) -> str:
        """"your brother", "Tom", "형"."""

    def join(self, texts: list[str]) -> str:
        """Several facts in one answer."""
