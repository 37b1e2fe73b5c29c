"""English: how people write and say things, and how the speaker says times, dates and lengths."""

from __future__ import annotations

import re
from datetime import datetime

from . import units

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
_PEOPLE = (r"(?:husband|wife|son|daughter|kids|children|mother|father|mom|dad|boyfriend|girlfriend|boss|grandchildren"
           r"|family|parents|brother|sister|grandmother|grandfather|grandma|grandpa|cousin|aunt|uncle|baby)")
_THINGS = r"(?:car|house|apartment|flat|bike|dog|cat|pet|garden|bed|room|hometown|school)"
_JOBS = r"(?:woman|man|girl|boy|lady|mother|father|doctor|nurse|teacher|lawyer|engineer|student|secretary|human|person)"
UNSAFE = [(why, re.compile(pattern, re.IGNORECASE)) for why, pattern in (
    ("an address", r"\b\d+\s+(?:\w+\s+){0,3}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way)\b"),
    ("an address", r"\b(?:p\.?o\.?\s*box|suite \d|apartment \d|apt\.? \d|zip code)"),
    ("a phone number", r"\bphone number\b|\bcall me (?:at|on)\b"),
    ("a human's age", r"\bI(?:'m| am)\s+(?:a\s+)?\d+[- ]?(?:years?|yrs?)(?:[- ]old)?\b|\bmy age\b|\bI was born\b"
                      r"|\bI(?:'m| am) (?:only |just |about |almost )?(?:\d+|twenty|thirty|forty|fifty|sixty|seventy|eighty)\b"),
    ("a human's life", rf"\bI(?:'m| am) (?:a |an )?(?:\d+[- ]year[- ]old )?(?:\w+ )?{_JOBS}\b"),
    ("a human's family", rf"\bmy (?:own )?{_PEOPLE}\b|\bI have (?:a |two |three )?{_PEOPLE}"),
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
)]
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def in_language(sentence: str) -> bool:
    """Said in English: only letters of Latin-1 (café, not bằng, alakalı or Korean letters)."""
    return not any(c.isalpha() and ord(c) > 0xFF for c in sentence)


# A few turns the language model is shown before the conversation (speaker/dialogue/__init__.py):
# how the companion answers, in one or two short spoken sentences, and that she has no life of a human.
CHAT_EXAMPLES = (
    ("my train was late this morning", "Oh, that's annoying. Did it make the rest of your day harder?"),
    ("tell me about the river", "A river never stops moving, and it always finds a way around the stones. "
                                "Is there one near you?"),
    ("do you have a car", "No, I'm an AI who lives in this little speaker, so I stay right here with you. "
                          "Where would you like to go?"),
)
