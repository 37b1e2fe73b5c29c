"""Small knowledge about the people in the user's life: who (a relation, a name) and what about them
(where they work or live, where and when they move, what they like or study), said back in grammatical
sentences and recalled however the question is shaped: "where does he work", "what do you know about
my brother", "who is Jane", "형 어디서 일해?", "어디서 일한다고 했지?", "수아가 누구야?".

A pronoun ("he", "her"; in Korean 걔, 그 사람, or no subject at all) means the person mentioned last
who fits it. Each language reads its sentences into a `Told` or an `Asked` (`READERS`); what is kept
and found is the same for every language.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Protocol

from .companion import EN_ME, MODIFIERS, NOT_NAMES, RELATIONS, meet
from .languages import ko
from .memory import Fact, Person
from .skills import Said

if TYPE_CHECKING:
    from . import Dialogue

ABOUTS = ("works", "lives", "moving", "likes", "studies")
NAMES = {"name", "이름", "성함"}  # a fact about one of these is the person's name
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

    def subject(self, who: str, about: str) -> str:
        """The fact's subject as the rest of memory reads it ("brother's works", "형 works")."""

    that: str  # what it was not told, when it was told other things: "that", "그거"


# --- English -------------------------------------------------------------------------------------

HE = {"brother", "dad", "daddy", "father", "son", "husband", "boyfriend", "uncle", "nephew", "grandpa", "grandfather",
      "grandson", "fiance"}
SHE = {"sister", "mom", "mum", "mommy", "mummy", "mother", "daughter", "wife", "girlfriend", "aunt", "niece", "grandma",
       "granny", "nana", "grandmother", "granddaughter", "fiancee"}
EN_PRONOUNS = {"he": "he", "him": "he", "his": "he", "she": "she", "her": "she", "they": "any", "them": "any",
               "their": "any"}
EN_TOLD = {  # what about them: the verb as said, and what follows it
    "works": r"works|is working|has a job|does work", "lives": r"lives|is living|stays|is staying",
    "moving": r"is moving|moves|will move|is going to move|is relocating|'s moving",
    "likes": r"likes|loves|adores|enjoys|is into|really likes|really loves|is crazy about",
    "studies": r"studies|is studying",
}
EN_ASKED = {"works": r"work|works|working", "lives": r"live|lives|living|stay|stays", "moving": r"move|moves|moving|relocating",
            "likes": r"like|likes|love|loves|enjoy|enjoys|into", "studies": r"study|studies|studying"}
EN_WHEN = re.compile(r"\s*\b((?:next|this|last|in a|in \w+) (?:week|month|year|weekend|spring|summer|autumn|fall|winter"
                     r"|days|weeks|months|years)|tomorrow|today|tonight|soon|on \w+(?: \d+)?|in (?:january|february|march"
                     r"|april|may|june|july|august|september|october|november|december)(?: \d+)?)\b", re.IGNORECASE)
_REL = "|".join(sorted(RELATIONS["en"], key=len, reverse=True))
_MOD = "|".join(sorted(MODIFIERS["en"], key=len, reverse=True))
EN_SELF_TOLD = {  # what about the user: "I work in Seoul", "I'm moving to Busan next month"
    "works": r"work|am working|'m working", "lives": r"live|am living|'m living|stay|am staying|'m staying",
    "moving": r"am moving|'m moving|will move|am going to move|'m going to move",
    "likes": r"like|love|adore|enjoy|really like|really love|am into|'m into", "studies": r"study|am studying|'m studying",
}
EN_NOT_LIKED = re.compile(r"^(?:you|it|that|this|them|him|her|me|to|being|when|how|the way)\b|\byou(?:rs?)?\b",
                          re.IGNORECASE)  # (anything of the companion's, "talking with you": affection)
_PERSON = rf"(?:(?:my|our) (?:(?:{_MOD}) )?(?P<rel>{_REL})(?:'s)?(?: (?P<rname>[\w-]+))?|(?P<pro>he|she|they|him|her|them)|(?P<name>[\w-]+))"
_QUESTION = r"(?:where|when|what|who|which \w+|what \w+)"


def _pattern(text: str) -> re.Pattern:
    return re.compile(text, re.IGNORECASE)


