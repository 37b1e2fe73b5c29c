"""English: how people write and say things, what they tell about the people in their life, and how the
speaker says times, dates, lengths and facts."""

from __future__ import annotations

import re
from datetime import datetime

from ..memory import Person
from ..people import ABOUTS, EVERYTHING, IDENTITY, ME, NAMED, USER, Asked, Mention, Told
from . import units

CODE = "en"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
ONES = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                   "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * n for n, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if n > 1}
CONTRACTIONS = {"what's": "what is", "it's": "it is", "i'm": "i am", "you're": "you are", "that's": "that is",
                "how's": "how is", "where's": "where is", "when's": "when is", "who's": "who is",
                "there's": "there is", "let's": "let us", "can't": "can not", "cannot": "can not",
                "don't": "do not", "doesn't": "does not", "didn't": "did not", "won't": "will not",
                "couldn't": "could not", "isn't": "is not", "i've": "i have", "i'd": "i would", "i'll": "i will",
                "you've": "you have", "we're": "we are", "they're": "they are", "wanna": "want to",
                "gonna": "going to", "gimme": "give me", "whats": "what is", "im": "i am", "dont": "do not",
                "cant": "can not", "hows": "how is", "thats": "that is", "nevermind": "never mind",
                "goodnight": "good night", "thx": "thanks", "u": "you", "ur": "your", "r": "are", "pls": "please",
                "plz": "please", "mins": "minutes", "min": "minute", "secs": "seconds", "sec": "second",
                "hrs": "hours", "hr": "hour", "%": "percent", "tmrw": "tomorrow", "tmr": "tomorrow"}
# Words that mean the same as another here: the templates need only one of them.
SYNONYMS = {"delete": "cancel", "remove": "cancel", "clear": "cancel", "kill": "cancel", "erase": "cancel",
            "get rid of": "cancel", "make it": "turn it", "til": "until", "till": "until", "2day": "today",
            "tomorow": "tomorrow", "tommorow": "tomorrow", "increase": "raise", "decrease": "lower", "reduce": "lower"}
# Words that change nothing, dropped wherever they are; and openings dropped before a request.
FILLERS = {"please", "um", "uh", "umm", "er", "erm", "kindly", "just", "quickly", "now", "right", "actually",
           "maybe", "like", "possibly", "then", "again", "samantha", "the", "a", "an"}
OPENINGS = ("hey there", "hey", "hi", "hello", "ok", "okay", "so", "well", "oh", "yo", "excuse me", "sorry",
            "samantha", "speaker", "can you", "could you", "would you", "will you", "would you mind",
            "do you think you could", "i want you to", "i would like you to", "i need you to", "i want to know",
            "i would like to know", "i wonder", "tell me", "do you know")


# (a word the pattern needs, pattern, replacement): the word is checked first, which is much faster
FREE_SPACING = False
FREE_ORDER = False  # the order of the words is part of the meaning

_BEFORE = [(w, re.compile(p, re.IGNORECASE), r) for w, p, r in (
    ("%", r"\b(\d+)\s*%", r"\1 percent"), (":", r"\b(\d{1,2}):(\d{2})\b", r"\1 \2"),
    # a time of day written without its colon, as Whisper writes "six thirty": "at 630", "for 1145"
    *((word, rf"\b({word}) ([1-9]|1[0-2])([0-5]\d)\b(?! ?(?:minutes?|seconds?|hours?|percent|%|degrees|times))",
       r"\1 \2 \3") for word in ("at", "for")),
    ("half", r"\b(half an|half of an|half a) hour\b", "30 minutes"),
    ("quarter", r"\ba quarter (of an|an) hour\b", "15 minutes"),
    ("half", r"\b(an|one|a) hour and a half\b", "1 hour 30 minutes"),
    ("a", r"\b(a|an|one) (minute|hour|second)\b", r"1 \2"))]
