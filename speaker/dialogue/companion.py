"""The companion, with no language model: feelings, affection, small talk, and a memory for any fact
you tell it and for the people in your life (whom it names when it turns you towards them).

A skill here may answer None: the sentence fitted a loose template but is not for the companion
("today's weather is lovely" is not a fact about anyone), or a language model answers it better
("tell me a story"); the dialogue then treats it as not understood (or asks the model). The skills
are registered in registry.py; the words of each language come from its module (`d.lang`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .memory import Fact, Person
from .skills import Said

if TYPE_CHECKING:
    from . import Dialogue

NUDGE_CHANCE = 0.4  # how often a feeling is answered with a nudge towards the people in your life
LOW = {"lonely", "sad", "long_day", "stressed", "anxious", "bored", "missing"}  # may nudge: call someone
HIGH = {"happy", "excited", "proud"}  # may nudge: share it with someone you know
MAX_PEOPLE = 30
MAX_LISTED = 6  # facts said in one answer to "what do you know about me"

# --- subjects: who it is about, and what --------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    owner: frozenset[str]  # the people it belongs to ("friend", "amy"); empty: the user's own
    thing: frozenset[str]  # what it is ("birthday"; "dentist", "appointment")

    def within(self, other: "Subject") -> bool:
        """A question about `self` is answered by a fact about `other`: "Amy's birthday" by "my
        friend Amy's birthday", "my dentist" by "my dentist appointment", never "my birthday" by Amy's."""
        return self.thing <= other.thing and self.owner <= other.owner and bool(self.owner) == bool(other.owner)


def _words(d: Dialogue, text: str) -> list[str]:
    """The words of a subject in lower case, without "my" ("내")."""
    return [w for w in (w.lower() for w in d.lang.words(text)) if w not in d.lang.OWNERS]


def subject_of(d: Dialogue, text: str, names: set[str] = frozenset()) -> Subject:
    """Split "friend Amy's birthday" into its owner (friend, amy) and thing (birthday)."""
    return Subject(*d.lang.subject_parts(text, names))


def _beside(words: list[str], n: int, relations: frozenset[str]) -> bool:
    return any(0 <= m < len(words) and words[m] in relations for m in (n - 1, n + 1))


def people_in(d: Dialogue, text: str, value: str = "") -> list[Person]:
    """The people a subject mentions: "friend Amy's birthday" → Amy, your friend; "sister's name"
    with the value "Jane" → Jane, your sister."""
    lang = d.lang
    owner, thing, possessive = lang.owner_and_thing(text)  # "Amy's": a name even without a relation
    lowered = [w.lower() for w in owner]
    relation = next((w for w in lowered if w in lang.RELATIONS), "")
    nobody = lang.RELATIONS | lang.MODIFIERS | lang.NOT_NAMES
    names = [w for n, w in enumerate(owner) if lowered[n] not in nobody
             and (_beside(lowered, n, lang.RELATIONS) or (possessive and lang.may_be_name(w)))]
    name = names[0] if names else ""
    if relation and not name and {w.lower() for w in thing} & lang.NAME_WORDS and value:
        name = lang.plain_value(value)
        name = name if len(name.split()) <= 2 else ""
    return [Person(_capital(name), relation)] if name or relation else []


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


# --- people --------------------------------------------------------------------------------------

def meet(d: Dialogue, people: list[Person]) -> None:
    """Remember the people the user mentioned (the latest last); a name fills in a known relation."""
    known = d.memory.people
    for person in people:
        same = next((p for p in known if person.name and p.name.lower() == person.name.lower()), None) or \
            next((p for p in known if person.relation and p.relation == person.relation
                  and (not p.name or not person.name)), None)
        if same is None:
            same = Person("", "")
        else:
            known.remove(same)
        known.append(Person(person.name or same.name, person.relation or same.relation))
    del known[:-MAX_PEOPLE]


def someone(d: Dialogue) -> str:
    """Someone the user told the speaker about, as the speaker says it ("Amy", "your sister"); ""
    if it knows nobody. Recent ones more often."""
    people = d.memory.people[-3:]
    if not people:
        return ""
    person = d.random.choice(people)
    return person.name or d.lang.YOUR.format(person.relation)


# --- feelings ------------------------------------------------------------------------------------

def feeling(d: Dialogue, slots: dict, text: str) -> Said:
    kind = slots.get("feeling", "sad")
    missed = str(slots.get("person", "")).strip(" .!?")
    if kind == "missing" and missed:
        meet(d, _missed_people(d, missed))
        return Said("miss_person", {"person": d.lang.your(missed)})
    said = Said(f"feeling_{kind}")
    if kind not in LOW and kind not in HIGH:
        return said
    person = someone(d)
    if not d.thread.point_to_someone(kind, bool(person), d.random.random() < NUDGE_CHANCE):
        return said
    if kind in HIGH:
        return Said(said.key, then=Said("nudge_share", {"person": person})) if person else said
    return Said(said.key, then=Said("nudge_person", {"person": person}) if person else Said("nudge"))


def _missed_people(d: Dialogue, missed: str) -> list[Person]:
    lang = d.lang
    said = lang.words(missed)
    relation = next((w.lower() for w in said if w.lower() in lang.RELATIONS), "")
    nobody = lang.RELATIONS | lang.OWNERS | lang.MODIFIERS | lang.NOT_NAMES
    names = [w for w in said if w.lower() not in nobody]
    name = names[0] if len(names) == 1 and (relation or lang.may_be_name(names[0])) else ""
    return [Person(name, relation)] if name or relation else []


TONE = "SpeakerTone"  # the intent of a feeling no intent claims


def tone(d: Dialogue, slots: dict, text: str) -> Said:
    """A feeling no intent claims, answered in kind: "positive" or "negative"."""
    return Said(f"tone_{slots['tone']}")


# --- memory --------------------------------------------------------------------------------------

def remember_name(d: Dialogue, slots: dict, text: str) -> Said:
    name = re.sub(r"[^\w\s'-]", "", str(slots.get("user_name", ""))).strip()
    if not name or len(name.split()) > 3:
        return Said("not_understood")
    d.memory.user_name = _capital(name)
    d.memory.last = ""
    d.memory.save()
    return Said("SpeakerRememberName")


def remember(d: Dialogue, slots: dict, text: str) -> Said | None:
    statement = _statement(d, slots, text)
    if statement is None:
        return None
    subject, verb, value, own = statement
    if _words(d, subject) and set(_words(d, subject)) <= d.lang.NAME_WORDS and own:
        return remember_name(d, {"user_name": d.lang.plain_value(value)}, text)
    people = people_in(d, subject, value)
    if not own and not _about_someone(subject, people, d):
        return None  # "today's weather is nice", "오늘은 금요일이야": not a fact to keep
    if d.lang.hard_news(value):
        meet(d, people)
        return feeling(d, {"feeling": "sad"}, text)
    fact = d.lang.fact(subject, verb, value, own)
    meet(d, people)
    asked = subject_of(d, subject, _names(d))
    d.memory.facts = [f for f in d.memory.facts if subject_of(d, f.subject, _names(d)) != asked]
    d.memory.facts.append(Fact(subject, fact))
    d.memory.last = subject
    d.memory.save()
    return Said("remembered", {"fact": fact})


def _statement(d: Dialogue, slots: dict, text: str) -> tuple[str, str, str, bool] | None:
    """(subject, verb, value, said with "my") from the slots, or from free text after "remember that"."""
    if "value" in slots:
        parts = (slots.get("relation", ""), slots.get("subject", ""), slots.get("thing", ""))
        subject = " ".join(str(p).strip(" .!?,") for p in parts if p)
        if slots.get("owner"):
            subject = d.lang.possessive(slots["owner"], subject)
        value, own = str(slots["value"]).strip(" .!?"), bool(slots.get("own"))
        verb = d.lang.verb_after(str(slots.get("subject", "")), text)
        return (subject, verb, value, own) if subject and value else None
    statement = str(slots.get("statement", "")).strip(" .!?,")
    return d.lang.statement(statement, bool(slots.get("had"))) if statement else None


def _about_someone(subject: str, people: list[Person], d: Dialogue) -> bool:
    """A fact said without "my": about a person ("Amy's birthday"), or (Korean) about a thing
    people keep dates of ("치과 예약은 화요일이야")."""
    if any(p.name or p.relation for p in people):
        return True
    words = set(_words(d, subject))
    if words & {n.lower() for n in _names(d)}:
        return True
    return any(t in w for w in words for t in d.lang.DATED_THINGS)


def _names(d: Dialogue) -> set[str]:
    return {p.name for p in d.memory.people if p.name}


def _asked(d: Dialogue, slots: dict) -> tuple[str, bool]:
    """The subject a question is about, and whether the user said "my"."""
    subject = str(slots.get("subject", "")).strip(" .!?,")
    if slots.get("owner"):
        subject = d.lang.possessive(slots["owner"], subject)
    return subject, bool(slots.get("own"))


def _find(d: Dialogue, subject: str) -> list[Fact]:
    """The facts about `subject`, the best fitting and latest first."""
    names = _names(d)
    asked = subject_of(d, subject, names)
    if not asked.thing and not asked.owner:
        return []
    found = [f for f in d.memory.facts if asked.within(subject_of(d, f.subject, names))]
    return sorted(reversed(found), key=lambda f: subject_of(d, f.subject, names) != asked)


def recall(d: Dialogue, slots: dict, text: str) -> Said | None:
    subject, own = _asked(d, slots)
    words = set(_words(d, subject))
    if not subject or (own and words <= d.lang.NAME_WORDS):
        if d.memory.user_name:
            return Said("recall_name")
        return Said("name_unknown")
    facts = _find(d, subject)
    if facts:
        return Said("recall", {"fact": facts[0].text})
    person = _person_named(d, subject)
    if person is not None:  # "what did I tell you about Amy"
        facts = _about(d, person)
        return Said("recall", {"fact": _join(d, facts)}) if facts else \
            Said("recall_unknown", {"subject": person.name})
    if not own and not _about_someone(subject, people_in(d, subject), d):
        return None  # "what is the capital of France's name": not about you
    return Said("recall_unknown", {"subject": d.lang.said_subject(subject, own)})


def recalls(d: Dialogue, intent: str, slots: dict) -> bool:
    """Whether `intent` with `slots` asks about something the user told it (a fact, or someone by name)."""
    if intent != "SpeakerRecall":
        return False
    subject, _own = _asked(d, slots)
    return bool(subject) and bool(_find(d, subject) or _person_named(d, subject) is not None)


def list_facts(d: Dialogue, slots: dict, text: str) -> Said:
    memory = d.memory
    known = []
    if memory.user_name:
        known.append(d.lang.YOUR_NAME_IS.format(memory.user_name))
    known += [f.text for f in reversed(memory.facts)][:MAX_LISTED - len(known)]
    if not known:
        return Said("no_facts")
    listed = _join(d, [Fact("", k) for k in known])
    more = len(memory.facts) + bool(memory.user_name) - len(known)
    return Said("facts_list", {"list": listed}, then=Said("facts_more", {"count": more}) if more > 0 else None)


def forget(d: Dialogue, slots: dict, text: str) -> Said:
    memory = d.memory
    if "subject" not in slots:
        subject = memory.last
        if subject is None:
            return Said("nothing_to_forget")
        own = True
    else:
        subject, own = _asked(d, slots)
    if subject == "" or (own and set(_words(d, subject)) <= d.lang.NAME_WORDS):
        if not memory.user_name:
            return Said("nothing_to_forget")
        memory.user_name, memory.last = "", None
        memory.save()
        return Said("forgot_name")
    person = _person_named(d, subject)
    if person is not None:  # "forget about Amy": Amy and all about her
        memory.people.remove(person)
        gone = _about(d, person)
        memory.facts = [f for f in memory.facts if f not in gone]
        memory.last = None
        memory.save()
        return Said("forgot_person", {"person": person.name or d.lang.YOUR.format(person.relation)})
    facts = _find(d, subject)
    if not facts:
        return Said("recall_unknown", {"subject": d.lang.said_subject(subject, own)})
    memory.facts.remove(facts[0])
    memory.last = None
    memory.save()
    return Said("forgot", {"fact": facts[0].text})


def _about(d: Dialogue, person: Person) -> list[Fact]:
    """The facts about someone the user told it about."""
    about = Subject(frozenset({d.lang.stem(person.name)}), frozenset())
    return [f for f in d.memory.facts if about.within(subject_of(d, f.subject, {person.name}))]


def _join(d: Dialogue, facts: list[Fact]) -> str:
    return d.lang.join([f.text.rstrip(".") for f in facts])


def _person_named(d: Dialogue, subject: str) -> Person | None:
    words = set(_words(d, subject))
    return next((p for p in reversed(d.memory.people) if p.name and p.name.lower() in words and len(words) == 1), None)


def forget_all(d: Dialogue, slots: dict, text: str) -> Said:
    memory = d.memory
    if not (memory.user_name or memory.facts or memory.people):
        return Said("nothing_to_forget")
    memory.user_name, memory.facts, memory.people, memory.last = "", [], [], None
    memory.save()
    return Said("forgot_everything")


# --- small talk ----------------------------------------------------------------------------------

OPEN_ENDED = {"story", "talk"}  # small talk a language model, when there is one, answers better than a line


def small_talk(d: Dialogue, slots: dict, text: str) -> Said | None:
    topic = slots.get("topic", "talk")
    return None if d.chat is not None and topic in OPEN_ENDED else Said(f"smalltalk_{topic}")