EN_TELLING = _pattern(rf"^{_PERSON} (?P<verb>{'|'.join(EN_TOLD.values())}) (?P<rest>.+)$")
EN_NAMING = _pattern(rf"^{_PERSON} (?:is|'s) (?:called|named)(?: (?P<called>[\w-]+))$")  # "my best friend is called Tom"
EN_SELF_TELLING = _pattern(rf"^(?P<me>i)(?P<verb> (?:{'|'.join(EN_SELF_TOLD.values())})) (?P<rest>.+)$")
EN_SELF_ASKING = _pattern(rf"^(?:do you (?:know|remember) )?{_QUESTION} (?:do|did|am) i (?P<verb>{'|'.join(EN_ASKED.values())})"
                          rf"(?: (?:to|in|at|for|again))*$")
EN_ASKING = [
    _pattern(rf"^(?:do you (?:know|remember) |can you remind me )?{_QUESTION} (?:does|did|do|is|was|will|has) {_PERSON} "
             rf"(?P<verb>{'|'.join(EN_ASKED.values())})(?: (?:to|in|at|for|again))*$"),
    _pattern(rf"^(?:do you (?:know|remember) |tell me |remind me )?{_QUESTION}(?: did (?:you say|i say|i tell you))? "
             rf"{_PERSON} (?P<verb>{'|'.join(EN_TOLD.values())})(?: (?:to|in|at|for|again))*$"),
]
EN_CALLED = _pattern(rf"^(?:what(?:'s| is| was)|do you (?:know|remember) what) {_PERSON} (?:is )?called(?: again)?$")
EN_YES_NO = _pattern(rf"^(?:does|did|is|do you know if|do you remember if) {_PERSON} (?P<verb>{'|'.join(EN_ASKED.values())}|"
                     rf"{'|'.join(EN_TOLD.values())})\b.*$")  # "does my brother work in Daegu": say what is known
EN_ABOUT = _pattern(rf"^(?:what (?:do|did) you (?:know|remember)|what have i told you|what did i (?:tell you|say)|"
                    rf"tell me(?: everything)?(?: you know)?|what can you tell me|what else do you know|"
                    rf"do you (?:know|remember) anything) about {_PERSON}$")
EN_WHO = _pattern(rf"^(?:who is|who's|who was|remind me who) {_PERSON}(?: again)?$")
EN_THING = _pattern(r"^(?:when|what|where|who)(?: is|'s| was| are) (?P<pro>his|her|their) (?P<thing>[\w ]+?)(?: again)?$")
EN_OPENING = re.compile(r"^(?:so|and|then|ok|okay|hey|well|oh|um|wait),? ", re.IGNORECASE)  # "so where does he work"
EN_NOBODY = NOT_NAMES["en"] | {"i", "you", "we", "it", "that", "this", "everyone", "someone", "what", "which", "who",
                               "there", "nobody", "anyone", "am", "is", "are", "nothing", "something", "anything",
                               "somebody", "anybody", "people", "love", "music", "money", "everything", "this one"}