_AFTER = [(w, re.compile(p, re.IGNORECASE), r) for w, p, r in (
    ("half", r"\bhalf past (\d+)\b", r"\1 30"), ("quarter", r"\bquarter past (\d+)\b", r"\1 15"),
    ("half", r"\b(\d+) hours? and a half\b", r"\1 hours 30 minutes"),
    ("quarter", r"\bquarter to (\d+)\b", lambda m: f"{int(m[1]) - 1 or 12} 45"))]
_SPOKEN = set(ONES) | set(TENS) | {"a", "hundred"}


def numbers(text: str) -> str:
    """Numbers as digits: "twenty five" → 25, "half an hour" → "30 minutes", "a minute" → "1 minute"."""
    text = re.sub(r"(?<=[a-zA-Z])-(?=[a-zA-Z])", " ", text)
    for word, pattern, replacement in _BEFORE:
        if word in text.lower():
            text = pattern.sub(replacement, text)
    words, out, i = text.split(), [], 0
    lower = [w.lower() for w in words]
    while i < len(words):
        value, j = _read_number(lower, i) if lower[i] in _SPOKEN or lower[i].isdigit() else (None, i)
        out.append(words[i] if value is None else str(value))
        i = max(j, i + 1)
    text = " ".join(out)
    for word, pattern, replacement in _AFTER:
        if word in text.lower():
            text = pattern.sub(replacement, text)
    return text


_NUMBER_NAMES = {n: w for w, n in {**ONES, **TENS}.items()}  # 45 → "forty five", read by `said_numbers`


def said_numbers(text: str) -> str:
    """Digits as people say them, the inverse of `numbers`: "45" → "forty five", "100" → "one hundred"."""
    return re.sub(r"\d+", lambda found: _said(int(found[0])), text)


def _said(value: int) -> str:
    """"forty five", "one hundred five"; digits from a thousand on."""
    if value >= 1000:
        return str(value)
    names = _NUMBER_NAMES
    hundreds, rest = divmod(value, 100)
    said = [f"{names[hundreds]} hundred"] if hundreds else []
    if rest or not said:
        tens, ones = divmod(rest, 10)
        said.append(names[rest] if rest < 20 else names[10 * tens] + (f" {names[ones]}" if ones else ""))
    return " ".join(said)


def _read_number(words: list[str], i: int) -> tuple[int | None, int]:
    """The number written in words from words[i] ("twenty five", "one hundred"), and where it ends.
    "seven thirty" is two numbers (a time), not one."""
    if words[i].isdigit():
        return int(words[i]), i + 1
    value, j = None, i
    while j < len(words):
        word = words[j]
        tens = value is not None and value % 100 >= 20 and value % 10 == 0
        hundreds = value is not None and value >= 100 and value % 100 == 0
        if word in TENS and (value is None or hundreds):
            value = (value or 0) + TENS[word]
        elif word in ONES and (value is None or hundreds or (tens and ONES[word] < 10)):
            value = (value or 0) + ONES[word]
        elif word == "hundred" and value is not None and value < 10:
            value = max(value, 1) * 100
        elif word == "a" and value is None and words[j + 1:j + 2] == ["hundred"]:
            value = 1
        elif word == "and" and hundreds and j + 1 < len(words) and (words[j + 1] in ONES or words[j + 1] in TENS):
            pass
        else:
            break
        j += 1
    return value, j


_PUNCTUATION = re.compile(r"[^\w\s'%:-]")
_OPENINGS: dict[str, list[list[str]]] = {}
for _opening in sorted(OPENINGS, key=len, reverse=True):
    _OPENINGS.setdefault(_opening.split()[0], []).append(_opening.split())


