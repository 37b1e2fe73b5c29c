"""The companion, with no language model: feelings, affection, small talk, and a memory for any fact
you tell it and for the people in your life (whom it names when it turns you towards them).

A skill here may answer None: the sentence fitted a loose template but is not for the companion
("today's weather is lovely" is not a fact about anyone), or a language model answers it better
("tell me a story"); the dialogue then treats it as not understood (or asks the model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .memory import Fact, Person
from .languages import ko
from .skills import Said

if TYPE_CHECKING:
    from . import Dialogue

NUDGE_CHANCE = 0.4  # how often a feeling is answered with a nudge towards the people in your life
LOW = {"lonely", "sad", "long_day", "stressed", "anxious", "bored", "missing"}  # may nudge: call someone
HIGH = {"happy", "excited", "proud"}  # may nudge: share it with someone you know
MAX_PEOPLE = 30
MAX_LISTED = 6  # facts said in one answer to "what do you know about me"

# --- what is specific to each language -----------------------------------------------------------
# (kept together so they can move into the per-language modules of the understanding)

RELATIONS = {
    "en": {"mother", "mom", "mum", "mommy", "mummy", "father", "dad", "daddy", "parents", "sister", "brother",
           "sibling", "daughter", "son", "kids", "children", "wife", "husband", "partner", "girlfriend", "boyfriend",
           "fiance", "fiancee", "friend", "bestie", "aunt", "uncle", "cousin", "niece", "nephew", "grandmother",
           "grandma", "granny", "nana", "grandfather", "grandpa", "grandson", "granddaughter", "neighbor", "neighbour",
           "boss", "colleague", "coworker", "roommate", "flatmate", "teacher", "doctor", "family"},
    "ko": {"엄마", "어머니", "어머님", "아빠", "아버지", "아버님", "부모님", "언니", "누나", "오빠", "형", "동생", "여동생",
           "남동생", "딸", "아들", "아내", "와이프", "남편", "여자친구", "남자친구", "여친", "남친", "애인", "친구", "절친",
           "이모", "고모", "삼촌", "외삼촌", "사촌", "할머니", "할아버지", "손자", "손녀", "조카", "이웃", "상사", "동료",
           "선생님", "가족"},
}
MODIFIERS = {  # words beside a relation that are not a name: "my best friend", "제일 친한 친구"
    "en": {"best", "little", "big", "older", "younger", "baby", "old", "new", "dear", "closest", "good", "twin"},
    "ko": {"제일", "가장", "친한", "큰", "작은", "막내", "사랑하는"},
}
OWNERS = {  # "my", "내": the user's own, left out of the subject
    "en": {"my", "your", "our", "the", "a", "an"},
    "ko": {"내", "제", "우리", "나의", "저의", "내가", "제가"},
}
NOT_NAMES = {  # words that may stand before "'s" but are nobody: "today's", "what's"
    "en": {"it", "that", "this", "what", "there", "here", "who", "he", "she", "today", "tomorrow", "tonight",
           "yesterday", "everything", "everyone", "everybody", "nobody", "life", "work", "let", "where", "when", "how",
           "one", "world", "weather", "time", "year", "week", "night", "day", "morning", "mine", "yours"},
    "ko": set(),
}
NAME_WORDS = {"en": {"name"}, "ko": {"이름", "성함"}}
HARD_NEWS = {  # words that make "my X is Y" news to care about, not a fact to file away ("my mom is sick")
    "en": {"sick", "ill", "hurt", "hurts", "hurting", "killing", "mess", "dead", "died", "dying", "gone", "missing",
           "lost", "broken", "sad", "angry", "upset", "awful", "terrible", "horrible", "stressful", "worse", "bad",
           "failing", "crying", "lonely", "exhausted"},
    "ko": ("아파", "아프", "죽", "힘들", "엉망", "망했", "잃어", "없어졌", "슬퍼", "다쳤", "입원", "헤어졌", "싸웠", "우울"),
}
KO_PARTICLES = ("에게", "한테", "께서", "의", "은", "는", "이", "가", "을", "를", "도")
KO_THINGS = ("생일", "이름", "약속", "예약", "번호", "주소", "기념일", "나이", "시험", "면접", "회의", "출장", "여행",
             "수업", "병원", "치과", "결혼식", "파티", "비행기", "기차")  # a fact said without 내/우리 must be about one
KO_ENDINGS = ("이었어", "였어", "이에요", "예요", "입니다", "이래", "이야", "이다", "야", "래", "다")
WORD_LISTS = {"ko": {"relation": RELATIONS["ko"], "thing": set(KO_THINGS)}}  # lists the sentence files use
EN_VERBS = r"is|are|was|were|will be|'s|comes|starts|opens|closes|leaves|arrives|begins|ends|lives|works|studies"
EN_ME = {"my": "your", "i": "you", "me": "you", "mine": "yours", "i'm": "you're", "am": "are", "myself": "yourself",
         "i've": "you've", "i'll": "you'll", "i'd": "you'd", "we": "you", "our": "your", "us": "you"}
YOUR = {"en": "your {}", "ko": "{}"}  # how to point at the user's own thing when saying it back


# --- subjects: who it is about, and what --------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    owner: frozenset[str]  # the people it belongs to ("friend", "amy"); empty: the user's own
    thing: frozenset[str]  # what it is ("birthday"; "dentist", "appointment")

    def within(self, other: "Subject") -> bool:
        """A question about `self` is answered by a fact about `other`: "Amy's birthday" by "my
        friend Amy's birthday", "my dentist" by "my dentist appointment", never "my birthday" by Amy's."""
        return self.thing <= other.thing and self.owner <= other.owner and bool(self.owner) == bool(other.owner)


def _stem(word: str) -> str:
    word = word.strip("'")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _ko_bare(word: str) -> str:
    for particle in KO_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


def _words(text: str, language: str) -> list[str]:
    if language == "ko":
        return [_ko_bare(w) for w in re.findall(r"[\w']+", text) if w not in OWNERS["ko"]]
    return [w for w in re.findall(r"[\w']+", text.lower()) if w not in OWNERS["en"]]


def subject_of(text: str, language: str, names: set[str] = frozenset()) -> Subject:
    """Split "friend Amy's birthday" into its owner (friend, amy) and thing (birthday)."""
    words = _words(text, language)
    if language == "en":
        marks = [n for n, w in enumerate(words) if w.endswith(("'s", "s'"))]
        cut = marks[-1] + 1 if marks else 0
        owner = [re.sub(r"'s?$", "", w) for w in words[:cut]]
        return Subject(frozenset(_stem(w) for w in owner if w not in MODIFIERS["en"]),
                       frozenset(_stem(w) for w in words[cut:]))
    people = RELATIONS["ko"] | set(names)
    owner = {w for n, w in enumerate(words[:-1]) if w in people or _beside(words, n, RELATIONS["ko"])}
    thing = [w for w in words if w not in owner]
    return Subject(frozenset(owner - MODIFIERS["ko"]), frozenset(thing) - MODIFIERS["ko"])


def _beside(words: list[str], n: int, relations: set[str]) -> bool:
    return any(0 <= m < len(words) and words[m] in relations for m in (n - 1, n + 1))


def people_in(text: str, language: str, value: str = "") -> list[Person]:
    """The people a subject mentions: "friend Amy's birthday" → Amy, your friend; "sister's name"
    with the value "Jane" → Jane, your sister."""
    possessive = False  # "Amy's": a capitalised word before "'s" is a name even without a relation
    if language == "en":
        words = re.findall(r"[\w']+", text)
        marks = [n for n, w in enumerate(words) if w.lower().endswith(("'s", "s'"))]
        possessive = bool(marks)
        owner = [re.sub(r"'s?$", "", w) for w in words[: marks[-1] + 1]] if marks else words
        thing = words[marks[-1] + 1:] if marks else []
        owner = [w for w in owner if w.lower() not in OWNERS["en"]]
    else:
        words = _words(text, "ko")
        owner, thing = words[:-1], words[-1:]
    relations, lowered = RELATIONS[language], [w.lower() for w in owner]
    relation = next((w for w in lowered if w in relations), "")
    nobody = relations | MODIFIERS[language] | NOT_NAMES[language]
    names = [w for n, w in enumerate(owner) if lowered[n] not in nobody
             and (_beside(lowered, n, relations) or (possessive and w[:1].isupper()))]
    name = names[0] if names else ""
    if relation and not name and {w.lower() for w in thing} & NAME_WORDS[language] and value:
        name = _plain_value(value, language)
        name = name if len(name.split()) <= 2 else ""
    if language == "en" and name:
        name = name[:1].upper() + name[1:]
    return [Person(name, relation)] if name or relation else []


def _plain_value(value: str, language: str) -> str:
    value = value.strip(" .!?")
    if language == "ko":
        for ending in KO_ENDINGS:
            if value.endswith(ending) and len(value) > len(ending):
                return value[: -len(ending)].strip()
    return value


def _your(text: str) -> str:
    """What the user said about themselves, said back to them: "my mom's house" → "your mom's house"."""
    return " ".join(EN_ME.get(w.lower(), w) for w in text.split())


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
    return person.name or YOUR[d.language].format(person.relation)


# --- feelings ------------------------------------------------------------------------------------

def feeling(d: Dialogue, slots: dict) -> Said:
    kind = slots.get("feeling", "sad")
    missed = str(slots.get("person", "")).strip(" .!?")
    if kind == "missing" and missed:
        meet(d, _missed_people(missed, d.language))
        return Said("miss_person", {"person": _your(missed) if d.language == "en" else _ko_plain_person(missed)})
    said = Said(f"feeling_{kind}")
    if kind not in LOW and kind not in HIGH:
        return said
    person = someone(d)
    if not d.thread.point_to_someone(kind, bool(person), d.random.random() < NUDGE_CHANCE):
        return said
    if kind in HIGH:
        return Said(said.key, then=Said("nudge_share", {"person": person})) if person else said
    return Said(said.key, then=Said("nudge_person", {"person": person}) if person else Said("nudge"))


def _missed_people(missed: str, language: str) -> list[Person]:
    words = _words(missed, language)
    relation = next((w.lower() for w in words if w.lower() in RELATIONS[language]), "")
    names = [w for w in (missed.split() if language == "en" else words)
             if w.lower() not in RELATIONS[language] | OWNERS[language] | MODIFIERS[language] | NOT_NAMES[language]]
    name = names[0] if len(names) == 1 and (relation or language == "ko" or names[0][:1].isupper()) else ""
    return [Person(name, relation)] if name or relation else []


def _ko_plain_person(missed: str) -> str:
    return " ".join(w for w in (_ko_bare(w) for w in missed.split()) if w not in OWNERS["ko"])


# --- memory --------------------------------------------------------------------------------------

def remember_name(d: Dialogue, slots: dict, text: str = "") -> Said:
    name = re.sub(r"[^\w\s'-]", "", str(slots.get("user_name", ""))).strip()
    if not name or len(name.split()) > 3:
        return Said("not_understood")
    d.memory.user_name = name[:1].upper() + name[1:] if d.language == "en" else name
    d.memory.last = ""
    d.memory.save()
    return Said("SpeakerRememberName")


def remember(d: Dialogue, slots: dict, text: str) -> Said | None:
    statement = _statement(slots, text, d.language)
    if statement is None:
        return None
    subject, verb, value, own = statement
    if _words(subject, d.language) and set(_words(subject, d.language)) <= NAME_WORDS[d.language] and own:
        return remember_name(d, {"user_name": _plain_value(value, d.language)})
    people = people_in(subject, d.language, value)
    if not own and not _about_someone(subject, people, d):
        return None  # "today's weather is nice", "오늘은 금요일이야": not a fact to keep
    if _hard_news(value, d.language):
        meet(d, people)
        return feeling(d, {"feeling": "sad"})
    if d.language == "en":
        fact = f"{'your ' if own else ''}{_your(subject)} {verb} {_your(value)}"
    else:
        named = subject.split()[-1] in NAME_WORDS["ko"]  # "이름은 수아": a name, said with 이에요/예요
        fact = f"{subject}{ko.topic(subject)} {ko.polite(value, noun=named)}"
    meet(d, people)
    asked = subject_of(subject, d.language, _names(d))
    d.memory.facts = [f for f in d.memory.facts if subject_of(f.subject, d.language, _names(d)) != asked]
    d.memory.facts.append(Fact(subject, fact))
    d.memory.last = subject
    d.memory.save()
    return Said("remembered", {"fact": fact})


def _statement(slots: dict, text: str, language: str) -> tuple[str, str, str, bool] | None:
    """(subject, verb, value, said with "my") from the slots, or from free text after "remember that"."""
    if "value" in slots:
        parts = (slots.get("relation", ""), slots.get("subject", ""), slots.get("thing", ""))
        subject = " ".join(str(p).strip(" .!?,") for p in parts if p)
        if slots.get("owner"):
            subject = f"{slots['owner']}'s {subject}" if language == "en" else f"{slots['owner']} {subject}"
        value, own = str(slots["value"]).strip(" .!?"), bool(slots.get("own"))
        verb = "is"
        if language == "en":
            found = re.search(rf"{re.escape(str(slots.get('subject', '')))}\s+({EN_VERBS})\b", text, re.IGNORECASE)
            verb = found.group(1).lower() if found else "is"
            verb = "is" if verb == "'s" else verb
        return (subject, verb, value, own) if subject and value else None
    statement = str(slots.get("statement", "")).strip(" .!?,")
    if not statement:
        return None
    if language == "en":
        prefix = "" if slots.get("had") else r"(?:i have|i've got|i got|i have got) (?:a |an |my |the )?"
        had = re.match(rf"^{prefix}(.+?) ((?:on|at|in|next|this|tomorrow|tonight|today|after|before)\b.*)$",
                       statement, re.IGNORECASE)
        if had:
            return had.group(1), "is", had.group(2), True
        if slots.get("had"):
            return None
        found = re.match(rf"^(my |our )?(.+?)\s+({EN_VERBS})\s+(.+)$", statement, re.IGNORECASE)
        if found:
            verb = "is" if found.group(3) == "'s" else found.group(3).lower()
            return found.group(2), verb, found.group(4), bool(found.group(1))
        return None
    found = re.match(r"^((?:내|제|우리|나의)\s+)?(.+?)(?:은|는|이|가)\s+(.+)$", statement)
    if found:
        return found.group(2), "", found.group(3), bool(found.group(1))
    return None


def _hard_news(value: str, language: str) -> bool:
    if language == "ko":
        return any(word in value for word in HARD_NEWS["ko"])
    return bool(set(re.findall(r"\w+", value.lower())) & HARD_NEWS["en"])


def _about_someone(subject: str, people: list[Person], d: Dialogue) -> bool:
    """A fact said without "my": about a person ("Amy's birthday"), or (Korean) about a thing
    people keep dates of ("치과 예약은 화요일이야")."""
    if any(p.name or p.relation for p in people):
        return True
    words = set(_words(subject, d.language))
    if words & {n.lower() if d.language == "en" else n for n in _names(d)}:
        return True
    return d.language == "ko" and any(t in w for w in words for t in KO_THINGS)


def _names(d: Dialogue) -> set[str]:
    return {p.name for p in d.memory.people if p.name}


def _asked(slots: dict, language: str) -> tuple[str, bool]:
    """The subject a question is about, and whether the user said "my"."""
    subject = str(slots.get("subject", "")).strip(" .!?,")
    if slots.get("owner"):
        subject = f"{slots['owner']}'s {subject}" if language == "en" else f"{slots['owner']} {subject}"
    return subject, bool(slots.get("own"))


def _find(d: Dialogue, subject: str) -> list[Fact]:
    """The facts about `subject`, the best fitting and latest first."""
    names = _names(d)
    asked = subject_of(subject, d.language, names)
    if not asked.thing and not asked.owner:
        return []
    found = [f for f in d.memory.facts if asked.within(subject_of(f.subject, d.language, names))]
    return sorted(reversed(found), key=lambda f: subject_of(f.subject, d.language, names) != asked)


def _said_subject(subject: str, own: bool, language: str) -> str:
    if language == "en":
        return f"your {_your(subject)}" if own else _your(subject)
    return subject


def recall(d: Dialogue, slots: dict) -> Said | None:
    subject, own = _asked(slots, d.language)
    words = set(_words(subject, d.language))
    if not subject or (own and words <= NAME_WORDS[d.language]):
        if d.memory.user_name:
            return Said("recall_name")
        return Said("name_unknown")
    facts = _find(d, subject)
    if facts:
        return Said("recall", {"fact": facts[0].text})
    person = _person_named(d, subject)
    if person is not None:  # "what did I tell you about Amy"
        facts = _about(d, person)
        return Said("recall", {"fact": _join(facts, d.language)}) if facts else \
            Said("recall_unknown", {"subject": person.name})
    if not own and not _about_someone(subject, people_in(subject, d.language), d):
        return None  # "what is the capital of France's name": not about you
    return Said("recall_unknown", {"subject": _said_subject(subject, own, d.language)})


def recalls(d: Dialogue, intent: str, slots: dict) -> bool:
    """Whether `intent` with `slots` asks about something the user told it (a fact, or someone by name)."""
    if intent != "SpeakerRecall":
        return False
    subject, _own = _asked(slots, d.language)
    return bool(subject) and bool(_find(d, subject) or _person_named(d, subject) is not None)


def list_facts(d: Dialogue, slots: dict) -> Said:
    memory = d.memory
    known = []
    if memory.user_name:
        known.append(f"your name is {memory.user_name}" if d.language == "en" else f"이름은 {memory.user_name}")
    known += [f.text for f in reversed(memory.facts)][:MAX_LISTED - len(known)]
    if not known:
        return Said("no_facts")
    listed = _join([Fact("", k) for k in known], d.language)
    more = len(memory.facts) + bool(memory.user_name) - len(known)
    return Said("facts_list", {"list": listed}, then=Said("facts_more", {"count": more}) if more > 0 else None)


def forget(d: Dialogue, slots: dict) -> Said:
    memory = d.memory
    if "subject" not in slots:
        subject = memory.last
        if subject is None:
            return Said("nothing_to_forget")
        own = True
    else:
        subject, own = _asked(slots, d.language)
    if subject == "" or (own and set(_words(subject, d.language)) <= NAME_WORDS[d.language]):
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
        return Said("forgot_person", {"person": person.name or YOUR[d.language].format(person.relation)})
    facts = _find(d, subject)
    if not facts:
        return Said("recall_unknown", {"subject": _said_subject(subject, own, d.language)})
    memory.facts.remove(facts[0])
    memory.last = None
    memory.save()
    return Said("forgot", {"fact": facts[0].text})


def _about(d: Dialogue, person: Person) -> list[Fact]:
    """The facts about someone the user told it about."""
    about = Subject(frozenset({_stem(person.name.lower()) if d.language == "en" else person.name}), frozenset())
    return [f for f in d.memory.facts if about.within(subject_of(f.subject, d.language, {person.name}))]


def _join(facts: list[Fact], language: str) -> str:
    texts = [f.text.rstrip(".") for f in facts]
    if language == "ko" or len(texts) < 2:
        return ", ".join(texts)
    return ", ".join(texts[:-1]) + " and " + texts[-1]


def _person_named(d: Dialogue, subject: str) -> Person | None:
    words = {w.lower() for w in _words(subject, d.language)}
    return next((p for p in reversed(d.memory.people) if p.name and p.name.lower() in words and len(words) == 1), None)


def forget_all(d: Dialogue, slots: dict) -> Said:
    memory = d.memory
    if not (memory.user_name or memory.facts or memory.people):
        return Said("nothing_to_forget")
    memory.user_name, memory.facts, memory.people, memory.last = "", [], [], None
    memory.save()
    return Said("forgot_everything")


# --- small talk ----------------------------------------------------------------------------------

OPEN_ENDED = {"story", "talk"}  # small talk a language model, when there is one, answers better than a line


def small_talk(d: Dialogue, slots: dict) -> Said | None:
    topic = slots.get("topic", "talk")
    return None if d.chat is not None and topic in OPEN_ENDED else Said(f"smalltalk_{topic}")


SKILLS: dict[str, Callable[..., Said | None]] = {
    "SpeakerFeeling": feeling,
    "SpeakerSmallTalk": small_talk,
    "SpeakerRememberName": remember_name,
    "SpeakerRecall": recall,
    "SpeakerListFacts": list_facts,
    "SpeakerForget": forget,
    "SpeakerForgetAll": forget_all,
}


INTENTS = {*SKILLS, "SpeakerRemember", "SpeakerAffection", "SpeakerIdentity", "SpeakerCapabilities"}


def run(d: Dialogue, intent: str, slots: dict, text: str) -> Said | None:
    """What the companion answers to `intent`; None when the sentence was not for it after all."""
    if intent == "SpeakerRemember":
        return remember(d, slots, text)
    skill = SKILLS.get(intent)
    return skill(d, slots) if skill else Said(intent)