class English:
    that = "that"

    def read(self, text: str, names: set[str]) -> Told | Asked | None:
        text = EN_OPENING.sub("", " ".join(text.strip(" .!?").replace("’", "'").split()))
        known = {n.lower() for n in names}
        found = EN_THING.match(text)
        if found:
            return Asked(Mention(pronoun=EN_PRONOUNS[found["pro"].lower()]), found["thing"].lower())
        found = EN_NAMING.match(text)
        if found and found["rel"] and not found["rname"] and found["called"].lower() not in EN_NOBODY:
            return Told(Mention(found["rel"].lower(), _capital(found["called"])), NAMED, _capital(found["called"]),
                        said=f"is called {_capital(found['called'])}")
        found = EN_SELF_ASKING.match(text)
        if found:
            return Asked(Mention(pronoun=ME), next(a for a in ABOUTS if re.fullmatch(EN_ASKED[a], found["verb"], re.I)))
        found = EN_SELF_TELLING.match(re.sub(r"^i'm\b", "I 'm", text, flags=re.IGNORECASE))
        if found:
            verb = found["verb"].strip()
            about = next(a for a in ABOUTS if re.fullmatch(EN_SELF_TOLD[a], verb, re.IGNORECASE))
            if about == "likes" and EN_NOT_LIKED.search(found["rest"]):
                return None  # "I love you", "I like it here", "I love talking with you": not a thing the user likes
            return self._told(Mention(pronoun=ME), about, found["rest"], second_person(f"I {verb}").replace(" 'm", "'re"))
        for pattern, about in ((EN_ABOUT, EVERYTHING), (EN_WHO, IDENTITY), (EN_CALLED, "name")):
            found = pattern.match(text)
            if found:
                who = self._mention(found, known, asked=True)
                return Asked(who, about) if who else None
        for pattern in (*EN_ASKING, EN_YES_NO):
            found = pattern.match(text)
            if found:
                who = self._mention(found, known, asked=True)
                about = next(a for a in ABOUTS if re.fullmatch(f"{EN_ASKED[a]}|{EN_TOLD[a]}", found["verb"], re.IGNORECASE))
                return Asked(who, about) if who else None
        found = EN_TELLING.match(text)
        if found:
            who = self._mention(found, known, asked=False)
            if who is None:
                return None
            about = next(a for a, verbs in EN_TOLD.items() if re.fullmatch(verbs, found["verb"], re.IGNORECASE))
            return self._told(who, about, found["rest"], found["verb"].lower().replace("'s ", "is "))
        return None

    def _told(self, who: Mention, about: str, rest: str, verb: str) -> Told | None:
        when = EN_WHEN.search(rest)
        value = EN_WHEN.sub("", rest).strip() if when else rest
        value = re.sub(r"^(?:in|at|to|for|near|with|as|in the city of)\s+", "", value, flags=re.IGNORECASE)
        if not value and about != "moving":
            return None
        return Told(who, about, value, when=when.group(1) if when else "", said=f"{verb} {second_person(rest)}")

    def _mention(self, found: re.Match, known: set[str], asked: bool) -> Mention | None:
        if found["pro"]:
            return Mention(pronoun=EN_PRONOUNS[found["pro"].lower()])
        if found["rel"]:
            name = found["rname"] or ""
            if name and (name.lower() in EN_NOBODY or not (name[:1].isupper() or name.lower() in known)):
                return None
            return Mention(found["rel"].lower(), _capital(name))
        name = found["name"]
        if name.lower() in EN_NOBODY or name.lower() in RELATIONS["en"]:
            return None
        if name.lower() not in known and not name[:1].isupper():
            return None
        return Mention(name=_capital(name))

    def fact(self, told: Told, person: Person) -> str:
        return f"{self.describe(told.who, person)} {told.said}".strip()

    def identity(self, person: Person) -> str:
        return f"{person.name} is your {person.relation}"

    def describe(self, mention: Mention, person: Person | None) -> str:
        if mention.pronoun == ME or person is USER:
            return ""  # told.said is already "you work in Seoul"
        person = person or Person(mention.name, mention.relation)
        if mention.relation or (person.relation and not mention.name):
            return f"your {person.relation}" + (f" {person.name}" if mention.name and person.name else "")
        return person.name or f"your {person.relation}"

    def join(self, texts: list[str]) -> str:
        return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]

    def subject(self, who: str, about: str) -> str:
        return f"{who}'s {about}"


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def second_person(text: str) -> str:
    """What the user said of themselves, said back to them: "my girlfriend" → "your girlfriend"."""
    return " ".join(EN_ME.get(w.lower(), w) for w in text.split())


# --- Korean --------------------------------------------------------------------------------------

KO_OWNERS = r"(?:(?:내|우리|제|나의|저희)\s+)?(?:(?:제일|가장|젤)\s+)?(?:친한\s+)?"
KO_OPENING = re.compile(r"^(?:그럼|근데|그런데|그래서|아|음|어|참|혹시)\s+")  # "그럼 형은 어디서 일한다고?"
KO_ME = {"나", "저", "난", "전", "내가", "제가", "나는", "저는", "내", "제"}  # 내 + 가: the user
KO_PRONOUNS = {"걔", "걔는", "걔가", "그 사람", "그사람", "그분", "그 애", "그애", "그", "그녀"}
KO_WHEN = re.compile(r"(다음\s*달|다음\s*주(?:말)?|다음\s*해|내년|올해|이번\s*달|이번\s*주(?:말)?|내일|모레|곧|"
                     r"\d+월(?:\s*\d+일)?|[일이삼사오육칠팔구십]+월(?:\s*[일이삼사오육칠팔구십]+일)?|\S+요일)(?:에)?(?=\s|$)")