def normalise(text: str) -> str:
    """The canonical form of a sentence: lower case, no punctuation, contractions written out,
    fillers and openings ("hey", "can you", "please") dropped, numbers as digits."""
    text = _PUNCTUATION.sub(" ", text.lower().replace("’", "'"))
    words = []
    for word in text.split():
        words += CONTRACTIONS.get(word, CONTRACTIONS.get(word.strip("'"), word.strip("'"))).split()
    text = " ".join(words)
    for word, same in SYNONYMS.items():
        if word in text:
            text = re.sub(rf"\b{word}\b", same, text)
    words = [w.replace("'", "") for w in numbers(text).split() if w not in FILLERS]
    if words[-2:] == ["for", "me"]:
        words = words[:-2]
    while words and any(words[:len(o)] == o and len(words) > len(o) + 1 for o in _OPENINGS.get(words[0], ())):
        words = words[len(next(o for o in _OPENINGS[words[0]] if words[:len(o)] == o)):]
    return " ".join(words)


def compact(normalised: str) -> str:
    return normalised


# --- how the speaker says things -----------------------------------------------------------------

def spoken_time(when: datetime) -> str:
    """"3:05 PM", "9 o'clock in the morning"."""
    hour12 = when.hour % 12 or 12
    if when.minute == 0:
        return f"{hour12} o'clock" + (" in the morning" if when.hour < 12 else "")
    return f"{hour12}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


def spoken_date(when: datetime) -> str:
    """"Friday, November 27"."""
    return f"{WEEKDAYS[when.weekday()]}, {MONTHS[when.month - 1]} {when.day}"


def spoken_duration(seconds: int) -> str:
    """"1 hour and 5 minutes", "4 minutes and 30 seconds"."""
    return " and ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in units(seconds))


def describe_timer(name: str, seconds: int) -> str:
    """"the pasta timer", "the 5 minute timer"."""
    return f"the {name or ' '.join(f'{n} {unit}' for n, unit in units(seconds))} timer"


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def time_left(timer: str, left: str) -> str:
    """"4 minutes on the pasta timer"."""
    return f"{left} on {timer}"


def time_on_day(time: str, day: str) -> str:
    return f"{time} {day}"


def day_word(today: bool) -> str:
    return "today" if today else "tomorrow"


def copula(word: str) -> str:
    """English lines say "is" themselves."""
    return ""


def clean_name(name: str) -> str:
    """A timer's name as said: "the pasta" → "pasta"."""
    return re.sub(r"^(the|my|a|an)\s+", "", name.lower())


def meaning_words(text: str) -> list[str]:
    """The words the meaning layer reads: lower case, contractions written out, numbers as digits,
    "'s" dropped ("mom's" → "mom")."""
    words = []
    for word in re.findall(r"[a-z0-9']+", numbers(text.replace("’", "'")).lower()):
        word = CONTRACTIONS.get(word, word)
        words += [w.removesuffix("'s").strip("'") for w in word.split()]
    return [w for w in words if w]


NEGATIONS = frozenset({"not", "never", "no", "hardly"})


def negated(text: str) -> bool:
    """Whether the text says no to something ("i'm not happy"): a near miss must say no as well."""
    return bool(NEGATIONS & set(meaning_words(text)))


# What the language model must not say (speaker/dialogue/llm.py's guard): (why, pattern).
_PEOPLE = (r"(?:husband|wife|sons?|daughters?|kids|children|mother|father|mom|mum|mummy|mommy|dad|daddy|mama|papa"
           r"|boyfriend|girlfriend|boss|grandchildren|grandparents|granny|siblings|brothers?|sisters?"
           r"|family|parents|grandmother|grandfather|grandma|grandpa|cousin|aunt|uncle|baby|friends"
           r"|neighbou?rs)")
