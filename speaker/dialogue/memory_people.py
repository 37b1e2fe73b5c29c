"""Small knowledge about the people in the user's life: who (a relation, a name) and what about them
(where they work or live, where and when they move, what they like or study), said back in grammatical
sentences and recalled however the question is shaped: "where does he work", "what do you know about
my brother", "who is Jane", "형 어디서 일해?", "어디서 일한다고 했지?", "수아가 누구야?".

A pronoun ("he", "her"; in Korean 걔, 그 사람, or no subject at all) means the person mentioned last
who fits it. Each language reads its sentences into a `Told` or an `Asked` (its `PEOPLE`, in
dialogue/languages/); what is kept and found is the same for every language.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .companion import meet
from .memory import Fact, Person
from .people import ABOUTS, EVERYTHING, IDENTITY, ME, NAMED, OMITTED, USER, Asked, Mention, Reader, Told
from .skills import Said

if TYPE_CHECKING:
    from . import Dialogue


def understand(d: Dialogue, text: str) -> tuple[str, Said] | None:
    """The intent and answer when `text` tells or asks something about someone the user knows."""
    reader = d.lang.PEOPLE
    names = {p.name for p in d.memory.people if p.name}
    said = reader.read(text, names)
    if said is not None and said.who.name.lower() == d.persona.name.lower():
        return None  # "Samantha loves music": about the speaker, not someone in the user's life
    if isinstance(said, Told):
        return _tell(d, reader, said)
    if isinstance(said, Asked):
        return _ask(d, reader, said)
    return None


def _tell(d: Dialogue, reader: Reader, told: Told) -> tuple[str, Said] | None:
    person = find(d, told.who)
    if person is None:
        if told.who.pronoun:
            return None  # "he works in Daegu" with nobody to be "he"
        person = Person(told.who.name, told.who.relation)
    if told.about == NAMED:  # "my best friend is called Tom": Tom is your friend
        meet(d, [Person(told.who.name, told.who.relation)])
        d.thread.mentioned()
        d.memory.save()
        said = Told(Mention(told.who.relation), NAMED, told.value, said=told.said)
        return "SpeakerRemember", Said("remembered", {"fact": reader.fact(said, d.memory.people[-1])})
    if person is not USER:
        meet(d, [person])
        person = d.memory.people[-1]
        d.thread.mentioned()
    text = reader.fact(told, person)
    who = told.who.name or told.who.relation or person.name or person.relation or ME
    d.memory.facts = [f for f in d.memory.facts if not (f.about == told.about and _is(d, f, person))]
    subject = d.lang.possessive(who, told.about)
    d.memory.facts.append(Fact(subject, text, who, about=told.about, value=told.value, when=told.when))
    d.memory.last = subject
    d.memory.save()
    return "SpeakerRemember", Said("remembered", {"fact": text})


def _ask(d: Dialogue, reader: Reader, asked: Asked) -> tuple[str, Said] | None:
    if asked.who.pronoun == OMITTED and not d.thread.recently_mentioned():
        return None  # "어디 살아?" long after anyone was talked about: asked of the speaker, perhaps
    person = find(d, asked.who)
    if person is None:
        if asked.who.pronoun or not asked.who.relation:
            return None  # "where does he work" with nobody to be "he"; "who is Samantha": not someone of yours
        return "SpeakerRecall", Said("recall_unknown", {"subject": reader.describe(asked.who, None)})
    if person is USER and asked.about in (EVERYTHING, IDENTITY):
        return None  # "나에 대해 뭐 알아?": everything it knows about you, listed by the companion
    _mentioned(d, person)
    known = facts_about(d, person)
    if asked.about in ABOUTS:
        known = [f for f in known if f.about == asked.about]
        if not known:  # "where do I live", told only where you work
            return "SpeakerRecall", Said("recall_unknown", {"subject": reader.that})
    elif asked.about in d.lang.NAME_WORDS and person.name and person.relation:  # "what's his name"
        return "SpeakerRecall", Said("recall", {"fact": reader.identity(person)})
    elif asked.about not in (EVERYTHING, IDENTITY):  # a thing: "her birthday"
        known = [f for f in known if asked.about in _words(d, f.subject)]
        if not known:
            return "SpeakerRecall", Said("recall_unknown", {"subject": reader.describe(Mention(person.relation, person.name),
                                                                                       person)})
    if asked.about in (EVERYTHING, IDENTITY) and person.name and person.relation:
        known = [f for f in known if not _words(d, f.subject) & d.lang.NAME_WORDS]  # "your sister's name is Jane": said below
        texts = [reader.identity(person)] + [f.text for f in reversed(known)]
    else:
        texts = [f.text for f in reversed(known)]
    if not texts:
        return "SpeakerRecall", Said("recall_unknown", {"subject": reader.describe(asked.who, person)})
    if asked.about in (EVERYTHING, IDENTITY):
        return "SpeakerRecall", Said("recall_person", {"person": reader.describe(asked.who, person),
                                                       "facts": reader.join(texts)})
    return "SpeakerRecall", Said("recall", {"fact": reader.join(texts)})


def _same_relation(d: Dialogue, a: str, b: str) -> bool:
    return a == b or any({a, b} <= {key} | others for key, others in d.lang.SAME_RELATIONS.items())


def find(d: Dialogue, mention: Mention) -> Person | None:
    """The known person a mention points at (a pronoun: the latest mentioned who fits it)."""
    if mention.pronoun == ME:
        return USER
    people = list(reversed(d.memory.people))
    if mention.pronoun:
        return next((p for p in people if _fits(d, p, mention.pronoun)), None)
    if mention.name:
        return next((p for p in people if p.name.lower() == mention.name.lower()), None) or \
            (next((p for p in people if _same_relation(d, p.relation, mention.relation) and not p.name), None)
             if mention.relation else None)
    return next((p for p in people if _same_relation(d, p.relation, mention.relation)), None)


def _fits(d: Dialogue, person: Person, pronoun: str) -> bool:
    if pronoun == "he":
        return person.relation not in d.lang.SHE_RELATIONS
    if pronoun == "she":
        return person.relation not in d.lang.HE_RELATIONS
    return True


def _mentioned(d: Dialogue, person: Person) -> None:
    """The person talked about last (what the next "he" or "she" means); kept with the next save."""
    if person is USER:
        return
    d.thread.mentioned()
    people = d.memory.people
    if person in people:
        people.remove(person)
        people.append(person)


def _is(d: Dialogue, fact: Fact, person: Person) -> bool:
    who = fact.who.lower()
    if person is USER:
        return who == ME
    return bool(who) and who != ME and (who == person.name.lower() or _same_relation(d, who, person.relation))


def facts_about(d: Dialogue, person: Person) -> list[Fact]:
    """What the user told about someone: kept as knowledge, or as a sentence naming them ("mom's birthday")."""
    keys = {k.lower() for k in (person.name, person.relation) if k}
    return [f for f in d.memory.facts if _is(d, f, person) or (not f.who and keys & _words(d, f.subject))]


def _words(d: Dialogue, subject: str) -> set[str]:
    return {re.sub(r"'s?$", "", w.lower()) for w in d.lang.words(subject)}