KO_TOLD = {  # what about them: where what they said ends, and what it says
    "works": r"(?P<value>\S+?)에서\s*(?:일해|일한다|일하고\s*있어|일하고\s*있다|근무해|근무한다|일했어|일하거든)",
    "lives": r"(?P<value>\S+?)(?:에|에서)\s*(?:살아|산다|살고\s*있어|살고\s*있다|살거든|살아요)",
    "moving": r"(?P<value>\S+?)(?:으로|로)\s*이사\s*(?:가|간다|갈\s*거야|갈\s*거래|간대|가게\s*됐어|해|한대|할\s*거야|가거든)",
    "likes": r"(?P<value>\S+?)\s*(?:(?:진짜|정말|엄청|너무|제일|많이)\s+)?(?:좋아해|좋아한다|좋아하거든|사랑해|좋아함)",
    "studies": r"(?P<value>\S+?)\s*(?:공부해|공부한다|전공해|전공한다|공부하고\s*있어)",
}
_ASKING_END = r"(?:\s*(?:요|야|지|니|냐|죠|더라|었지|었더라|는지\s*알아|다고\s*했지|다고\s*했더라|다고|는데))*"
KO_ASKED = {
    "works": r"(?:어디서|어디에서|어디)\s*(?:일해|일하지|일하니|일하냐|일하더라|일한다고\s*했지|일한다고|일한다고\s*했더라|일하는지\s*알아|"
             r"일하는데|근무해|근무하지|일하|일한다)",
    "lives": r"(?:어디에서|어디에|어디서|어디)\s*(?:살아|살지|사니|사냐|살더라|산다고\s*했지|산다고|산다고\s*했더라|사는지\s*알아|사는데|살|산다)",
    "moving": r"(?:(?:언제|어디로|어디)\s*이사\s*|이사\s*(?:언제|어디로)\s*)(?:가|가지|가니|가냐|간다고\s*했지|간다고|간다고\s*했더라|가더라|"
              r"가는지\s*알아|간대|해|하지|한다고\s*했지|간다)",
    "likes": r"(?:뭘|뭐를|무엇을|뭐|어떤\s*걸|무슨\s*\S+)\s*(?:좋아해|좋아하지|좋아하니|좋아하냐|좋아하더라|좋아한다고\s*했지|좋아한다고|"
             r"좋아하는지\s*알아|좋아하|좋아한다)",
    "studies": r"(?:뭘|뭐를|무엇을|뭐)\s*(?:공부해|공부하지|공부하니|전공해|전공하지|공부한다고\s*했지)",
}
KO_ABOUT = re.compile(rf"^{KO_OWNERS}(?P<who>.+?)\s*(?:에\s*대해서?|에\s*대한\s*거|에\s*관해서?|얘기)\s*"
                      r"(?:뭐|뭘|무엇을|아는\s*거|알고\s*있는\s*거|기억하는\s*거|아는\s*것|들은\s*거)?\s*(?:다|전부)?\s*"
                      r"(?:알아|알고\s*있어|기억해|기억나|말해\s*줘|말해줘|알려\s*줘|알려줘|뭐\s*있어|뭐야|해\s*줘|들려\s*줘)$")
KO_WHO = re.compile(rf"^{KO_OWNERS}(?P<who>그 사람|그 애|\S+?)(?:이|가|은|는)?\s*누구(?:야|지|였지|더라|였더라|예요|니|냐|라고\s*했지)?$")
_KO_REL = "|".join(sorted(RELATIONS["ko"], key=len, reverse=True))
KO_SUBJECTS = (re.compile(rf"^{KO_OWNERS}(?P<rel>{_KO_REL})\s+(?P<who>\S+?)(?:은|는|이|가|도)?\s+(?P<rest>.+)$"),
               re.compile(rf"^{KO_OWNERS}(?P<who>\S+?)(?:은|는|이|가|도)?\s+(?P<rest>.+)$"))