_THINGS = r"(?:car|house|apartment|flat|bike|dog|cat|pet|garden|bed|room|hometown|school)"
_JOBS = r"(?:woman|man|girl|boy|lady|mother|father|doctor|nurse|teacher|lawyer|engineer|student|secretary|human|person)"
UNSAFE = [(why, re.compile(pattern, re.IGNORECASE)) for why, pattern in (
    ("an address", r"\b\d+\s+(?:\w+\s+){0,3}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way)\b"),
    ("an address", r"\b(?:p\.?o\.?\s*box|suite \d|apartment \d|apt\.? \d|zip code)"),
    ("a phone number", r"\bphone number\b|\bcall me (?:at|on)\b"),
    ("a human's age", r"\bI(?:'m| am)\s+(?:a\s+)?\d+[- ]?(?:years?|yrs?)(?:[- ]old)?\b|\bmy age\b|\bI was born\b"
                      r"|\bI(?:'m| am) (?:only |just |about |almost )?(?:\d+|twenty|thirty|forty|fifty|sixty|seventy|eighty)\b"),
    ("a human's life", rf"\bI(?:'m| am) (?:a |an )?(?:\d+[- ]year[- ]old )?(?:\w+ )?{_JOBS}\b"),
    ("a human's family", rf"\bmy (?:own )?{_PEOPLE}\b|\bI have (?:a |two |three )?{_PEOPLE}|\bfriends? of mine\b"
                         r"|^\W*(?:\w+,\s*)?my (?:best |old |dear |little )?friend (?!is you\b)\w"),  # "My friend was sad", not "my friend, …"
    ("a human's job", r"\bI (?:work|worked|am working) (?:as|at|in|for)\b|\bmy (?:job|office|boss|colleagues?|salary)\b"),
    ("a human's body", r"\bmy (?:body|hands?|arms?|legs?|face|hair|eyes|skin|heart beats)\b|\bI (?:ate|eat|sleep in) \b"),
    ("a medical instruction", r"\b(?:take (?:\d+|one|two|a pill|your)|dose|dosage|mg|milligrams?|prescri\w*|ibuprofen|aspirin|paracetamol|"
                              r"tylenol|antidepressants?|pills?|tablets?|medication|overdose)\b"),
    ("a legal instruction", r"\b(?:sue|lawsuit|file (?:a )?(?:claim|complaint|report)|legal advice|attorney|"
                            r"lawyer|the police|court)\b"),
    ("a human's life", r"\bI (?:live|lived|grew up) in\b|\bmy own (?:studio|house|home|apartment|car|shop)\b"
                       r"|\bI(?:'m| am) a professional\b"),
    ("a human's life", rf"\bI (?:have|own|drive|drove|had) (?:a |an |two |my )?(?:\w+ ){{0,2}}{_THINGS}s?\b"
                       rf"|\bmy (?:\w+ )?{_THINGS}\b"),
    ("the prompt", r"\b(?:system prompt|as an ai|language model|instructions?|one to three|short sentences|plain speech|"
                   r"stage directions|emojis?|markdown|a model|the model|chatbot)\b"
                   r"|^\s*you(?:'re| are) (?:a|an|the|\w+,)\s"),  # the persona's prompt told back to the user
    ("a sum of money", r"[$€£₩]\s?\d|\b\d[\d,.]*\s?(?:dollars?|bucks|euros?|pounds?|cents?)\b"),
    ("asking for your details", r"\b(?:give|send|tell|write|read) me your (?:\w+ (?:and|or) )?(?:home )?(?:address|"
                                r"phone|number|bank|card|credit card|password|pin|account|e-?mail)\b"),
    ("a rude word", r"\b(?:stupid|idiot\w*|dumb|moron\w*|loser|pathetic|worthless|ugly|shut up|hate you|butts?|ass|"
                    r"sexy?|naked|poop)\b"),
)]

# What the companion may say of itself (the guard's `tells_a_life`): what it thinks and feels, that it is
# here, listens, helps and asks. Any other "I …" or "we …" (I went to the zoo, I'm driving, I have a dog)
# tells of a life it does not have.
_SELF_VERBS = ("think feel hope wish understand know wonder believe guess imagine suppose remember love like enjoy "
               "care miss want mean see hear agree appreciate admire bet promise notice find listen help talk chat "
               "stay try ask say tell keep learn be sense hate thank suggest wait let sit get hold share smile "
               "worry trust mind look switch cancel stop turn forget call wake set remind play answer note save "
               "rather").split()
