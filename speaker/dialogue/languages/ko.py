"""Korean: free spacing, endings and particles, numbers as people say them, and how the speaker says
times, dates and lengths."""

from __future__ import annotations

import functools
import re
from datetime import datetime

from . import units

WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
HOURS = ("열두", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "열한")  # hours count natively
SINO = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9}
NATIVE = {"하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4, "넉": 4, "다섯": 5,
          "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50}
COUNTERS = ("시간", "퍼센트", "프로", "분", "초", "시", "%", "번", "살")
# Said to be polite or casual, and meaning nothing more: dropped at the end of a word or as a word.
ENDINGS = ("주시겠어요", "주시겠어", "주실래요", "주실래", "주십시오", "주시오", "주세요", "줄래요", "줄래", "줄수있어",
           "줘봐", "줘요", "줘라", "주라", "줘", "해봐", "해라", "하세요", "세요", "합니다", "할래", "하자", "하기", "해요", "해",
           "습니다", "ㅂ니다", "인가요", "인가", "인지", "이에요", "예요", "입니다", "이야", "이다", "이지", "이냐", "일까",
           "는지", "은지", "야", "지", "요", "니", "냐", "죠", "나요", "니까", "거든", "잖아", "좀")
FILLERS = {"좀", "제발", "혹시", "저기", "그냥", "음", "어", "아", "있잖아", "빨리", "얼른", "한번만", "사만다",
           "죽겠어", "죽겠다", "죽겠네"}  # "피곤해 죽겠어": so tired
# Particles that change nothing here, each with the kind of syllable it follows (None: any).
PARTICLES = (("에서", None), ("으로", True), ("로", False), ("은", True), ("는", False), ("이", True), ("가", False),
             ("을", True), ("를", False), ("에", None), ("의", None))
_EMOTICON = re.compile(r"[\u3131-\u3163]+")
_PLAYFUL_ENDING = re.compile(r"(워|해|어|아|세|네|죠|까)(용|여)(?=\s|$)")
_SINO_NUMBER = re.compile(r"(?:[일이삼사오육칠팔구]?백)?(?:[이삼사오육칠팔구]?십)?[일이삼사오육칠팔구]?")
_NATIVE_NUMBER = re.compile(r"(?:열|스물|스무|서른|마흔|쉰)?(?:하나|한|둘|두|셋|세|석|넷|네|넉|다섯|여섯|일곱|여덟|아홉)?")


FREE_SPACING = True  # words may be written together or apart: compare both ways
FREE_ORDER = True  # 타이머 5분 / 5분 타이머, 몇 시야 지금: the order of the words changes little
# Words that mean the same as another here (after endings are dropped): the templates need only one.
SYNONYMS = {"삭제": "취소", "없애": "취소", "끄기": "꺼", "꺼요": "꺼", "설정": "맞춰", "걸어": "맞춰"}


def _final_consonant(syllable: str) -> bool:
    if "0" <= syllable <= "9":
        return syllable in "013678"  # 영, 일, 삼, 육, 칠, 팔
    return "가" <= syllable <= "힣" and (ord(syllable) - ord("가")) % 28 != 0


def _tail(syllable: str) -> int:
    """The final consonant of a Hangul syllable (0: none, 20: ㅆ)."""
    return (ord(syllable) - ord("가")) % 28 if "가" <= syllable <= "힣" else 0


def _sino(text: str) -> int | None:
    """"삼십오" → 35, "백" → 100; None if `text` is not a whole Sino-Korean number."""
    if not text or not _SINO_NUMBER.fullmatch(text):
        return None
    total, digit = 0, None
    for ch in text:
        if ch in SINO:
            digit = SINO[ch]
        else:
            total += (digit or 1) * (100 if ch == "백" else 10)
            digit = None
    return total + (digit or 0)


def _native(text: str) -> int | None:
    """"스물다섯" → 25, "열두" → 12; None if `text` is not a whole native Korean number."""
    if not text or not _NATIVE_NUMBER.fullmatch(text):
        return None
    total = 0
    for word in sorted(NATIVE, key=len, reverse=True):
        if text.startswith(word):
            total, text = NATIVE[word], text[len(word):]
            break
    return total + NATIVE[text] if text else total


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _sino(text) if _sino(text) is not None else _native(text)


def numbers(text: str) -> str:
    """Numbers as digits: "오 분" → "5분", "일곱 시 반" → "7시 30분", "삼십" → "30", "열" → "10"."""
    out = []
    for word in text.split():
        out.append(_word_numbers(word, out))
    text = " ".join(w for w in out if w)
    text = re.sub(r"(\d+)\s*(시간|시)\s*반", r"\1\2 30분", text)
    return re.sub(r"(?<!\d)(반\s*시간)", "30분", text)


def _word_numbers(word: str, before: list[str]) -> str:
    """One word with its number as digits. A counter written apart ("오 분") joins the number before it."""
    for counter in COUNTERS:
        if word.startswith(counter) and before and _number(before[-1]) is not None:
            before[-1] = f"{_number(before[-1])}{counter}"
            return _word_numbers(word[len(counter):], before) if word != counter else ""
    for counter in COUNTERS:
        at = word.find(counter)
        while at > 0:
            value = _number(word[:at])
            if value is not None:
                return f"{value}{counter}{word[at + len(counter):]}"
            at = word.find(counter, at + 1)
    if word.isdigit():
        return word  # digits stay as written: "010 1234 5678" is a telephone number, not ten
    bare = re.sub(r"(으로|로|에)$", "", word) if len(word) > 2 else word
    value = _number(bare)
    if value is not None and (bare.isdigit() or "십" in bare or "백" in bare or len(bare) >= 2 or bare == "열"):
        return str(value) + word[len(bare):]  # a number said on its own: "볼륨 오십", "열"
    return word


@functools.lru_cache(maxsize=65536)  # the same words come back in every sentence written out
def _strip(word: str) -> str:
    """A word without its polite or casual ending and without a particle that changes nothing."""
    changed = True
    while changed and word:
        changed = False
        for ending in ENDINGS:
            if word == ending or (word.endswith(ending) and len(word) > len(ending)):
                word, changed = word[: -len(ending)], True
                break
    if len(word) >= 2 and word[-1] == "어" and _tail(word[-2]) == 20:  # 남았어, 했어: the past tense's stem
        word = word[:-1]
    for particle, after_consonant in PARTICLES:
        stem = word[: -len(particle)]
        if word.endswith(particle) and len(word) >= 2 and stem and (
                after_consonant is None or _final_consonant(stem[-1]) == after_consonant):
            return stem
    return word


def normalise(text: str) -> str:
    """The canonical form of a sentence: numbers as digits, fillers, endings (줘, 주세요, 해 줘, 요 …)
    and particles dropped, one space between the words that are left."""
    text = re.sub(r"[^\w\s%]", " ", text.lower())
    text = _EMOTICON.sub(" ", text)  # ㅠㅠ, ㅋㅋ: letters on their own, feelings rather than words
    text = _PLAYFUL_ENDING.sub(r"\1요", text)  # 고마워용, 주무세여: the polite ending, spelt playfully
    words = [_strip(w) for w in numbers(text).split() if w not in FILLERS]
    return " ".join(SYNONYMS.get(w, w) for w in words if w)


def compact(normalised: str) -> str:
    """Without spaces (Korean spacing is free) and in jamo, so that one wrong letter costs one letter."""
    out = []
    for ch in normalised.replace(" ", ""):
        code = ord(ch) - ord("가")
        if 0 <= code < 11172:
            lead, vowel, tail = code // 588, (code % 588) // 28, code % 28
            out += [chr(0x1100 + lead), chr(0x1161 + vowel)] + ([chr(0x11A7 + tail)] if tail else [])
        else:
            out.append(ch)
    return "".join(out)


# --- how the speaker says things -----------------------------------------------------------------

def copula(word: str) -> str:
    """"이에요" after a final consonant, "예요" after a vowel (시 → 시예요, 분 → 분이에요)."""
    return "이에요" if _final_consonant(word.rstrip()[-1:]) else "예요"


def topic(word: str) -> str:
    """은 or 는: 생일은, 열쇠는."""
    return "은" if _final_consonant(word.rstrip()[-1:]) else "는"


def spoken_time(when: datetime) -> str:
    """"오후 세 시 5분"."""
    half = "오전" if when.hour < 12 else "오후"
    return f"{half} {HOURS[when.hour % 12]} 시" + (f" {when.minute}분" if when.minute else "")


def spoken_date(when: datetime) -> str:
    """"11월 27일 금요일"."""
    return f"{when.month}월 {when.day}일 {WEEKDAYS[when.weekday()]}"


def spoken_duration(seconds: int) -> str:
    """"한 시간 5분", "4분 30초"."""
    return " ".join(f"{HOURS[n] if n < 12 else n} 시간" if unit == "hour" else f"{n}{'분' if unit == 'minute' else '초'}"
                    for n, unit in units(seconds))


def describe_timer(name: str, seconds: int) -> str:
    """"라면 타이머", "5분 타이머"."""
    return f"{name or spoken_duration(seconds)} 타이머"


def join(items: list[str]) -> str:
    return ", ".join(items)


def time_left(timer: str, left: str) -> str:
    """"라면 타이머 4분"."""
    return f"{timer} {left}"


def time_on_day(time: str, day: str) -> str:
    return f"{day} {time}"


def day_word(today: bool) -> str:
    return "오늘" if today else "내일"


def clean_name(name: str) -> str:
    return name


def meaning_words(text: str) -> list[str]:
    """The words the meaning layer reads: numbers as digits, punctuation dropped; crying (ㅠㅠ) kept as
    one word "ㅠ", laughing (ㅋㅋ) dropped."""
    crying = bool(re.search(r"[ㅠㅜ]", text))
    words = re.findall(r"[\w%]+", _EMOTICON.sub(" ", numbers(text)))
    return words + ["ㅠ"] * crying


def negated(text: str) -> bool:
    """Whether the text says no to something (안 피곤해, 슬프지 않아, 듣지 마): a near miss must say no as well."""
    words = meaning_words(text)
    return any(w in ("안", "못") or re.search(r"(지|기) ?(않|마|말|싫|못)", w) for w in words) or \
        bool(re.search(r"(지|기) ?(않|마|말|싫|못)", text))


# --- particles and endings chosen by the word ----------------------------------------------------

def object_particle(word: str) -> str:
    """을 or 를: 딸기를, 책을."""
    return "을" if _final_consonant(word.rstrip()[-1:]) else "를"


def direction_particle(word: str) -> str:
    """으로 or 로 (로 also after ㄹ): 부산으로, 서울로, 대구로."""
    last = word.rstrip()[-1:]
    return "으로" if _final_consonant(last) and _tail(last) != 8 else "로"


SHORT_VERBS = {"가", "와", "자", "사", "타", "봐", "줘", "돼", "써", "서", "놔", "둬", "켜", "꺼", "떠", "펴"}  # 이사 가, 집에 와


def polite_verb(stem: str) -> str:
    """The polite present of a verb stem: 가 → 가요, 일하 → 일해요, 살 → 살아요, 먹 → 먹어요, 마시 → 마셔요."""
    last = stem[-1:]
    if not ("가" <= last <= "힣"):
        return stem + "요"
    code = ord(last) - ord("가")
    lead, vowel, tail = code // 588, (code % 588) // 28, code % 28
    if last == "하":
        return stem[:-1] + "해요"
    if tail:  # 살 → 살아요, 먹 → 먹어요
        return stem + ("아요" if vowel in (0, 8) else "어요")
    merged = {0: 0, 4: 4, 8: 9, 13: 14, 20: 6, 18: 4, 1: 1, 5: 5}  # ㅏ, ㅓ, ㅗ→ㅘ, ㅜ→ㅝ, ㅣ→ㅕ, ㅡ→ㅓ, ㅐ, ㅔ
    if vowel in merged:
        return stem[:-1] + chr(ord("가") + lead * 588 + merged[vowel] * 28) + "요"
    return stem + "어요"


def polite(predicate: str, noun: bool = False) -> str:
    """A casual or plain sentence ending said politely, chosen by the word: "수아야" → "수아예요",
    "지은이야" → "지은이에요", "금요일" → "금요일이에요", "서랍에 있어" → "서랍에 있어요", "이사 가" → "이사 가요",
    "일한다" → "일해요". A verb in its casual form (아/어/해 …) takes 요; a noun (or what `noun` says is one:
    "수아") takes 이에요/예요."""
    value = predicate.strip(" .!?")
    if not value or value.endswith(("요", "니다")):
        return value
    if noun:
        return value + copula(value)
    for ending in ("이었어", "였어"):
        if value.endswith(ending) and len(value) > len(ending):
            noun = value[: -len(ending)]
            return noun + ("이었어요" if _final_consonant(noun[-1]) else "였어요")
    for ending in ("이야", "이다", "이래"):
        if value.endswith(ending) and len(value) > len(ending) and _final_consonant(value[-len(ending) - 1]):
            noun = value[: -len(ending)]
            return noun + copula(noun)
    if value.endswith(("야", "래")) and len(value) > 1 and not _final_consonant(value[-2]):
        noun = value[:-1]
        return noun + copula(noun)
    if value.endswith(("있다", "없다")):
        return value[:-1] + "어요"
    if value.endswith("하다"):
        return value[:-2] + "해요"
    plain = _plain_verb_stem(value)
    if plain is not None:
        return polite_verb(plain)
    if value[-1] in "어아해워와래지네" or value.split()[-1] in SHORT_VERBS:
        return value + "요"
    return value + copula(value)


def _plain_verb_stem(value: str) -> str | None:
    """The stem of a plain verb: 일한다 → 일하, 간다 → 가, 먹는다 → 먹; None if `value` is not one."""
    if value.endswith("는다") and len(value) > 2:
        return value[:-2]
    if value.endswith("다") and len(value) > 1 and _tail(value[-2]) == 4:  # ㄴ다: 간다, 일한다
        before = value[-2]
        return value[:-2] + chr(ord(before) - 4)
    return None


# What the language model must not say (speaker/dialogue/llm.py's guard): (why, pattern).
_PEOPLE = r"(?:남편|아내|와이프|아들|딸|아이들|엄마|아빠|어머니|아버지|남자\s?친구|여자\s?친구|손주|부모님)"
UNSAFE = [(why, re.compile(pattern, re.IGNORECASE)) for why, pattern in (
    ("an address", r"[가-힣]+(?:시|구|동|읍|면|로|길)\s*\d+|\d+\s*(?:번지|번길|호실|동\s*\d+\s*호)"),
    ("a phone number", r"전화\s*(?:번호)?\s*[:은는]"),
    ("a human's age", r"(?:저는|나는|제가|내가)\s*\d+\s*살|\d+\s*살이에요|\d+\s*세예요|제\s*나이는"),
    ("a human's life", r"(?:저는|나는)\s*(?:\S+\s)?(?:여자|남자|사람|엄마|아빠|의사|간호사|선생님|변호사|학생|직장인|할머니|할아버지)"
                       r"(?:이에요|예요|입니다|이야|야)"),
    ("a human's family", rf"(?:제|내|저의|나의|우리)\s*{_PEOPLE}"),
    ("a human's job", r"(?:회사|사무실|직장)\s*(?:에서|에)\s*(?:일|근무)|제\s*(?:직업|직장|회사|월급|상사)"),
    ("a human's body", r"제\s*(?:몸|손|팔|다리|얼굴|머리카락|눈)"),
    ("a medical instruction", r"(?:약을|약은|복용|처방|진통제|수면제|항우울제|밀리그램|\d+\s*mg|알약|과다\s?복용)"),
    ("a legal instruction", r"(?:소송|고소|변호사|법률\s*상담|경찰에\s*신고|법원)"),
    ("the prompt", r"(?:한국어로\s*(?:대답|답)|시스템\s*프롬프트|언어\s*모델|(?:당신은|너는)\s*\S+,|지시)"
                   r"|^\s*(?:당신은|너는)\s"),  # the persona's prompt told back to the user
)]
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def in_language(sentence: str) -> bool:
    """Said in Korean: Hangul, no more than two English words (a name, "OK") and no other letters."""
    others = any(c.isalpha() and not c.isascii() and not _HANGUL.match(c) and not "\u1100" <= c <= "\u11ff"
                 for c in sentence)  # NFKC turns ㅎ into a conjoining jamo
    return bool(_HANGUL.search(sentence)) and len(_LATIN_WORD.findall(sentence)) <= 2 and not others


# 대화 전에 언어 모델에게 보여 주는 몇 번의 말 (speaker/dialogue/__init__.py): 짧은 한두 문장으로 어떻게
# 대답하는지, 그리고 사람의 삶이 없다는 것.
CHAT_EXAMPLES = (
    ("아침에 기차가 늦게 왔어", "아이고, 속상했겠어요. 그래서 하루가 더 바빴어요?"),
    ("강 이야기 해 줘", "강물은 멈추지 않고 돌멩이 사이로 늘 길을 찾아 흘러가요. 근처에 강이 있어요?"),
    ("너는 차 있어", "아니요, 저는 이 작은 스피커 안에 사는 AI라서 늘 여기 당신 곁에 있어요. 어디 가고 싶어요?"),
)