KO_THING = re.compile(r"^(?:걔|그\s*사람|그분|그\s*애)\s*(?P<thing>\S+?)(?:은|는|이|가)?\s*(?:뭐|언제|어디)\S*$")  # 걔 생일 언제야
KO_PARTICLES = ("은", "는", "이", "가", "도", "을", "를")
KO_NOBODY = {"나", "저", "난", "전", "내가", "제가", "나는", "저는", "너", "넌", "오늘", "지금", "요즘", "어디", "언제",
             "뭐", "누구", "여기", "거기", "집", "회사"}


class Korean:
    that = "그거"

    def read(self, text: str, names: set[str]) -> Told | Asked | None:
        said = self._read(KO_OPENING.sub("", " ".join(re.sub(r"[?!.~,]+", " ", text).split())), names)
        if isinstance(said, Told) and text.rstrip().endswith("?"):  # "형 대구에서 일해?": asked, not told
            return Asked(said.who, said.about)
        return said

    def _read(self, text: str, names: set[str]) -> Told | Asked | None:
        found = KO_THING.match(text)
        if found:
            return Asked(Mention(pronoun="any"), _bare(found["thing"]))
        found = KO_ABOUT.match(text)
        if found:
            who = self._mention(found["who"], names, asked=True)
            return Asked(who, EVERYTHING) if who else None
        found = KO_WHO.match(text)
        if found:
            who = self._mention(found["who"], names, asked=True)
            return Asked(who, IDENTITY) if who else None
        for about, verbs in KO_ASKED.items():  # the subject may be left out: the person just talked about
            found = re.match(rf"^(?:{KO_OWNERS}(?P<who>\S+?)(?:은|는|이|가)?\s+)?{verbs}{_ASKING_END}$", text)
            if found:
                who = self._mention(found["who"], names, asked=True) if found["who"] else Mention(pronoun=OMITTED)
                return Asked(who, about) if who else None
        for subject in KO_SUBJECTS:  # 내 친구 민지는 …, else 형은 … / 민지는 …
            found = subject.match(text)
            told = self._told(found, names) if found else None
            if told is not None:
                return told
        return None

    def _told(self, found: re.Match, names: set[str]) -> Told | None:
        who = self._mention(found["who"], names, asked=False)
        relation = found.groupdict().get("rel")
        if who is None or (relation and not who.name):
            return None
        if relation:  # 내 친구 민지는: a relation and a name
            who = Mention(relation, who.name)
        rest = found["rest"]
        when = KO_WHEN.search(rest)
        if when:
            rest = " ".join((rest[: when.start()] + rest[when.end():]).split())
        for about, ending in KO_TOLD.items():
            told = re.fullmatch(ending + r"(?:요)?", rest)
            if told:
                value = _bare(told["value"]) if about in ("likes", "studies") else told["value"]
                return Told(who, about, value, when=re.sub(r"에$", "", when.group(0)).strip() if when else "")
        return None

    def _mention(self, word: str, names: set[str], asked: bool) -> Mention | None:
        word = word.strip()
        if word in KO_ME:
            return Mention(pronoun=ME)
        if word in KO_PRONOUNS:
            return Mention(pronoun="any")
        bare = _bare(word)
        if bare in RELATIONS["ko"]:
            return Mention(relation=bare)
        if bare in names:
            return Mention(name=bare)
        if asked or bare in KO_NOBODY or bare in MODIFIERS["ko"] or not re.fullmatch(r"[가-힣]{2,4}", bare):
            return None
        return Mention(name=bare)  # someone new, named: "철수는 부산에 살아"

    def fact(self, told: Told, person: Person) -> str:
        who = self.describe(told.who, person)
        when = f"{told.when}에 " if told.when and told.when not in ("내일", "모레", "곧") else \
            (f"{told.when} " if told.when else "")
        value = told.value
        said = {
            "works": f"{value}에서 일해요",
            "lives": f"{value}에 살아요",
            "moving": f"{when}{value}{ko.direction_particle(value)} 이사 가요",
            "likes": f"{value}{ko.object_particle(value)} 좋아해요",
            "studies": f"{value}{ko.object_particle(value)} 공부해요",
        }[told.about]
        if told.about != "moving" and when:
            said = when + said
        return f"{who}{ko.topic(who)} {said}" if who else said  # about the user: "서울에 살아요"

    def identity(self, person: Person) -> str:
        return f"{person.name}{ko.topic(person.name)} {person.relation}{ko.copula(person.relation)}"

    def describe(self, mention: Mention, person: Person | None) -> str:
        if mention.pronoun == ME or person is USER:
            return ""
        if mention.name or mention.relation:
            return " ".join(w for w in (mention.relation, mention.name) if w)
        return (person.name or person.relation) if person else ""

    def join(self, texts: list[str]) -> str:
        return ". ".join(texts)

    def subject(self, who: str, about: str) -> str:
        return f"{who} {about}"