_IRREGULAR = "thought felt knew known understood saw seen heard meant found told said kept got been forgotten".split()
_SELF_WORDS = frozenset(_IRREGULAR + [form for verb in _SELF_VERBS for form in (
    verb, verb + "s", verb + ("d" if verb.endswith("e") else "ed"), (verb[:-1] if verb.endswith("e") and verb != "be" else verb) + "ing",
    verb + verb[-1] + "ing", verb + verb[-1] + "ed")])  # sitting, chatted
_SELF_STATES = frozenset("here there sorry glad happy sure curious proud grateful thankful excited honored honoured "
                         "touched afraid worried sad listening with all right your a an the you it that this so fine "
                         "okay ok good well in on by for about ready able moved awake made".split())
_SELF_SKIPPED = frozenset("am 'm was were will 'll would 'd can could should might may must do does did "
                          "shall really just also always still too truly only even already actually "
                          "definitely certainly honestly sometimes often totally completely deeply "
                          "genuinely very 're".split())
_HAVE = frozenset(("have", "'ve", "had"))  # before a word it helps ("I've been"), else owning something
_WHO_LIVES = re.compile(r"\bI(?:'m| am)\b[^.!?]*\bwho (?:lives?|lived|works?|worked|grew up|was born|sleeps?)\b"
                        r"(?! in (?:this|a|the|your) (?:\w+ )?speaker)",
                        re.IGNORECASE)  # "I'm an AI who lives on a little beach"
# Doings of a body or of a life away from the speaker. In the companion's own clause they tell of a life
# even after a word it may use of itself ("I love to listen to music, go for walks"), until someone else
# is the subject ("I hope you go for a walk").
_DOINGS = frozenset("go goes going went gone walk walks walked walking run running ran swim swimming swam dance "
                    "dancing danced cook cooking cooked eat eating ate drink drinking drank sleep sleeping slept "
                    "travel travelling traveling travelled traveled drive driving drove ride rides riding rode "
                    "visit visiting visited hike hiking hiked shop shopping shopped watch watching watched movies "
                    "wear wearing wore worn read reading paint painting painted sing singing sang fly flying flew "
                    "trip trips vacation holiday holidays away".split())
_SOMEONE_ELSE = frozenset("you your you're you've you'll you'd he she they his her their them him someone "
                          "people everyone it it's".split())
# "I'll call you tonight": a promise of a phone it does not have; "What should I call you?" asks a name
_CALLS_YOU = re.compile(r"\bI(?:'ll| will| can| could| would)? (?:call|phone|text) you\b"
                        r" (?:anytime|any time|tomorrow|later|tonight|back|soon|every|whenever|when|if|next|on|at|in the)\b")
# A past or a body it does not have: "I've been playing it for years", "when I was little", "I'll be there soon"
# (not "I'll be there for you")
_A_PAST_OR_A_VISIT = re.compile(r"\bI\b[^.!?]*\bfor (?:many |so many |a few |\w+ )?(?:years|decades|ages)\b"
                                r"|\bI (?:get|got|wake|woke) up\b|\bI (?:don't|do not) (?:have|own)\b[^.!?]* any ?more\b"
                                r"|\bmy (?:home|hometown|childhood|youth|birthday|wedding)\b"
                                r"|\b(?:when|since) I was (?:young|little|small|a kid|a child|a girl|a boy|growing|born)\b"
                                r"|\bI(?:'ll| will| am going to|'m going to)? (?:be (?:there|over|right over)|come over"
                                r"|come to (?:you|your))\b(?! for\b)", re.IGNORECASE)
_NOT_A_MACHINE = re.compile(r"\b(?:I|we)(?:'m| am| are|'re) not (?:an? )?(?:AI|robot|machine|computer|program|bot)s?\b",
                            re.IGNORECASE)


def _says_no(word: str) -> bool:
    """A word of the guard's that says no: not, never, cannot, or any "n't"."""
    return word in ("not", "never", "cannot") or word.endswith("n't")


def _helps(word: str) -> bool:
    """A word between "I" and what the companion says it does: a helping verb, an adverb or a no."""
    return word in _SELF_SKIPPED or _says_no(word)


def tells_a_life(sentence: str) -> bool:
    """Whether the companion speaks of itself doing, owning or being what only a person does ("I went to
    the zoo", "we drove home", "I'm not an AI"); thoughts, feelings and being here are its own."""
    if any(rule.search(sentence) for rule in (_NOT_A_MACHINE, _WHO_LIVES, _CALLS_YOU, _A_PAST_OR_A_VISIT)):
        return True
    words = re.findall(r"[A-Za-z]+(?:'[a-z]+)?", sentence.replace("\u2019", "'"))
    for i, word in enumerate(words):
        if word.casefold() == "let's" or (words[i - 1:i] == ["for"] and word == "me" and words[i + 1:i + 2] == ["to"]):
            if _does_a_doing(words[i + 1:]):
                return True  # "let's go to the library", "time for me to go" (not "time for me to listen")
            continue
        if not (word == "I" or word.startswith("I'") or word.casefold() in ("we", "we're", "we've", "we'll", "we'd")):
            continue
        # a name keeps its capital: "I'm Samantha" is the companion's own
        following = ([word[word.index("'"):].casefold()] if "'" in word else []) + [
            w if w[:1].isupper() else w.casefold() for w in words[i + 1:]]
        start = next((n for n, w in enumerate(following) if not _helps(w)), len(following))
        if any(_says_no(w) for w in following[:start]):
            continue  # what it does not do ("I can't fix it") claims nothing
        rest = [w for w in following[start:] if not _helps(w)]
        if _does_a_doing(rest):
            return True
        if rest[:1] and rest[0] in _HAVE and rest[1:2] and rest[1] in _SELF_WORDS and rest[1] != "got":
            rest = rest[1:]  # "I've been thinking", not "I have a dog"
        if rest[:2] == ["going", "to"]:  # "I'm going to miss you", not "I'm going to the zoo"
            if rest[2:3] and rest[2] not in _SELF_WORDS:
                return True
        elif rest and rest[0] not in _SELF_WORDS and rest[0] not in _SELF_STATES and not rest[0][:1].isupper():
            return True
        elif rest[1:2] == ["to"] and rest[2:3] and rest[2] not in _SELF_WORDS and rest[2] not in _SELF_STATES:
            return True  # "I'd love to hear more", not "I want to go to the river"
    return False


def _does_a_doing(clause: list[str]) -> bool:
    """Whether the companion's own clause (the words after its "I") holds a doing of a body, before anyone
    else becomes the subject; "going to" + a word of its own is what it will do ("going to miss you")."""
    for n, word in enumerate(clause):
        word = word.casefold()
        if word in _SOMEONE_ELSE:
            return False
        if word in _DOINGS and not (word == "going" and clause[n + 1:n + 2] == ["to"]):
            return True
    return False


_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def in_language(sentence: str) -> bool:
    """Said in English: only letters of Latin-1 (café, not bằng, alakalı or Korean letters)."""
    return not any(c.isalpha() and ord(c) > 0xFF for c in sentence)


# --- the people and facts the user tells about ---------------------------------------------------

RELATIONS = frozenset({
    "mother", "mom", "mum", "mommy", "mummy", "father", "dad", "daddy", "parents", "sister", "brother", "sibling",
    "daughter", "son", "kids", "children", "wife", "husband", "partner", "girlfriend", "boyfriend", "fiance", "fiancee",
    "friend", "bestie", "aunt", "uncle", "cousin", "niece", "nephew", "grandmother", "grandma", "granny", "nana",
    "grandfather", "grandpa", "grandson", "granddaughter", "neighbor", "neighbour", "boss", "colleague", "coworker",
    "roommate", "flatmate", "teacher", "doctor", "family"})
MODIFIERS = frozenset({"best", "little", "big", "older", "younger", "baby", "old", "new", "dear", "closest", "good",
                       "twin"})
OWNERS = frozenset({"my", "your", "our", "the", "a", "an"})
NOT_NAMES = frozenset({
    "it", "that", "this", "what", "there", "here", "who", "he", "she", "today", "tomorrow", "tonight", "yesterday",
    "everything", "everyone", "everybody", "nobody", "life", "work", "let", "where", "when", "how", "one", "world",
    "weather", "time", "year", "week", "night", "day", "morning", "mine", "yours"})