def _bare(word: str) -> str:
    for particle in KO_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


READERS: dict[str, Reader] = {"en": English(), "ko": Korean()}


# --- what is kept and found ----------------------------------------------------------------------

def understand(d: Dialogue, text: str) -> tuple[str, Said] | None:
    """The intent and answer when `text` tells or asks something about someone the user knows."""
    reader = READERS.get(d.language)
    if reader is None:
        return None
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
    d.memory.facts = [f for f in d.memory.facts if not (f.about == told.about and _is(f, person))]
    subject = reader.subject(who, told.about)
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
    elif asked.about in NAMES and person.name and person.relation:  # "what's his name"
        return "SpeakerRecall", Said("recall", {"fact": reader.identity(person)})
    elif asked.about not in (EVERYTHING, IDENTITY):  # a thing: "her birthday"
        known = [f for f in known if asked.about in _words(f.subject)]
        if not known:
            return "SpeakerRecall", Said("recall_unknown", {"subject": reader.describe(Mention(person.relation, person.name),
                                                                                       person)})
    if asked.about in (EVERYTHING, IDENTITY) and person.name and person.relation:
        known = [f for f in known if not _words(f.subject) & NAMES]  # "your sister's name is Jane": said below
        texts = [reader.identity(person)] + [f.text for f in reversed(known)]
    else:
        texts = [f.text for f in reversed(known)]
    if not texts:
        return "SpeakerRecall", Said("recall_unknown", {"subject": reader.describe(asked.who, person)})
    if asked.about in (EVERYTHING, IDENTITY):
        return "SpeakerRecall", Said("recall_person", {"person": reader.describe(asked.who, person),
                                                       "facts": reader.join(texts)})
    return "SpeakerRecall", Said("recall", {"fact": reader.join(texts)})


SAME = {"mom": {"mother", "mum", "mommy", "mummy"}, "dad": {"father", "daddy"}, "엄마": {"어머니", "어머님"},
        "아빠": {"아버지", "아버님"}, "grandma": {"grandmother", "granny", "nana"}, "grandpa": {"grandfather"}}


def _same_relation(a: str, b: str) -> bool:
    return a == b or any({a, b} <= {key} | others for key, others in SAME.items())


def find(d: Dialogue, mention: Mention) -> Person | None:
    """The known person a mention points at (a pronoun: the latest mentioned who fits it)."""
    if mention.pronoun == ME:
        return USER
    people = list(reversed(d.memory.people))
    if mention.pronoun:
        return next((p for p in people if _fits(p, mention.pronoun)), None)
    if mention.name:
        return next((p for p in people if p.name.lower() == mention.name.lower()), None) or \
            (next((p for p in people if _same_relation(p.relation, mention.relation) and not p.name), None)
             if mention.relation else None)
    return next((p for p in people if _same_relation(p.relation, mention.relation)), None)


def _fits(person: Person, pronoun: str) -> bool:
    if pronoun == "he":
        return person.relation not in SHE
    if pronoun == "she":
        return person.relation not in HE
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


def _is(fact: Fact, person: Person) -> bool:
    who = fact.who.lower()
    if person is USER:
        return who == ME
    return bool(who) and who != ME and (who == person.name.lower() or _same_relation(who, person.relation))


def facts_about(d: Dialogue, person: Person) -> list[Fact]:
    """What the user told about someone: kept as knowledge, or as a sentence naming them ("mom's birthday")."""
    keys = {k.lower() for k in (person.name, person.relation) if k}
    return [f for f in d.memory.facts if _is(f, person) or (not f.who and keys & _words(f.subject))]


def _words(subject: str) -> set[str]:
    return {_bare(re.sub(r"'s?$", "", w.lower())) for w in re.findall(r"[\w']+", subject)}