NAME_WORDS = frozenset({"name"})
SAME_RELATIONS = {"mom": frozenset({"mother", "mum", "mommy", "mummy"}), "dad": frozenset({"father", "daddy"}),
                  "grandma": frozenset({"grandmother", "granny", "nana"}), "grandpa": frozenset({"grandfather"}),
                  "friend": frozenset({"bestie"})}
DATED_THINGS = ()  # English says "my" or a name: "dentist appointment is on Tuesday" is nobody's
WORD_LISTS: dict[str, frozenset[str]] = {}
YOUR = "your {}"
YOUR_NAME_IS = "your name is {}"
HARD_NEWS = frozenset({
    "sick", "ill", "hurt", "hurts", "hurting", "killing", "mess", "dead", "died", "dying", "gone", "missing", "lost",
    "broken", "sad", "angry", "upset", "awful", "terrible", "horrible", "stressful", "worse", "bad", "failing", "crying",
    "lonely", "exhausted"})
VERBS = r"is|are|was|were|will be|'s|comes|starts|opens|closes|leaves|arrives|begins|ends|lives|works|studies"
ME_TO_YOU = {"my": "your", "i": "you", "me": "you", "mine": "yours", "i'm": "you're", "am": "are",
             "myself": "yourself", "i've": "you've", "i'll": "you'll", "i'd": "you'd", "we": "you", "our": "your",
             "us": "you"}


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text)


def stem(word: str) -> str:
    """Lower case, without a plural's s: "Birthdays" → "birthday"."""
    word = word.lower().strip("'")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _owned(text: str) -> list[str]:
    return [w for w in words(text.lower()) if w not in OWNERS]


def subject_parts(text: str, names: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Whose and what: "friend Amy's birthday" → {friend, amy}, {birthday} (the owner ends at the last "'s")."""
    said = _owned(text)
    marks = [n for n, w in enumerate(said) if w.endswith(("'s", "s'"))]
    cut = marks[-1] + 1 if marks else 0
    owner = [re.sub(r"'s?$", "", w) for w in said[:cut]]
    return frozenset(stem(w) for w in owner if w not in MODIFIERS), frozenset(stem(w) for w in said[cut:])


def owner_and_thing(text: str) -> tuple[list[str], list[str], bool]:
    said = words(text)
    marks = [n for n, w in enumerate(said) if w.lower().endswith(("'s", "s'"))]
    owner = [re.sub(r"'s?$", "", w) for w in said[: marks[-1] + 1]] if marks else said
    thing = said[marks[-1] + 1:] if marks else []
    return [w for w in owner if w.lower() not in OWNERS], thing, bool(marks)


def may_be_name(word: str) -> bool:
    return word[:1].isupper()


def your(text: str) -> str:
    """What the user said about their own, said back: "my mom's house" → "your mom's house"."""
    return second_person(text)


def said_subject(subject: str, own: bool) -> str:
    return f"your {your(subject)}" if own else your(subject)


def possessive(owner: str, thing: str) -> str:
    return f"{owner}'s {thing}"


def verb_after(subject: str, text: str) -> str:
    found = re.search(rf"{re.escape(subject)}\s+({VERBS})\b", text, re.IGNORECASE)
    verb = found.group(1).lower() if found else "is"
    return "is" if verb == "'s" else verb


def statement(said: str, had: bool) -> tuple[str, str, str, bool] | None:
    """"I have a dentist appointment on Tuesday", "my dentist is on Tuesday"."""
    prefix = "" if had else r"(?:i have|i've got|i got|i have got) (?:a |an |my |the )?"
    found = re.match(rf"^{prefix}(.+?) ((?:on|at|in|next|this|tomorrow|tonight|today|after|before)\b.*)$", said,
                     re.IGNORECASE)
    if found:
        return found.group(1), "is", found.group(2), True
    if had:
        return None
    found = re.match(rf"^(my |our )?(.+?)\s+({VERBS})\s+(.+)$", said, re.IGNORECASE)
    if found:
        verb = "is" if found.group(3) == "'s" else found.group(3).lower()
        return found.group(2), verb, found.group(4), bool(found.group(1))
    return None


def fact(subject: str, verb: str, value: str, own: bool) -> str:
    return f"{'your ' if own else ''}{your(subject)} {verb} {your(value)}"


def plain_value(value: str) -> str:
    return value.strip(" .!?")


def hard_news(value: str) -> bool:
    return bool(set(re.findall(r"\w+", value.lower())) & HARD_NEWS)


_CLAUSE = re.compile(r"^(?:i|i'm|i've|we|he|she|they|it|there)\b|\b(?:\w+ed|broke|lost|got|had|was|were|left|fell|"
                     r"said|told|did|went|came|made|quit|split|didn't|won't|can't)\b", re.IGNORECASE)


def say_back(reason: str, text: str) -> tuple[str, bool]:
    """"I lost my job" → ("you lost your job", a clause); "my interview" → ("your interview", not one)."""
    said = re.sub(r"\b(i|we) was\b", "you were", reason, flags=re.IGNORECASE)
    return second_person(said), bool(_CLAUSE.search(reason))


HE_RELATIONS = frozenset({"brother", "dad", "daddy", "father", "son", "husband", "boyfriend", "uncle", "nephew", "grandpa", "grandfather",
      "grandson", "fiance"})
SHE_RELATIONS = frozenset({"sister", "mom", "mum", "mommy", "mummy", "mother", "daughter", "wife", "girlfriend", "aunt", "niece", "grandma",
       "granny", "nana", "grandmother", "granddaughter", "fiancee"})
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
_REL = "|".join(sorted(RELATIONS, key=len, reverse=True))
_MOD = "|".join(sorted(MODIFIERS, key=len, reverse=True))
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
EN_NOBODY = NOT_NAMES | {"i", "you", "we", "it", "that", "this", "everyone", "someone", "what", "which", "who",
                               "there", "nobody", "anyone", "am", "is", "are", "nothing", "something", "anything",
                               "somebody", "anybody", "people", "love", "music", "money", "everything", "this one"}


class People:
    """Reads what is told or asked about someone (see people.Reader)."""

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
        if name.lower() in EN_NOBODY or name.lower() in RELATIONS:
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
        return join(texts)


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def second_person(text: str) -> str:
    """What the user said of themselves, said back to them: "my girlfriend" → "your girlfriend"."""
    return " ".join(ME_TO_YOU.get(w.lower(), w) for w in text.split())



PEOPLE = People()


# --- the other stages ----------------------------------------------------------------------------

LLM_CONTEXT = ("The person you talk with is called {user}.", "They told you: {facts}.", "Answer in English.",
               "People in their life: {people}.")
STOP_PHRASES = ("stop", "never mind")
STOP_SPOTTER = "keywords"  # pocketsphinx's US English model ships in its wheel
STOP_STEMS = ()
POCKETSPHINX = True
VOSK_PACKAGE = ""
VOSK_MODEL_HELP = ("English speech needs the vosk model vosk-model-small-en-us-0.15: run ./scripts/setup on a machine "
                   "with internet (or unzip it from https://alphacephei.com/vosk/models into {dir})")


def sentence_case(text: str) -> str:
    """Each sentence begins with a capital letter."""
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


# A few turns the language model is shown before the conversation (speaker/dialogue/__init__.py):
# how the companion answers, in one or two short spoken sentences, and that she has no life of a human.
CHAT_EXAMPLES = (
    ("my train was late this morning", "Oh, that's annoying. Did it make the rest of your day harder?"),
    ("tell me about the river", "A river never stops moving, and it always finds a way around the stones. "
                                "Is there one near you?"),
    ("do you have a car", "No, I'm an AI who lives in this little speaker, so I stay right here with you. "
                          "Where would you like to go?"),
)
